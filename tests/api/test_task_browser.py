"""The task browser and viewer: filters (status, gold, annotator, flags, consensus confidence and agreement ranges)
checked against each task's own consensus; answers with who gave them; a task's flags; the ledger lines it
caused, balanced and matching the annotators' wallets."""
from __future__ import annotations

import pytest

from tests.factories import (answer, assert_problem, create_text_project, funded, labelled_as_answers, nxt)


@pytest.fixture
def labelled(client, owner, annotators):
    project, task_ids = labelled_as_answers(client, owner, annotators)
    consensus = {tid: client.get(f"/api/v1/tasks/{tid}/consensus", headers=owner).get_json() for tid in task_ids}
    return project, task_ids, consensus


def listed(client, project, headers, **query) -> list[int]:
    response = client.get(f"/api/v1/projects/{project['id']}/tasks", query_string={"per_page": 500, **query},
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    return [task["id"] for task in response.get_json()["items"]]


@pytest.mark.parametrize("low,high", [(0.9, None), (None, 0.7), (0.5, 0.8), (0.0, 1.0)])
def test_a_confidence_range_lists_the_tasks_whose_consensus_is_in_it(client, owner, labelled, low, high):
    project, task_ids, consensus = labelled
    query = {k: v for k, v in (("min_confidence", low), ("max_confidence", high)) if v is not None}
    expected = [tid for tid in task_ids if consensus[tid]["confidence"] is not None
                and (low is None or consensus[tid]["confidence"] >= low)
                and (high is None or consensus[tid]["confidence"] <= high)]
    assert listed(client, project, owner, **query) == expected
    assert 0 < len(set(consensus[t]["confidence"] for t in task_ids))  # the data has confidences to filter on


def test_an_agreement_range_splits_unanimous_tasks_from_disputed_ones(client, owner, labelled):
    project, task_ids, consensus = labelled
    unanimous = [tid for tid in task_ids if consensus[tid]["agreement"] == 1.0]
    disputed = [tid for tid in task_ids if consensus[tid]["agreement"] is not None and consensus[tid]["agreement"] < 1]
    assert unanimous and disputed  # ANSWERS has both
    assert listed(client, project, owner, min_agreement=1.0) == unanimous
    assert listed(client, project, owner, max_agreement=0.99) == disputed


def test_status_annotator_and_flag_filters(client, owner, annotators, make_user, token_for):
    project = create_text_project(client, owner, overlap=1, visibility="public")
    pid = project["id"]
    ids = client.post(f"/api/v1/projects/{pid}/tasks", json=[{"data": {"text": f"f{n}"}} for n in range(4)],
                      headers=owner).get_json()["task_ids"]
    first = nxt(client, project, annotators[0]).get_json()
    assert answer(client, first, annotators[0]).status_code == 201
    second = nxt(client, project, annotators[1]).get_json()
    assert client.post(f"/api/v1/assignments/{second['assignment']['id']}/flag", json={"reason": "corrupt"},
                       headers=annotators[1]).status_code == 200
    me = client.get("/api/v1/me", headers=annotators[0]).get_json()
    assert listed(client, project, owner, status="completed") == [first["task"]["id"]]
    assert listed(client, project, owner, annotator_id=me["id"]) == [first["task"]["id"]]
    assert listed(client, project, owner, flagged="open") == [second["task"]["id"]]
    assert listed(client, project, owner, flagged="any") == [second["task"]["id"]]
    assert listed(client, project, owner, flagged="none") == [t for t in ids if t != second["task"]["id"]]
    assert listed(client, project, owner, gold="true") == []
    assert listed(client, project, owner, gold="false") == ids
    flags = client.get(f"/api/v1/projects/{pid}/flags", query_string={"task_id": second["task"]["id"]},
                       headers=owner).get_json()
    assert [(f["task_id"], f["reason"]) for f in flags["items"]] == [(second["task"]["id"], "corrupt")]
    assert client.get(f"/api/v1/projects/{pid}/flags", query_string={"task_id": first["task"]["id"]},
                      headers=owner).get_json()["total"] == 0


@pytest.mark.parametrize("query,field", [
    ({"min_confidence": "2"}, "min_confidence"), ({"max_agreement": "-0.1"}, "max_agreement"),
    ({"min_confidence": "a lot"}, "min_confidence"), ({"min_agreement": "nan"}, "min_agreement"),
    ({"min_confidence": "0.9", "max_confidence": "0.1"}, "min_confidence"),
    ({"flagged": "maybe"}, "flagged"), ({"gold": "perhaps"}, "gold"), ({"annotator_id": "0"}, "annotator_id"),
    ({"status": "done"}, "status"), ({"colour": "red"}, "colour"),
])
def test_bad_filters_are_422_naming_the_field(client, owner, query, field):
    pid = create_text_project(client, owner)["id"]
    problem = assert_problem(client.get(f"/api/v1/projects/{pid}/tasks", query_string=query, headers=owner), 422)
    assert field in problem["errors"]


def test_a_bad_flag_task_filter_is_422(client, owner):
    pid = create_text_project(client, owner)["id"]
    assert "task_id" in assert_problem(client.get(f"/api/v1/projects/{pid}/flags", query_string={"task_id": "x"},
                                                  headers=owner), 422)["errors"]


def test_reviewers_browse_and_open_tasks_and_see_who_answered(client, owner, labelled, make_user, token_for):
    project, task_ids, _ = labelled
    reviewer = token_for(make_user("reviewer@example.org"))
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "reviewer@example.org",
                                                                   "role": "reviewer"}, headers=owner)
    assert listed(client, project, reviewer) == task_ids
    assert client.get(f"/api/v1/tasks/{task_ids[0]}", headers=reviewer).get_json()["data"] == {"text": "review 0"}
    answers = client.get(f"/api/v1/tasks/{task_ids[0]}/annotations", headers=reviewer).get_json()["items"]
    assert sorted(a["user"]["email"] for a in answers) == ["a0@example.org", "a1@example.org", "a2@example.org"]
    assert all(a["user"]["id"] == a["user_id"] for a in answers)
    assert_problem(client.get(f"/api/v1/tasks/{task_ids[0]}/ledger", headers=reviewer), 404)  # money: managers


