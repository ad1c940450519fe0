"""The annotation platform's shell and kernel. Importing this package loads no Flask: the app factory is
`annotator.app.create_app`, so the domains (`tasks`, `incentives`) can use the kernel (`annotator.db`,
`annotator.errors`, `annotator.users.models`) without pulling in the web framework."""
