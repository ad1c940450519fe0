"""Labelling per API.md: next, heartbeat, submit, skip, flag, moderation, gold and qualification."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tasks.assignment import recount
from tasks.models import Annotation, Assignment, Task
from tests.factories import (answer, assert_problem, create_text_project, expire, gold_project, label_all, nxt,
                             text_tasks)


def test_next_gives_a_lease_and_the_same_one_while_it_lives(client, owner, annotators):
    project = text_tasks(client, owner)
    first = nxt(client, project, annotators[0])
    assert first.status_code == 200
    lease = first.get_json()
    assert set(lease) == {"assignment", "task"} and set(lease["task"]) == {"id", "data"}
    assert set(lease["assignment"]) == {"id", "task_id", "expires_at"}
    assert nxt(client, project, annotators[0]).get_json() == lease


def test_an_annotator_labels_every_task_once_then_gets_204(client, owner, annotators, db):
    project = text_tasks(client, owner, count=5)
    done = label_all(client, project, annotators[0])
    assert sorted(done) == sorted(set(done)) and len(done) == 5
    saved = db.scalars(select(Annotation)).all()
    assert {a.lead_time_ms for a in saved} == {1200} and {a.schema_version for a in saved} == {1}


def test_no_task_gets_more_than_overlap_annotations(client, owner, annotators, db):
    project = text_tasks(client, owner, count=3, overlap=2)
    for headers in annotators:
        label_all(client, project, headers)
    counts = db.execute(select(Annotation.task_id, func.count()).group_by(Annotation.task_id)).all()
    assert sorted(n for _, n in counts) == [2, 2, 2]
    tasks = db.scalars(select(Task)).all()
    assert {t.status for t in tasks} == {"completed"}
    assert all(recount(db, t.id) == (t.leased, t.submitted) for t in tasks)


def test_skipped_tasks_are_not_offered_again_to_the_skipper_only(client, owner, annotators):
    project = text_tasks(client, owner, count=1)
    lease = nxt(client, project, annotators[0]).get_json()
    assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/skip", json={"reason": "unsure"},
                       headers=annotators[0]).status_code == 200
    assert nxt(client, project, annotators[0]).status_code == 204
    assert nxt(client, project, annotators[1]).get_json()["task"]["id"] == lease["task"]["id"]


def test_a_flag_withholds_the_task_until_resolved(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1)
    lease = nxt(client, project, annotators[0]).get_json()
    flagged = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/flag",
                          json={"reason": "private_data", "note": "a phone number"}, headers=annotators[0])
    assert flagged.status_code == 200 and flagged.get_json()["status"] == "open"
    assert nxt(client, project, annotators[1]).status_code == 204
    queue = client.get(f"/api/v1/projects/{project['id']}/flags?status=open", headers=owner).get_json()
    assert [f["note"] for f in queue["items"]] == ["a phone number"]
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/flags", headers=annotators[1]), 403)
    resolved = client.post(f"/api/v1/flags/{queue['items'][0]['id']}/resolve", json={"action": "keep"}, headers=owner)
    assert resolved.get_json()["status"] == "kept"
    assert nxt(client, project, annotators[1]).get_json()["task"]["id"] == lease["task"]["id"]
    assert nxt(client, project, annotators[0]).status_code == 204  # the flagger still never sees it again
    assert_problem(client.post(f"/api/v1/flags/{queue['items'][0]['id']}/resolve", json={"action": "keep"},
                               headers=owner), 409)


def test_removing_a_flagged_task_retires_it_and_releases_its_leases(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=3)
    holder = nxt(client, project, annotators[1]).get_json()
    lease = nxt(client, project, annotators[0]).get_json()
    assert holder["task"]["id"] == lease["task"]["id"]
    flag_id = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/flag", json={"reason": "corrupt"},
                          headers=annotators[0]).get_json()["id"]
    client.post(f"/api/v1/flags/{flag_id}/resolve", json={"action": "remove"}, headers=owner)
    task = db.get(Task, lease["task"]["id"])
    assert task.status == "retired" and task.leased == 0
    assert_problem(answer(client, holder, annotators[1]), 409, "assignment_closed")
    assert nxt(client, project, annotators[2]).status_code == 204


def test_heartbeat_extends_and_an_expired_lease_is_409(client, app, owner, annotators, db):
    project = text_tasks(client, owner, lease_seconds=60)
    lease = nxt(client, project, annotators[0]).get_json()
    beat = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/heartbeat", headers=annotators[0])
    assert beat.status_code == 200 and beat.get_json()["expires_at"] >= lease["assignment"]["expires_at"]
    expire(db, lease)
    assert_problem(client.post(f"/api/v1/assignments/{lease['assignment']['id']}/heartbeat", headers=annotators[0]),
                   409, "lease_expired")


def test_an_expired_lease_goes_to_someone_else_and_a_late_submit_without_room_is_409(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=1)
    lease = nxt(client, project, annotators[0]).get_json()
    expire(db, lease)
    taken = nxt(client, project, annotators[1]).get_json()
    assert taken["task"]["id"] == lease["task"]["id"]
    assert_problem(answer(client, lease, annotators[0]), 409, "lease_expired")
    assert answer(client, taken, annotators[1]).status_code == 201


def test_a_late_submit_with_room_left_is_accepted(client, owner, annotators, db):
    project = text_tasks(client, owner, count=1, overlap=2)
    lease = nxt(client, project, annotators[0]).get_json()
    expire(db, lease)
    assert nxt(client, project, annotators[1]).status_code == 200  # reclaims the expired lease
    assert answer(client, lease, annotators[0]).status_code == 201
    db.rollback()
    task = db.get(Task, lease["task"]["id"])
    assert (task.leased, task.submitted) == recount(db, task.id) == (1, 1)


def test_another_users_assignment_is_409_and_nothing_changes(client, owner, annotators, db):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    for path, body in (("annotation", {"result": {"labels": ["positive"]}}), ("skip", {}), ("flag", {"reason": "other"}),
                       ("heartbeat", None)):
        response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/{path}", json=body,
                               headers=annotators[1])
        assert_problem(response, 409, "not_your_assignment")
    db.rollback()
    assert db.get(Assignment, lease["assignment"]["id"]).status == "leased"
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


def test_an_assignment_in_a_project_you_cannot_see_is_404(client, owner, annotators, make_user, token_for):
    project = create_text_project(client, owner, visibility="private")
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}], headers=owner)
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "a0@example.org", "role": "annotator"},
                headers=owner)
    lease = nxt(client, project, annotators[0]).get_json()
    assert_problem(answer(client, lease, annotators[1]), 404)
    assert_problem(nxt(client, project, annotators[1]), 404)
    assert_problem(client.post("/api/v1/assignments/999999/heartbeat", headers=annotators[0]), 404)


def test_double_submit_and_submit_after_skip_are_409(client, owner, annotators):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    assert answer(client, lease, annotators[0]).status_code == 201
    assert_problem(answer(client, lease, annotators[0]), 409, "assignment_closed")
    other = nxt(client, project, annotators[0]).get_json()
    client.post(f"/api/v1/assignments/{other['assignment']['id']}/skip", json={}, headers=annotators[0])
    assert_problem(answer(client, other, annotators[0]), 409, "assignment_closed")


@pytest.mark.parametrize("result,field", [
    ({"objects": [{"tool": "bbox", "label": "positive", "bbox": [0, 0, 1, 1]}]}, "result.objects"),
    ({"labels": ["nope"]}, "result.labels.0"),
    ({"spans": [{"start": 5, "end": 2, "label": "species"}]}, "result.spans.0.end"),
    ("positive", "result"),
    ({}, "result"),
])
def test_a_result_that_breaks_the_schema_is_422_naming_the_field(client, owner, annotators, db, result, field):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation", json={"result": result},
                           headers=annotators[0])
    assert field in assert_problem(response, 422)["errors"]
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


@pytest.mark.parametrize("status", ["paused", "archived"])
def test_next_on_a_paused_or_archived_project_is_409(client, owner, annotators, status):
    project = text_tasks(client, owner)
    client.patch(f"/api/v1/projects/{project['id']}", json={"status": status}, headers=owner)
    assert_problem(nxt(client, project, annotators[0]), 409, "project_not_active")


def test_idempotency_key_replays_the_first_response(client, owner, annotators, db):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    first = answer(client, lease, annotators[0], **{"Idempotency-Key": "k-1"})
    again = answer(client, lease, annotators[0], **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(Annotation)) == 1
    other = answer(client, lease, annotators[0], label="negative", **{"Idempotency-Key": "k-1"})
    assert_problem(other, 409, "idempotency_key_reused")
    assert_problem(answer(client, lease, annotators[0], **{"Idempotency-Key": "bad key with spaces"}), 422)


def test_lead_time_must_be_a_whole_non_negative_number(client, owner, annotators):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    for bad in (-1, 1.5, "10", True):
        response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                               json={"result": {"labels": ["positive"]}, "lead_time_ms": bad}, headers=annotators[0])
        assert "lead_time_ms" in assert_problem(response, 422)["errors"]


def test_warmup_gold_comes_first_and_looks_like_any_task(client, owner, annotators, db):
    project = gold_project(client, owner)
    gold_ids = set(db.scalars(select(Task.id).where(Task.is_gold)))
    seen = []
    for _ in range(2):
        lease = nxt(client, project, annotators[0]).get_json()
        assert set(lease["task"]) == {"id", "data"}
        seen.append(lease["task"]["id"])
        answer(client, lease, annotators[0])
    assert set(seen) <= gold_ids
    after = nxt(client, project, annotators[0]).get_json()
    assert after["task"]["id"] not in gold_ids


def test_failing_gold_gives_403_not_qualified_until_reinstated(client, owner, annotators, db, make_user):
    project = gold_project(client, owner, warmup=2, bar=0.7)
    for _ in range(2):
        answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="negative")
    refused = assert_problem(nxt(client, project, annotators[0]), 403, "not_qualified")
    assert refused["accuracy"] == 0.0 and refused["required"] == 0.7
    user_id = client.get("/api/v1/me", headers=annotators[0]).get_json()["id"]
    assert_problem(client.post(f"/api/v1/projects/{project['id']}/annotators/{user_id}/reinstate",
                               headers=annotators[1]), 403)
    assert client.post(f"/api/v1/projects/{project['id']}/annotators/{user_id}/reinstate",
                       headers=owner).status_code == 200
    assert nxt(client, project, annotators[0]).status_code == 200


def test_gold_is_never_served_twice_to_one_person(client, owner, annotators, db):
    project = gold_project(client, owner, warmup=10, bar=0.0)
    served = label_all(client, project, annotators[0])
    gold_ids = set(db.scalars(select(Task.id).where(Task.is_gold)))
    assert len([t for t in served if t in gold_ids]) == 3 and len(served) == len(set(served)) == 6


def test_the_lease_holder_may_read_the_task_and_nobody_else(client, owner, annotators):
    project = text_tasks(client, owner)
    lease = nxt(client, project, annotators[0]).get_json()
    seen = client.get(f"/api/v1/tasks/{lease['task']['id']}", headers=annotators[0]).get_json()
    assert seen == {"id": lease["task"]["id"], "project_id": project["id"], "data": lease["task"]["data"]}
    assert_problem(client.get(f"/api/v1/tasks/{lease['task']['id']}", headers=annotators[1]), 404)
