"""Simulations through the API: queued (202), run by a real RQ worker, the result the simulator gives for the
same parameters, seen by its creator and administrators only; every bad input refused naming its field and
writing nothing."""
from __future__ import annotations

import pytest

from incentives import simulate
from tests.factories import create_text_project, run_simulations


def test_a_simulation_runs_in_the_worker_and_reports_every_mechanism(app, client, owner, make_user, token_for):
    body = {"crowd": {"expert": 6, "spammer": 3}, "tasks": 200, "overlap": 3, "gold_ratio": 0.1, "seed": 9,
            "rewards": {"per_annotation": 5, "agreement_bonus": 50, "mechanism": "peer_prediction",
                        "mechanism_params": {"window": 20}}}
    made = client.post("/api/v1/simulations", json=body, headers=owner)
    assert made.status_code == 202, made.get_json()
    assert made.get_json()["status"] == "queued" and made.get_json()["progress"] == 0.0
    run_simulations(app)
    done = client.get(f"/api/v1/simulations/{made.get_json()['id']}", headers=owner).get_json()
    assert done["status"] == "completed" and done["progress"] == 1.0 and done["finished_at"]
    expected = simulate.study({"expert": 6, "spammer": 3}, 200, 3, 0.1, seed=9,
                              rates={"per_annotation": 5, "agreement_bonus": 50},
                              mechanisms={"agreement": {}, "gold": {}, "peer_prediction": {"window": 20},
                                          "posterior": {}})
    assert done["result"] == expected
    ids = [m["id"] for m in done["result"]["mechanisms"]]
    assert ids == ["agreement", "gold", "peer_prediction", "posterior"]
    expert = done["result"]["mechanisms"][2]["by_strategy"]["expert"]
    assert set(expert) == {"agents", "answers", "pay_per_answer", "total", "share"} and expert["agents"] == 6
    # Only its creator and administrators see it.
    stranger = token_for(make_user("someone@example.org"))
    assert client.get(f"/api/v1/simulations/{done['id']}", headers=stranger).status_code == 404
    admin = token_for(make_user("root@example.org", admin=True))
    assert client.get(f"/api/v1/simulations/{done['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/simulations/987654", headers=owner).status_code == 404


def test_a_simulation_on_a_projects_taxonomy_uses_its_labels(app, client, owner):
    tree = [{"id": "a", "name": "A", "children": [{"id": "a1", "name": "A1"}, {"id": "a2", "name": "A2"}]},
            {"id": "b", "name": "B", "children": [{"id": "b1", "name": "B1"}]}]
    project = create_text_project(client, owner, label_schema={"tools": ["classify"], "labels": tree})
    made = client.post("/api/v1/simulations", json={"crowd": {"expert": 4}, "tasks": 50, "overlap": 2,
                                                    "project_id": project["id"]}, headers=owner)
    assert made.status_code == 202, made.get_json()
    assert made.get_json()["params"]["parents"] == [-1, 0, 0, -1, 3]
    run_simulations(app)
    done = client.get(f"/api/v1/simulations/{made.get_json()['id']}", headers=owner).get_json()
    assert done["result"] == simulate.study({"expert": 4}, 50, 2, 0.0, parents=[-1, 0, 0, -1, 3])


