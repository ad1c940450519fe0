"""A project's reward mechanism through the API: listed with defaults, chosen and validated naming the field,
always reported, and named by the wallet lines of the answers it settles."""
from __future__ import annotations

import pytest

from tests.factories import create_text_project, nxt, wallet


def test_the_mechanisms_are_listed_with_their_defaults(client, owner):
    items = client.get("/api/v1/mechanisms", headers=owner).get_json()["items"]
    by = {m["id"]: m for m in items}
    assert set(by) == {"agreement", "gold", "peer_prediction", "posterior"}
    assert by["peer_prediction"]["params"] == {"window": 50, "scale": 1.5}
    assert by["peer_prediction"]["limits"]["window"] == [1, 1000] and by["peer_prediction"]["needs_labels"]
    assert [m["id"] for m in items if m["default"]] == ["agreement"]


def test_a_project_always_reports_its_mechanism_and_a_new_choice_starts_from_its_defaults(client, owner):
    project = create_text_project(client, owner, rewards={"per_annotation": 5, "agreement_bonus": 10})
    shown = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]
    assert shown["mechanism"] == "agreement" and shown["mechanism_params"] == {}
    changed = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {
        "mechanism": "peer_prediction", "mechanism_params": {"window": 20}}}, headers=owner)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["rewards"] == {"per_annotation": 5, "agreement_bonus": 10,
                                             "mechanism": "peer_prediction",
                                             "mechanism_params": {"window": 20, "scale": 1.5}}
    again = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"mechanism": "gold"}}, headers=owner)
    assert again.get_json()["rewards"]["mechanism_params"] == {"a": 1.0, "b": 1.0}


@pytest.mark.parametrize("rewards, field", [
    ({"mechanism": "lottery"}, "rewards.mechanism"),
    ({"mechanism": "gold", "mechanism_params": {"alpha": 1}}, "rewards.mechanism_params.alpha"),
    ({"mechanism": "peer_prediction", "mechanism_params": {"window": 0}}, "rewards.mechanism_params.window"),
    ({"mechanism": "peer_prediction", "mechanism_params": {"scale": "big"}}, "rewards.mechanism_params.scale"),
    ({"mechanism": "peer_prediction", "mechanism_params": [1]}, "rewards.mechanism_params"),
])
def test_a_bad_mechanism_or_parameter_is_refused_naming_it_and_nothing_changes(client, owner, rewards, field):
    project = create_text_project(client, owner, rewards={"per_annotation": 5, "agreement_bonus": 10})
    refused = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": rewards}, headers=owner)
    assert refused.status_code == 422
    body = refused.get_json()
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert field in str(body), body
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]["mechanism"] == "agreement"
    made = client.post("/api/v1/projects", json={
        "name": "Bad rewards", "media_type": "text", "label_schema": {"tools": ["classify"], "labels": [
            {"id": "a", "name": "A"}]}, "rewards": {"per_annotation": 1, "agreement_bonus": 1, **rewards}}, headers=owner)
    assert made.status_code == 422 and field in str(made.get_json())
    names = [p["name"] for p in client.get("/api/v1/projects", headers=owner).get_json()["items"]]
    assert "Bad rewards" not in names  # no half-made project


def test_peer_prediction_needs_one_whole_item_label_per_answer(client, owner):
    made = client.post("/api/v1/projects", json={
        "name": "Boxes", "media_type": "image", "label_schema": {"tools": ["bbox"], "labels": [{"id": "a", "name": "A"}]},
        "rewards": {"per_annotation": 1, "agreement_bonus": 1, "mechanism": "peer_prediction"}}, headers=owner)
    assert made.status_code == 422 and "rewards.mechanism" in str(made.get_json())


TREE = [{"id": "bird", "name": "Bird", "children": [
            {"id": "warbler", "name": "Warbler", "children": [{"id": "yellow", "name": "Yellow"}, {"id": "willow", "name": "Willow"}]},
            {"id": "sparrow", "name": "Sparrow", "children": [{"id": "tree", "name": "Tree"}, {"id": "house", "name": "House"}]}]},
        {"id": "insect", "name": "Insect", "children": [
            {"id": "beetle", "name": "Beetle", "children": [{"id": "stag", "name": "Stag"}, {"id": "ladybird", "name": "Ladybird"}]}]}]
LEAVES = ["yellow", "willow", "tree", "house", "stag", "ladybird"]
SIBLINGS = {"yellow": "willow", "willow": "yellow", "tree": "house", "house": "tree", "stag": "ladybird", "ladybird": "stag"}
STRATEGY = ["expert", "expert", "expert", "spammer", "constant"]
TASKS = 24


