"""Jobs: enqueued only after commit, and run by a real worker process against real Redis."""
from __future__ import annotations

import os
import subprocess
import sys

from rq import Queue
from rq.job import Job

from annotator import queue
from annotator.users.models import User
from annotator.web import runtime


def test_enqueue_after_commit_waits_for_the_commit(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        session.add(User(email="a@b.org", display_name="A", password_hash="x"))
        queue.enqueue_after_commit(session, q, "annotator.jobs.probe", args=("m1",), job_id="probe-m1")
        assert q.count == 0
        session.commit()
        assert q.job_ids == ["probe-m1"]


def test_enqueue_after_commit_forgets_jobs_on_rollback(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        queue.enqueue_after_commit(session, q, "annotator.jobs.probe", args=("gone",))
        session.rollback()
        session.commit()
        assert q.count == 0


def test_a_nested_rollback_keeps_the_outer_transactions_jobs(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        queue.enqueue_after_commit(session, q, "annotator.jobs.probe", args=("kept",))
        nested = session.begin_nested()
        nested.rollback()
        session.commit()
        assert q.count == 1


def test_unknown_queue_names_are_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown queue"):
        queue.get_queue(None, "nope")


def test_a_real_worker_in_burst_mode_runs_the_job_against_the_database(app):
    connection = runtime(app).redis
    job = Queue("default", connection=connection).enqueue("annotator.jobs.probe", "from-test")
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
           "ANNOTATOR_SECRET_KEY": "worker-test-key", "ANNOTATOR_INSTANCE_PATH": app.instance_path}
    done = subprocess.run([sys.executable, "-m", "annotator.cli", "worker", "--burst", "--queue", "default"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    finished = Job.fetch(job.id, connection=connection)
    assert finished.get_status() == "finished", done.stderr[-2000:]
    assert finished.return_value() == {"marker": "from-test", "database": "ok"}
