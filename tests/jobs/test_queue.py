"""Jobs: enqueued only after commit, and run by a real worker process against real Redis."""
from __future__ import annotations

import os
import subprocess
import sys

from rq import Queue
from rq.job import Job

from annotator import queue
from annotator.users.models import User
from annotator.runtime import runtime
from tests.factories import create_text_project


def test_enqueue_after_commit_waits_for_the_commit(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        session.add(User(email="a@b.org", display_name="A", password_hash="x"))
        queue.enqueue_after_commit(session, "default", "annotator.jobs.probe", args=("m1",), job_id="probe-m1")
        assert q.count == 0
        session.commit()
        assert q.job_ids == ["probe-m1"]


def test_enqueue_after_commit_forgets_jobs_on_rollback(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        queue.enqueue_after_commit(session, "default", "annotator.jobs.probe", args=("gone",))
        session.rollback()
        session.commit()
        assert q.count == 0


def test_a_nested_rollback_keeps_the_outer_transactions_jobs(app):
    q = queue.get_queue(runtime(app).redis)
    with app.app_context():
        session = runtime().session_factory()
        queue.enqueue_after_commit(session, "default", "annotator.jobs.probe", args=("kept",))
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


def test_the_cron_scheduler_registers_every_periodic_job(app):
    scheduler = queue.cron_scheduler(runtime(app).redis)
    registered = {(job.func.__module__ + "." + job.func.__name__, job.queue_name, job.interval)
                  for job in scheduler.get_jobs()}
    assert registered == set(queue.PERIODIC_JOBS)


def test_the_lease_reaper_job_run_by_a_worker_frees_lapsed_places(app, client, make_user, token_for, db):
    import datetime as dt

    from rq import SimpleWorker
    from sqlalchemy import update

    from tasks.models import Assignment, Task

    owner, annotator = token_for(make_user()), token_for(make_user())
    project = create_text_project(client, owner, visibility="public")
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}], headers=owner)
    lease = client.post(f"/api/v1/projects/{project['id']}/next", headers=annotator).get_json()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    db.execute(update(Assignment).where(Assignment.id == lease["assignment"]["id"]).values(expires_at=past))
    db.commit()
    with app.app_context():
        connection = runtime().redis
        job = queue.get_queue(connection).enqueue("tasks.jobs.reclaim_expired_leases")
        SimpleWorker([queue.get_queue(connection)], connection=connection).work(burst=True)
        assert job.return_value() == 1
    db.rollback()
    assert db.get(Assignment, lease["assignment"]["id"]).status == "expired"
    assert db.get(Task, lease["task"]["id"]).leased == 0
