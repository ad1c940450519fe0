"""Races found in review, on PostgreSQL: each interleaving is forced with a sleep, then must behave."""
import datetime as dt
import threading
import time
import pytest
from sqlalchemy import select, update
from annotator.users import service
from annotator.runtime import runtime
from tasks import annotations as ann_mod, assignment as asg_mod, gold as gold_mod
from tasks.assignment import recount
from tasks.models import Annotation, Assignment, Flag, Qualification, Task

pytestmark = pytest.mark.postgres
from tests.factories import text_project_body


def users(app, n):
    with app.app_context():
        s = runtime().session_factory()
        us = [service.register(s, runtime().passwords, email=f"p{i}@example.org", password="x" * 12,
                               display_name=f"P{i}") for i in range(n)]
        s.commit()
        toks = [{"Authorization": f"Bearer {service.create_token(s, u, 't')[1]}"} for u in us]
        s.commit(); s.close()
    return toks


def project(app, owner, rows, **kw):
    c = app.test_client()
    p = c.post("/api/v1/projects", headers=owner, json=text_project_body(visibility="public", **kw)).get_json()
    c.post(f"/api/v1/projects/{p['id']}/tasks", headers=owner, json=rows)
    return p


def run(fns):
    out = [None] * len(fns)
    def go(i, f):
        out[i] = f()
    ts = [threading.Thread(target=go, args=(i, f), name=f"t{i}") for i, f in enumerate(fns)]
    for t in ts: t.start()
    for t in ts: t.join(60)
    return out


def sleepy(orig, secs, only=None):
    def wrapper(*a, **k):
        if only is None or threading.current_thread().name == only:
            time.sleep(secs)
        return orig(*a, **k)
    return wrapper


def sess(app):
    return runtime(app).session_factory()


@pytest.mark.parametrize("action", ["annotation", "skip", "flag"])
def test_removing_a_flagged_task_while_its_lease_is_used_does_not_deadlock(pg_app, monkeypatch, action):
    owner, a, b = users(pg_app, 3)
    p = project(pg_app, owner, [{"data": {"text": "t"}}], overlap=3)
    c = pg_app.test_client()
    la = c.post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    lb = c.post(f"/api/v1/projects/{p['id']}/next", headers=b).get_json()
    fid = c.post(f"/api/v1/assignments/{lb['assignment']['id']}/flag", json={"reason": "corrupt"}, headers=b).get_json()["id"]
    # widen the window between locking the assignment and locking the task
    monkeypatch.setattr(ann_mod, "_ensure_open", sleepy(ann_mod._ensure_open, 1.0, only="t0"))
    body = {"annotation": {"result": {"labels": ["positive"]}}, "skip": {}, "flag": {"reason": "other"}}[action]
    def sub():
        r = pg_app.test_client().post(f"/api/v1/assignments/{la['assignment']['id']}/{action}", json=body, headers=a)
        return r.status_code, r.get_json()
    def res():
        time.sleep(0.4)
        r = pg_app.test_client().post(f"/api/v1/flags/{fid}/resolve", json={"action": "remove"}, headers=owner)
        return r.status_code, r.get_json()
    out = run([sub, res])
    assert 500 not in [o[0] for o in out], out  # one lock order (assignment, then task): no deadlock
    s = sess(pg_app)
    task = s.get(Task, la["task"]["id"])
    assert recount(s, task.id) == (task.leased, task.submitted)
    s.close()


def test_an_idempotent_retry_in_flight_gets_the_first_response(pg_app, monkeypatch):
    owner, a = users(pg_app, 2)
    p = project(pg_app, owner, [{"data": {"text": "t"}}], overlap=3)
    la = pg_app.test_client().post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    monkeypatch.setattr(ann_mod, "submit", sleepy(ann_mod.submit, 0.8, only="t0"))
    def sub(delay):
        def f():
            time.sleep(delay)
            r = pg_app.test_client().post(f"/api/v1/assignments/{la['assignment']['id']}/annotation",
                                          json={"result": {"labels": ["positive"]}},
                                          headers={**a, "Idempotency-Key": "k1"})
            return r.status_code, r.get_json()
        return f
    out = run([sub(0), sub(0.3)])
    assert out[0] == out[1] and out[0][0] == 201, out  # the retry in flight gets the first response