def test_the_ledger_lines_of_a_task_balance_and_match_the_wallets(client, owner, annotators):
    project = funded(client, owner, amount=10_000, tasks=1, overlap=2)
    task_id = None
    for headers in annotators[:2]:
        lease = nxt(client, project, headers).get_json()
        task_id = lease["task"]["id"]
        assert answer(client, lease, headers).status_code == 201
    body = client.get(f"/api/v1/tasks/{task_id}/ledger", headers=owner).get_json()
    assert body["total"] == len(body["items"]) >= 3  # a credit per answer and the completed task's bonus
    assert {"credit", "bonus"} <= {row["kind"] for row in body["items"]}
    for row in body["items"]:
        assert sum(line["amount"] for line in row["lines"]) == 0, row  # every transaction balances
    for headers in annotators[:2]:
        me = client.get("/api/v1/me", headers=headers).get_json()
        from_ledger = sum(line["amount"] for row in body["items"] for line in row["lines"]
                          if line["user"] and line["user"]["id"] == me["id"])
        entries = client.get("/api/v1/wallet/entries", query_string={"per_page": 500}, headers=headers).get_json()
        from_wallet = sum(e["amount"] for e in entries["items"] if e["task_id"] == task_id)
        assert from_ledger == from_wallet != 0
        assert all(line["user"]["email"] == me["email"] for row in body["items"] for line in row["lines"]
                   if line["user"] and line["user"]["id"] == me["id"])
    paged = client.get(f"/api/v1/tasks/{task_id}/ledger", query_string={"per_page": 1, "page": 2},
                       headers=owner).get_json()
    assert [row["id"] for row in paged["items"]] == [body["items"][1]["id"]]


def test_another_projects_task_ledger_is_404(client, owner, make_user, token_for):
    other = token_for(make_user("other@example.org"))
    project = funded(client, owner, amount=1000, tasks=1)
    task_id = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"][0]["id"]
    assert_problem(client.get(f"/api/v1/tasks/{task_id}/ledger", headers=other), 404)
    assert_problem(client.get("/api/v1/tasks/999999/ledger", headers=owner), 404)
