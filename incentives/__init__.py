"""The money domain: ledger, reward rules, payouts. May import tasks, never the reverse."""
