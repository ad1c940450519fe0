"""The annotation-task domain: projects, tasks, assignment, quality. No Flask, marshmallow, Flask-Login or RQ."""
