"""Dynamic overlap: a task stops early when its answers agree enough, and asks for more while they do not."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tasks.assignment import recount
from tasks.models import Task
from tests.factories import answer, create_project, create_text_project, nxt

DYNAMIC = {"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.9}


@pytest.fixture
def crowd(make_user, token_for):
    return [token_for(make_user(f"crowd{n}@example.org")) for n in range(6)]


def one_task(client, owner, **settings):
    project = create_text_project(client, owner, **{"visibility": "public", "overlap": 3, "dynamic_overlap": DYNAMIC,
                                                    **settings})
    task_id = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "one"}}],
                          headers=owner).get_json()["task_ids"][0]
    return project, task_id


def taxonomy_task(client, owner, schema):
    project = create_project(client, owner, visibility="public", media_type="text", label_schema=schema, overlap=3,
                             dynamic_overlap=DYNAMIC)
    task_id = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "a bird"}}],
                          headers=owner).get_json()["task_ids"][0]
    return project, task_id


def answer_next(client, project, headers, label):
    response = nxt(client, project, headers)
    if response.status_code == 204:
        return None
    assert answer(client, response.get_json(), headers, label=label).status_code == 201
    return response.get_json()["task"]["id"]


def state(db, task_id):
    db.rollback()  # a fresh read: end the snapshot an earlier read may hold
    task = db.get(Task, task_id)
    return task.status, task.submitted, task.wanted


def test_two_agreeing_answers_complete_the_task_before_overlap(client, owner, crowd, db):
    project, task_id = one_task(client, owner)
    answer_next(client, project, crowd[0], "positive")
    assert state(db, task_id) == ("open", 1, None)  # one answer is below min_overlap, however sure
    answer_next(client, project, crowd[1], "positive")
    assert state(db, task_id) == ("completed", 2, None)
    assert nxt(client, project, crowd[2]).status_code == 204  # nobody is asked for a third


def test_an_unsure_task_asks_more_annotators_up_to_max_overlap(client, owner, crowd, db):
    project, task_id = one_task(client, owner)
    for n, label in enumerate(["positive", "negative", "positive"]):
        answer_next(client, project, crowd[n], label)
    assert state(db, task_id) == ("open", 3, 5)  # 2/3 < 0.9 at overlap: it wants up to 5 now
    answer_next(client, project, crowd[3], "positive")
    assert state(db, task_id) == ("open", 4, 5)  # 3/4 still below
    answer_next(client, project, crowd[4], "positive")
    assert state(db, task_id) == ("completed", 5, 5)  # max_overlap reached: done whatever the answers
    assert nxt(client, project, crowd[5]).status_code == 204
    assert recount(db, task_id) == (0, 5)


def test_a_late_agreement_completes_before_max_overlap(client, owner, crowd, db):
    project, task_id = one_task(client, owner, dynamic_overlap={**DYNAMIC, "confidence_target": 0.7})
    for n, label in enumerate(["positive", "negative", "negative"]):
        answer_next(client, project, crowd[n], label)
    assert state(db, task_id) == ("open", 3, 5)  # 2/3 < 0.7
    answer_next(client, project, crowd[3], "negative")
    assert state(db, task_id) == ("completed", 4, 5)  # 3/4 >= 0.7


def test_backing_off_to_the_genus_can_be_sure_enough(client, owner, crowd, db):
    schema = {"tools": ["classify"], "labels": [{"id": "warbler", "name": "Warbler", "children": [
        {"id": "yellow", "name": "Yellow"}, {"id": "willow", "name": "Willow"}]}, {"id": "sparrow", "name": "Sparrow"}]}
    project, task_id = taxonomy_task(client, owner, schema)
    answer_next(client, project, crowd[0], "yellow")
    answer_next(client, project, crowd[1], "willow")
    assert state(db, task_id) == ("completed", 2, None)  # both say warbler: sure of the genus
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["warbler"]} and consensus["confidence"] == 1.0


def test_without_dynamic_overlap_a_task_takes_exactly_overlap(client, owner, crowd, db):
    project = create_text_project(client, owner, visibility="public", overlap=2)
    task_id = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}],
                          headers=owner).get_json()["task_ids"][0]
    answer_next(client, project, crowd[0], "positive")
    answer_next(client, project, crowd[1], "negative")  # disagreeing, but no dynamic overlap: done
    assert state(db, task_id) == ("completed", 2, None)
    assert db.scalar(select(Task.wanted).where(Task.id == task_id)) is None


def test_a_disqualified_answer_does_not_vouch_for_the_consensus(client, owner, crowd, db):
    from sqlalchemy import update as sql_update

    from tasks.models import Annotation

    project, task_id = one_task(client, owner)
    answer_next(client, project, crowd[0], "positive")
    db.execute(sql_update(Annotation).where(Annotation.task_id == task_id).values(counted=False))  # as if disqualified
    db.commit()
    answer_next(client, project, crowd[1], "positive")
    assert state(db, task_id) == ("open", 2, None)  # one counted answer is below min_overlap
    answer_next(client, project, crowd[2], "positive")
    assert state(db, task_id) == ("completed", 3, None)


def test_changing_the_settings_keeps_wanted_within_them(client, owner, crowd, db):
    project, task_id = one_task(client, owner)
    for n, label in enumerate(["positive", "negative", "positive"]):
        answer_next(client, project, crowd[n], label)
    assert state(db, task_id) == ("open", 3, 5)
    client.patch(f"/api/v1/projects/{project['id']}",
                 json={"dynamic_overlap": {"min_overlap": 2, "max_overlap": 4, "confidence_target": 0.9}}, headers=owner)
    assert state(db, task_id) == ("open", 3, 4)
    response = client.patch(f"/api/v1/projects/{project['id']}", json={"dynamic_overlap": None}, headers=owner)
    assert response.status_code == 200, response.get_json()
    assert state(db, task_id) == ("open", 3, None)  # back to the project's overlap of 3: no room
    assert nxt(client, project, crowd[3]).status_code == 204


def test_backing_off_to_the_only_top_level_label_is_not_confidence(client, owner, crowd, db):
    schema = {"tools": ["classify"], "labels": [{"id": "bird", "name": "Bird", "children": [
        {"id": "warbler", "name": "Warbler", "children": [{"id": "yellow", "name": "Yellow"}]},
        {"id": "sparrow", "name": "Sparrow"}]}]}
    project, task_id = taxonomy_task(client, owner, schema)
    answer_next(client, project, crowd[0], "yellow")
    answer_next(client, project, crowd[1], "sparrow")
    assert state(db, task_id) == ("open", 2, None)  # "bird" is certain and says nothing: keep asking
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    assert consensus["result"]["labels"] != ["bird"] and consensus["confidence"] == pytest.approx(0.5)
