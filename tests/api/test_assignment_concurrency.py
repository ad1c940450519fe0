"""32 concurrent annotators: nobody waits forever, no task over overlap, no duplicate, no lost submit."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from sqlalchemy import func, select

from annotator.users import service
from annotator.runtime import runtime
from tasks.assignment import recount
from tasks.models import Annotation, Assignment, Task
from tests.api.load_client import process_main, run_threads
from tests.factories import FAST_ARGON2, text_project_body

CLIENTS, TASKS, OVERLAP = 32, 40, 3


def setup(app) -> tuple[int, list[str], str]:
    with app.app_context():
        session = runtime().session_factory()
        users = [service.register(session, runtime().passwords, email=f"c{n}@example.org", password="x" * 12,
                                  display_name=f"C{n}") for n in range(CLIENTS + 1)]
        session.commit()
        tokens = [service.create_token(session, user, "load")[1] for user in users]
        session.commit()
        session.close()
    owner = {"Authorization": f"Bearer {tokens[0]}"}
    client = app.test_client()
    project = client.post("/api/v1/projects", headers=owner,
                          json=text_project_body(overlap=OVERLAP, visibility="public")).get_json()
    client.post(f"/api/v1/projects/{project['id']}/tasks", headers=owner,
                json=[{"data": {"text": f"t{n}"}} for n in range(TASKS)])
    return project["id"], tokens[1:], tokens[0]


def check(app, project_id: int, results: list[dict]) -> None:
    assert all(r.get("finished") for r in results), "every client ends with a 204"
    assert all(status == 201 for r in results for status in r["submits"]), "no lost or refused submit"
    owners = {}
    for index, result in enumerate(results):
        for assignment_id, _task in result["leases"]:
            assert owners.setdefault(assignment_id, index) == index, "a lease handed to two people"
    session = runtime(app).session_factory()
    per_task = dict(session.execute(select(Annotation.task_id, func.count()).where(Annotation.project_id == project_id)
                                    .group_by(Annotation.task_id)).all())
    assert max(per_task.values()) <= OVERLAP and sum(per_task.values()) == TASKS * OVERLAP
    pairs = session.execute(select(Annotation.task_id, Annotation.user_id)).all()
    assert len(pairs) == len(set(pairs)), "two annotations from one person on a task"
    assert sum(len(r["submits"]) for r in results) == TASKS * OVERLAP
    for task in session.scalars(select(Task).where(Task.project_id == project_id)):
        assert recount(session, task.id) == (task.leased, task.submitted) == (0, OVERLAP)
        assert task.status == "completed"
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.status == "leased")) == 0
    session.close()


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_32_threads_on_postgresql(pg_app, round_):
    project_id, tokens, _ = setup(pg_app)
    check(pg_app, project_id, run_threads(pg_app, project_id, tokens))


@pytest.mark.postgres
def test_4_processes_of_8_threads_on_postgresql(pg_app):
    project_id, tokens, _ = setup(pg_app)
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": pg_app.config["DATABASE_URL"],
              "REDIS_URL": pg_app.config["REDIS_URL"], "INSTANCE_PATH": pg_app.instance_path, **FAST_ARGON2}
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(process_main, [config] * 4, [project_id] * 4,
                              [tokens[n::4] for n in range(4)]))
    check(pg_app, project_id, [result for part in parts for result in part])


def test_8_threads_on_the_lane_database(app):
    """On SQLite the claim is serialised by BEGIN IMMEDIATE; the same guarantees hold."""
    project_id, tokens, _ = setup(app)
    check(app, project_id, run_threads(app, project_id, tokens[:8]))
