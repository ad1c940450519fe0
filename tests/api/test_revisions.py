"""Annotators see their answers and revise one while its task is not complete: validated as a submit is, the
earlier version kept, pay unchanged; after completion 409 task_completed; nobody else's (404)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from annotator.runtime import runtime
from tasks.models import AnnotationRevision
from tests.factories import answer, assert_problem, deposit, funded, nxt, text_tasks, wallet


def test_an_annotator_lists_their_answers_and_revises_one_before_the_task_completes(app, client, owner, annotators):
    project = text_tasks(client, owner, count=2, overlap=2)
    first = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="negative").get_json()
    second = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0]).get_json()
    mine = client.get(f"/api/v1/me/annotations?project_id={project['id']}", headers=annotators[0]).get_json()
    assert [a["id"] for a in mine["items"]] == [second["id"], first["id"]]  # newest first
    assert all(a["revisable"] and a["task_status"] == "open" for a in mine["items"])
    assert client.get("/api/v1/me/annotations", headers=annotators[1]).get_json()["total"] == 0
    revised = client.put(f"/api/v1/annotations/{first['id']}", json={"result": {"labels": ["positive"]},
                                                                     "lead_time_ms": 900}, headers=annotators[0])
    assert revised.status_code == 200, revised.get_json()
    assert revised.get_json()["result"]["labels"] == ["positive"] and revised.get_json()["lead_time_ms"] == 900
    with runtime(app).session_factory() as session:
        kept = session.scalars(select(AnnotationRevision).where(AnnotationRevision.annotation_id == first["id"])).all()
        assert [k.result["labels"] for k in kept] == [["negative"]]
    # The task completes with a second answer: the revised one is what the consensus counts, and it is final.
    other = nxt(client, project, annotators[1]).get_json()
    while other["task"]["id"] != first["task_id"]:
        answer(client, other, annotators[1])
        other = nxt(client, project, annotators[1]).get_json()
    answer(client, other, annotators[1], label="positive")
    consensus = client.get(f"/api/v1/tasks/{first['task_id']}/consensus", headers=owner).get_json()
    assert consensus["result"]["labels"] == ["positive"]
    done = client.put(f"/api/v1/annotations/{first['id']}", json={"result": {"labels": ["negative"]}},
                      headers=annotators[0])
    assert_problem(done, 409, "task_completed")
    listed = client.get("/api/v1/me/annotations", headers=annotators[0]).get_json()["items"]
    assert {a["id"]: a["revisable"] for a in listed}[first["id"]] is False


@pytest.mark.parametrize("body, field", [({"result": {"labels": ["no-such-label"]}}, "result"),
                                         ({"result": "text"}, "result"), ({}, "result"),
                                         ({"result": {"labels": ["positive"]}, "lead_time_ms": -1}, "lead_time_ms")])
def test_a_bad_revision_is_refused_naming_the_field_and_the_answer_is_unchanged(client, owner, annotators, body,
                                                                              field):
    project = text_tasks(client, owner, count=1, overlap=2)
    made = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="negative").get_json()
    refused = client.put(f"/api/v1/annotations/{made['id']}", json=body, headers=annotators[0])
    assert refused.status_code == 422 and field in str(refused.get_json()), refused.get_json()
    mine = client.get("/api/v1/me/annotations", headers=annotators[0]).get_json()["items"]
    assert mine[0]["result"]["labels"] == ["negative"]


def test_only_the_author_may_revise_and_pay_does_not_change(app, client, owner, annotators):
    project = funded(client, owner, amount=1000, tasks=1, overlap=2)
    made = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0]).get_json()
    before = wallet(client, annotators[0])
    for stranger in (annotators[1], owner):
        assert_problem(client.put(f"/api/v1/annotations/{made['id']}", json={"result": {"labels": ["negative"]}},
                                  headers=stranger), 404)
    assert_problem(client.put("/api/v1/annotations/999999", json={"result": {}}, headers=annotators[0]), 404)
    assert client.put(f"/api/v1/annotations/{made['id']}", json={"result": {"labels": ["negative"]}},
                      headers=annotators[0]).status_code == 200
    assert wallet(client, annotators[0]) == before  # the credit was for the work, not the label
    assert_problem(client.put(f"/api/v1/annotations/{made['id']}", json={"result": {"labels": ["positive"]}}), 401)
    assert deposit  # the helper funds paid projects through an administrator


def test_the_author_opens_one_answer_with_its_task_to_revise_it_and_nobody_else_does(client, owner, annotators):
    project = text_tasks(client, owner, count=1, overlap=2)
    made = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="negative").get_json()
    one = client.get(f"/api/v1/annotations/{made['id']}", headers=annotators[0])
    assert one.status_code == 200
    body = one.get_json()
    assert (body["id"], body["task_id"], body["revisable"]) == (made["id"], made["task_id"], True)
    assert body["task_data"] == {"text": "task number 0"} and body["result"] == {"labels": ["negative"]}
    listed = client.get("/api/v1/me/annotations", headers=annotators[0]).get_json()["items"]
    assert listed[0]["task_data"] == {"text": "task number 0"}
    for stranger in (annotators[1], owner):
        assert_problem(client.get(f"/api/v1/annotations/{made['id']}", headers=stranger), 404)
    assert_problem(client.get("/api/v1/annotations/999999", headers=annotators[0]), 404)
