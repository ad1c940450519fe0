"""Edge cases found in review: schema changes, lapsed gold, lowered overlap, withheld tasks; the claim's plans."""
import datetime as dt

import pytest
from sqlalchemy import select

from annotator.runtime import runtime
from tasks import assignment
from tasks.assignment import recount
from tasks.models import Task
from tests.factories import answer, expire, gold_project, nxt, text_tasks


def test_a_gold_answer_after_its_label_left_the_schema_is_scored_not_a_crash(client, owner, annotators, db):
    project = gold_project(client, owner, warmup=1, bar=0.0)
    lease = nxt(client, project, annotators[0]).get_json()
    assert db.get(Task, lease["task"]["id"]).is_gold
    schema = {"tools": ["classify", "span"], "labels": [{"id": "good", "name": "Good"}, {"id": "negative", "name": "Neg"}]}
    r = client.patch(f"/api/v1/projects/{project['id']}", json={"label_schema": schema}, headers=owner)
    assert r.status_code == 200, r.get_json()
    resp = answer(client, lease, annotators[0], label="good")
    assert resp.status_code == 201  # scored (0: the gold label is gone), not a crash


def test_gold_is_not_offered_again_after_a_lapsed_lease(client, owner, annotators, db):
    project = gold_project(client, owner, warmup=5, bar=0.0)
    gold_ids = set(db.scalars(select(Task.id).where(Task.is_gold)))
    first = nxt(client, project, annotators[0]).get_json()
    assert first["task"]["id"] in gold_ids
    db.rollback()
    expire(db, first)
    seen = [first["task"]["id"]]
    for _ in range(6):
        r = nxt(client, project, annotators[0])
        if r.status_code != 200:
            break
        lease = r.get_json()
        seen.append(lease["task"]["id"])
        assert answer(client, lease, annotators[0]).status_code == 201
    assert len(seen) == len(set(seen))  # a lapsed gold lease never brings the same gold back


def test_lowering_overlap_caps_submissions_at_the_new_value(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=3)
    leases = [nxt(client, project, h).get_json() for h in annotators]
    assert client.patch(f"/api/v1/projects/{project['id']}", json={"overlap": 1}, headers=owner).status_code == 200
    codes = [answer(client, l, h).status_code for l, h in zip(leases, annotators)]
    assert codes == [201, 409, 409]
    db.rollback()
    assert db.get(Task, leases[0]["task"]["id"]).submitted == 1


def test_a_lapsed_lease_on_a_withheld_task_is_refused(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=3)
    a = nxt(client, project, annotators[0]).get_json()
    b = nxt(client, project, annotators[1]).get_json()
    assert client.post(f"/api/v1/assignments/{b['assignment']['id']}/flag", json={"reason": "corrupt"}, headers=annotators[1]).status_code == 200
    expire(db, a)
    assert answer(client, a, annotators[0]).status_code == 409  # lapsed, and the task is withheld


def test_an_old_and_a_new_lease_on_one_task_give_one_answer(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=3)
    l1 = nxt(client, project, annotators[0]).get_json()
    expire(db, l1)
    l2 = nxt(client, project, annotators[0]).get_json()  # reclaims l1, re-leases the same task
    codes = sorted([answer(client, l1, annotators[0]).status_code, answer(client, l2, annotators[0]).status_code])
    assert codes == [201, 409]  # one answer per person, whichever lease carries it
    db.rollback()
    t = db.get(Task, l1["task"]["id"])
    assert recount(db, t.id) == (t.leased, t.submitted)


@pytest.mark.postgres
def test_the_claim_is_planned_each_run_and_other_statements_keep_a_prepared_plan(pg_app):
    """PostgreSQL: psycopg prepares a statement after 5 runs; the claim (PLAN_EACH_RUN) is sent unprepared, so its
    plan follows the caller's history, while the lease lookup beside it is prepared (planned once, not each run)."""
    engine = runtime(pg_app).engine
    params = {"user_id": 1, "project_id": 1, "now": dt.datetime.now(dt.timezone.utc), "overlap": 3, "cursor": 0}
    with engine.connect() as connection:
        for _ in range(8):
            connection.execute(assignment._CLAIMS[2], params).all()
            connection.execute(assignment._LATEST, params).all()
        prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
        connection.rollback()
    assert any("ORDER BY assignments.id DESC" in statement for statement in prepared), prepared
    assert not any("FOR UPDATE SKIP LOCKED" in statement for statement in prepared), prepared
