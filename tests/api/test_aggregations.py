"""A project chooses how its answers are inferred: every aggregation reaches the agreement and the consensus."""
from __future__ import annotations

import pytest

from tasks.models import AGGREGATIONS
from tests.factories import assert_problem


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_each_aggregation_infers_the_answers_and_says_so(client, owner, labelled, aggregation):
    project, task_ids = labelled
    changed = client.patch(f"/api/v1/projects/{project['id']}", json={"aggregation": aggregation}, headers=owner)
    assert changed.status_code == 200 and changed.get_json()["aggregation"] == aggregation
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert body["method"] == aggregation
    assert all(0 <= row["reliability"] <= 1 for row in body["per_annotator"])
    consensus = client.get(f"/api/v1/tasks/{task_ids[3]}/consensus", headers=owner).get_json()
    assert consensus["method"] == aggregation and consensus["result"] == {"labels": ["species"]}


@pytest.mark.parametrize("value", ["Dawid_Skene_Prior", "dawid_skene_priors", "auto", "", None, 3])
def test_an_unknown_aggregation_is_422_naming_the_field(client, owner, labelled, value):
    project, _ = labelled
    response = client.patch(f"/api/v1/projects/{project['id']}", json={"aggregation": value}, headers=owner)
    assert "aggregation" in assert_problem(response, 422)["errors"]
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["aggregation"] == "majority"