def test_two_quick_nexts_from_one_person_give_one_lease(pg_app, monkeypatch):
    owner, a = users(pg_app, 2)
    p = project(pg_app, owner, [{"data": {"text": f"t{i}"}} for i in range(5)], overlap=3)
    monkeypatch.setattr(asg_mod, "check_qualified", sleepy(asg_mod.check_qualified, 0.5))
    def nx():
        r = pg_app.test_client().post(f"/api/v1/projects/{p['id']}/next", headers=a)
        return r.status_code, r.get_json()
    out = run([nx, nx])
    s = sess(pg_app)
    live = s.scalars(select(Assignment).where(Assignment.status == "leased")).all()
    s.close()
    assert len(live) == 1 and out[0][1]["assignment"]["id"] == out[1][1]["assignment"]["id"]


def test_a_flag_is_resolved_once(pg_app, monkeypatch):
    owner, a = users(pg_app, 2)
    p = project(pg_app, owner, [{"data": {"text": "t"}}], overlap=3)
    c = pg_app.test_client()
    la = c.post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    fid = c.post(f"/api/v1/assignments/{la['assignment']['id']}/flag", json={"reason": "corrupt"}, headers=a).get_json()["id"]
    monkeypatch.setattr(ann_mod, "resolve_flag", sleepy(ann_mod.resolve_flag, 0.5, only="t0"))
    def res(action, delay):
        def f():
            time.sleep(delay)
            r = pg_app.test_client().post(f"/api/v1/flags/{fid}/resolve", json={"action": action}, headers=owner)
            return r.status_code, r.get_json()["status"]
        return f
    out = run([res("remove", 0), res("keep", 0.2)])
    assert [o[0] for o in out] == [200, 409], out
    s = sess(pg_app)
    assert (s.get(Flag, fid).status, s.get(Task, la["task"]["id"]).status) == ("removed", "retired")
    s.close()


def test_concurrent_gold_answers_all_count(pg_app, monkeypatch):
    owner, a = users(pg_app, 2)
    gold = [{"data": {"text": f"gold {n}"}, "gold": {"labels": ["positive"]}} for n in range(4)]
    p = project(pg_app, owner, gold + [{"data": {"text": "plain"}}], overlap=3, gold_ratio=0.0,
                qualification={"min_gold_accuracy": 0.0, "warmup_gold": 10})
    c = pg_app.test_client()
    l0 = c.post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    assert c.post(f"/api/v1/assignments/{l0['assignment']['id']}/annotation", json={"result": {"labels": ["positive"]}}, headers=a).status_code == 201
    l1 = c.post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    s = sess(pg_app)
    s.execute(update(Assignment).where(Assignment.id == l1["assignment"]["id"]).values(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    s.commit(); s.close()
    l2 = c.post(f"/api/v1/projects/{p['id']}/next", headers=a).get_json()
    assert l1["task"]["id"] != l2["task"]["id"]
    monkeypatch.setattr(gold_mod, "score", sleepy(gold_mod.score, 0.6))
    def sub(l):
        return lambda: pg_app.test_client().post(f"/api/v1/assignments/{l['assignment']['id']}/annotation",
                                                 json={"result": {"labels": ["negative"]}}, headers=a).status_code
    out = run([sub(l1), sub(l2)])
    s = sess(pg_app)
    q = s.scalars(select(Qualification)).one()
    n = s.scalar(select(__import__('sqlalchemy').func.count()).select_from(Annotation).where(Annotation.gold_score.is_not(None)))
    assert out == [201, 201] and n == 3 and q.gold_answered == 3  # no lost update


def test_the_last_task_with_room_is_not_lost_to_a_momentary_row_lock(pg_app):
    owner, a = users(pg_app, 2)
    p = project(pg_app, owner, [{"data": {"text": "only"}}], overlap=3)
    holder = sess(pg_app)
    task_id = holder.scalar(select(Task.id))
    holder.execute(select(Task).where(Task.id == task_id).with_for_update())  # as a submit holds it briefly

    def release():
        time.sleep(0.5)
        holder.rollback()

    def nx():
        r = pg_app.test_client().post(f"/api/v1/projects/{p['id']}/next", headers=a)
        return r.status_code, (r.get_json() or {}).get("task", {}).get("id")

    out = run([nx, release])
    holder.close()
    assert out[0] == (200, task_id)  # SKIP LOCKED alone would have answered 204: "nothing left"
