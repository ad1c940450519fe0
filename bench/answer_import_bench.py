"""Answer import speed (issue 20: 100,000 answers in under 20 s): a CSV of external_id,annotator,label through
POST /projects/{id}/answers/import, which hands a file this large to an import job; the job run by a worker in this
process. Prints answers/s from the request to the finished job, next to a bare SQLAlchemy Core bulk INSERT of the
same answer rows (the floor any import pays; the ratio is the figure to watch).

Uses DATABASE_URL / REDIS_URL when set, else a temporary SQLite and embedded Redis.
BENCH_ANSWERS (default 100000) scales it; 10 annotators answer each task.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from rq import SimpleWorker
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator import queue  # noqa: E402
from annotator.db import utcnow  # noqa: E402
from annotator.runtime import runtime, stop_embedded  # noqa: E402
from annotator.users.models import User  # noqa: E402
from bench.import_bench import make_app, setup_project  # noqa: E402
from tasks.models import Annotation, Import, Task  # noqa: E402

ANSWERS = int(os.environ.get("BENCH_ANSWERS", 100_000))
PER_TASK = 10
LABELS = ("pos", "neg")


def tasks_for(app, headers, project_id: int, count: int) -> None:
    client = app.test_client()
    for start in range(0, count, 10_000):
        rows = [{"external_id": f"item-{n}", "data": {"text": f"Review {n}: the warbler sang."}}
                for n in range(start, min(start + 10_000, count))]
        assert client.post(f"/api/v1/projects/{project_id}/tasks", json=rows, headers=headers).status_code == 201


def csv_body(count: int) -> bytes:
    lines = ["external_id,annotator,label"]
    lines += [f"item-{n // PER_TASK},worker-{n % 97},{LABELS[(n * 7) % 5 == 0]}" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def bench_import(app) -> float:
    headers, project_id = setup_project(app, "text")
    tasks_for(app, headers, project_id, ANSWERS // PER_TASK)
    body = csv_body(ANSWERS)
    started = time.perf_counter()
    response = app.test_client().post(f"/api/v1/projects/{project_id}/answers/import", data=body,
                                      content_type="text/csv", headers=headers)
    assert response.status_code == 202, response.get_json()
    with app.app_context():
        connection = runtime().redis
        SimpleWorker([queue.get_queue(connection, "imports")], connection=connection).work(burst=True)
        elapsed = time.perf_counter() - started
        session = runtime().session_factory()
        job = session.get(Import, response.get_json()["id"])
        assert job.status == "finished", job.error
        assert job.counts["answers"] == ANSWERS, job.counts
        session.close()
    print(f"answer import: {ANSWERS:,} answers by {97} annotators in {elapsed:.2f} s "
          f"({ANSWERS / elapsed:,.0f} answers/s, request + job)")
    return elapsed


def bench_floor(app) -> float:
    """The same rows written by one Core executemany into annotations: no parsing, no checks."""
    headers, project_id = setup_project(app, "text")
    tasks_for(app, headers, project_id, ANSWERS // PER_TASK)
    with app.app_context():
        session = runtime().session_factory()
        tasks = dict(session.execute(select(Task.external_id, Task.id).where(Task.project_id == project_id)).all())
        now = utcnow()
        people = [{"display_name": f"floor-{n}", "kind": "external", "external_project_id": project_id,
                   "email": None, "password_hash": None, "is_active": False, "created_at": now, "updated_at": now}
                  for n in range(97)]
        session.execute(insert(User), people)
        ids = [row[0] for row in session.execute(select(User.id).where(User.external_project_id == project_id)
                                                 .order_by(User.id))]
        rows = [{"project_id": project_id, "task_id": tasks[f"item-{n // PER_TASK}"], "user_id": ids[n % 97],
                 "assignment_id": None, "result": {"labels": [LABELS[(n * 7) % 5 == 0]]}, "lead_time_ms": None,
                 "schema_version": 1, "counted": True, "created_at": now} for n in range(ANSWERS)]
        started = time.perf_counter()
        for start in range(0, ANSWERS, 5000):
            session.execute(insert(Annotation), rows[start:start + 5000])
        session.commit()
        elapsed = time.perf_counter() - started
        session.close()
    print(f"floor (Core bulk INSERT of the same rows): {elapsed:.2f} s ({ANSWERS / elapsed:,.0f} rows/s)")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(folder)
        try:
            ours = bench_import(app)
            floor = bench_floor(app)
            print(f"ratio to the floor: {ours / floor:.1f}x; target: {ANSWERS:,} answers under 20 s "
                  f"({'met' if ours < 20 or ANSWERS < 100_000 else 'MISSED'})")
        finally:
            stop_embedded()


if __name__ == "__main__":
    main()
