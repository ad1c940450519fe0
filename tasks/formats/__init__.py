"""One module per import/export format."""
