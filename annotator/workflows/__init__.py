"""Use cases: each is one function taking the session, the acting user, the request's ids and values and one
`now`, calling the domains in order (tasks first, then the money that follows the work) and enqueueing slow
work after the commit. They flush and never commit: the adapter (an API view, a CLI command) audits and commits.
No Flask here: what a use case needs from the configuration is passed in."""