def agent_label(strategy: str, truth: str, rng) -> str:
    """The simulator's strategies in small: an expert is right 85% of the time, else names the sibling."""
    if strategy == "expert":
        return truth if rng.random() < 0.85 else SIBLINGS[truth]
    if strategy == "spammer":
        return LEAVES[int(rng.integers(len(LEAVES)))]
    return "yellow"


@pytest.mark.parametrize("mechanism, params", [("peer_prediction", {"window": 6, "scale": 2.0}),
                                               ("posterior", {}), ("agreement", {})])
def test_wallets_equal_the_simulators_pricing_of_the_same_answers(app, client, owner, make_user, token_for,
                                                                   mechanism, params):
    import numpy as np

    from incentives import simulate as sim
    from incentives.models import LedgerTransaction
    from tasks.quality.answers import Labels
    from tasks.schema import parse_label_schema

    rates = {"per_annotation": 10, "agreement_bonus": 90}
    schema = {"tools": ["classify"], "labels": TREE}
    project = create_text_project(client, owner, label_schema=schema, overlap=3, visibility="public",
                                  rewards={**rates, "mechanism": mechanism, "mechanism_params": params})
    truths = [LEAVES[(n * 7) % len(LEAVES)] for n in range(TASKS)]
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": f"sighting {n}"}}
                                                                 for n in range(TASKS)], headers=owner)
    assert client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": 100_000},
                       headers=owner).status_code == 201
    people = [token_for(make_user(f"agent{n}@example.org")) for n in range(len(STRATEGY))]
    rng = np.random.default_rng(5)
    busy = True
    while busy:  # round robin: each agent takes the next task it is given, until none is left for anyone
        busy = False
        for who, headers in enumerate(people):
            lease = nxt(client, project, headers)
            if lease.status_code != 200:
                continue
            busy = True
            body = lease.get_json()
            truth = truths[int(body["task"]["data"]["text"].split()[1])]
            said = client.post(f"/api/v1/assignments/{body['assignment']['id']}/annotation",
                               json={"result": {"labels": [agent_label(STRATEGY[who], truth, rng)]}}, headers=headers)
            assert said.status_code == 201, said.get_json()
    # The same answers, tasks in the order they settled, priced by the simulator's functions.
    labels = Labels.of(parse_label_schema(schema))
    from annotator.runtime import runtime
    from sqlalchemy import select

    from tasks.models import Annotation, Task
    with app.app_context():
        session = runtime().session_factory()
        settled = session.execute(select(LedgerTransaction.task_id, Annotation.user_id, Annotation.result, Task.data)
                                  .join(Annotation, Annotation.id == LedgerTransaction.annotation_id)
                                  .join(Task, Task.id == Annotation.task_id)
                                  .where(LedgerTransaction.kind == "bonus", LedgerTransaction.project_id == project["id"])
                                  .order_by(LedgerTransaction.id)).all()
        session.close()
    order = list(dict.fromkeys(task_id for task_id, *_ in settled))
    assert len(order) == TASKS and len(settled) == TASKS * 3
    users = sorted({user_id for _, user_id, *_ in settled})
    rows = sorted(settled, key=lambda r: order.index(r[0]))
    crowd = sim.Crowd(truth=np.array([labels.index[truths[int(next(r[3] for r in rows if r[0] == t)["text"].split()[1])]]
                                      for t in order]),
                      gold=np.zeros(TASKS, dtype=bool), task=np.array([order.index(r[0]) for r in rows]),
                      worker=np.array([users.index(r[1]) for r in rows]),
                      label=np.array([labels.index[r[2]["labels"][0]] for r in rows]),
                      strategy=["expert"] * len(users), n_labels=len(labels.ids))
    given = sim.inputs(crowd, labels.parent, method="majority")
    paid = sim.price_crowd(crowd, given, mechanism, params, rates)
    expected = {user_id: int(paid[crowd.worker == n].sum()) for n, user_id in enumerate(users)}
    got = {}
    for headers in people:
        me = client.get("/api/v1/me", headers=headers).get_json()["id"]
        shown = wallet(client, headers)
        got[me] = shown["balance"] + shown["pending"]
    assert got == expected
    assert len(set(expected.values())) > 1  # the strategies earned different amounts
    # The wallet lines name the mechanism and its numbers.
    entries = client.get("/api/v1/wallet/entries?per_page=100", headers=people[0]).get_json()["items"]
    bonus = next(e for e in entries if e["kind"] == "bonus")
    assert bonus["details"]["mechanism"]["mechanism"] == mechanism
    assert bonus["details"]["rule_version"] == 3