@pytest.mark.parametrize("change, field", [
    ({"crowd": {"wizard": 3}}, "crowd.wizard"),
    ({"crowd": {"expert": -1}}, "crowd.expert"),
    ({"crowd": {"expert": "3"}}, "crowd.expert"),
    ({"crowd": {}}, "crowd"),
    ({"crowd": {"expert": 0, "spammer": 0}}, "crowd"),
    ({"crowd": {"expert": 1001}}, "crowd"),
    ({"crowd": [1, 2]}, "crowd"),
    ({"tasks": 100_001}, "tasks"),
    ({"tasks": 0}, "tasks"),
    ({"tasks": 90_000, "overlap": 6}, "tasks"),
    ({"overlap": 9}, "overlap"),
    ({"gold_ratio": 1.5}, "gold_ratio"),
    ({"seed": -1}, "seed"),
    ({"rewards": {"mechanism": "lottery"}}, "rewards.mechanism"),
    ({"rewards": {"mechanism": "peer_prediction", "mechanism_params": {"window": 0}}},
     "rewards.mechanism_params.window"),
    ({"rewards": {"agreement_bonus": -5}}, "rewards.agreement_bonus"),
    ({"project_id": 999_999}, "project_id"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_queued(app, client, owner, change, field):
    from sqlalchemy import func, select

    from annotator.runtime import runtime
    from incentives.models import Simulation

    body = {"crowd": {"expert": 6, "spammer": 2}, "tasks": 100, "overlap": 3, **change}
    refused = client.post("/api/v1/simulations", json=body, headers=owner)
    assert refused.status_code == 422, refused.get_json()
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert field in str(refused.get_json()), refused.get_json()
    with app.app_context():
        session = runtime().session_factory()
        assert session.scalar(select(func.count()).select_from(Simulation)) == 0
        session.close()


def test_another_users_private_project_is_not_a_taxonomy_you_can_use(client, owner, make_user, token_for):
    project = create_text_project(client, owner, visibility="private")
    stranger = token_for(make_user("stranger@example.org"))
    refused = client.post("/api/v1/simulations", json={"crowd": {"expert": 3}, "tasks": 10, "overlap": 2,
                                                       "project_id": project["id"]}, headers=stranger)
    assert refused.status_code == 422 and "project_id" in str(refused.get_json())


def test_one_person_may_have_sixteen_simulations_waiting_then_429(app, client, owner, make_user, token_for):
    body = {"crowd": {"expert": 3}, "tasks": 10, "overlap": 2}
    for _ in range(16):
        assert client.post("/api/v1/simulations", json=body, headers=owner).status_code == 202
    refused = client.post("/api/v1/simulations", json=body, headers=owner)
    assert refused.status_code == 429 and refused.headers.get("Retry-After")
    other = token_for(make_user("other@example.org"))
    assert client.post("/api/v1/simulations", json=body, headers=other).status_code == 202  # per person
    run_simulations(app)
    assert client.post("/api/v1/simulations", json=body, headers=owner).status_code == 202  # finished ones free it


def test_a_project_with_dynamic_overlap_is_simulated_with_it_and_a_bad_one_is_refused(app, client, owner):
    project = create_text_project(client, owner, overlap=3, label_schema={"tools": ["classify"], "labels": [
        {"id": "a", "name": "A"}, {"id": "b", "name": "B"}, {"id": "c", "name": "C"}]},
        dynamic_overlap={"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.8})
    made = client.post("/api/v1/simulations", json={"crowd": {"expert": 6, "spammer": 2}, "tasks": 100,
                                                    "overlap": 3, "project_id": project["id"]}, headers=owner)
    assert made.status_code == 202, made.get_json()
    dynamic = made.get_json()["params"]["dynamic_overlap"]
    assert dynamic == {"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.8}
    run_simulations(app)
    done = client.get(f"/api/v1/simulations/{made.get_json()['id']}", headers=owner).get_json()
    assert done["result"] == simulate.study({"expert": 6, "spammer": 2}, 100, 3, 0.0, parents=[-1, -1, -1],
                                            dynamic=dynamic)
    assert 200 <= done["result"]["answers"] < 500  # between min and max answers per task
    refused = client.post("/api/v1/simulations", json={"crowd": {"expert": 6}, "tasks": 10, "overlap": 3,
                                                       "dynamic_overlap": {"min_overlap": 4, "max_overlap": 5,
                                                                           "confidence_target": 0.8}}, headers=owner)
    assert refused.status_code == 422 and "dynamic_overlap.min_overlap" in str(refused.get_json())
    too_big = client.post("/api/v1/simulations", json={"crowd": {"expert": 3}, "tasks": 10, "overlap": 3,
                                                       "project_id": project["id"]}, headers=owner)
    assert too_big.status_code == 422 and "project_id" in str(too_big.get_json())  # max_overlap 5 > 3 agents
