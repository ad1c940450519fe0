"""A project's reward mechanism through the API: listed with defaults, chosen and validated naming the field,
always reported, and named by the wallet lines of the answers it settles."""
from __future__ import annotations

import itertools

import pytest

from tests.factories import answer_in_turn, create_text_project, deposit, nxt, wallet


def test_the_mechanisms_are_listed_with_their_defaults(client, owner):
    items = client.get("/api/v1/mechanisms", headers=owner).get_json()["items"]
    by = {m["id"]: m for m in items}
    assert set(by) == {"agreement", "gold", "peer_prediction", "posterior"}
    assert by["peer_prediction"]["params"] == {"window": 50, "scale": 2.5, "z": 2.0, "margin": 0.0}
    assert by["peer_prediction"]["limits"]["window"] == [1, 1000] and by["peer_prediction"]["needs_labels"]
    assert [m["id"] for m in items if m["default"]] == ["agreement"]
    crowds = client.get("/api/v1/mechanisms", headers=owner).get_json()["standard_crowds"]
    assert crowds["30% spammers"] == {"expert": 14, "spammer": 6} and len(crowds) == 8


def test_a_new_project_gets_the_recommended_mechanism_for_its_answers(client, owner):
    labels_only = create_text_project(client, owner, label_schema={"tools": ["classify"], "labels": [
        {"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}, rewards={"per_annotation": 5, "agreement_bonus": 10})
    assert labels_only["rewards"]["mechanism"] == "peer_prediction"
    assert labels_only["rewards"]["mechanism_params"] == {"window": 50, "scale": 2.5, "z": 2.0, "margin": 0.0}
    several = create_text_project(client, owner, label_schema={"tools": ["classify"], "multi_label": True, "labels": [
        {"id": "a", "name": "A"}, {"id": "b", "name": "B"}]})
    assert several["rewards"]["mechanism"] == "agreement"
    chosen = create_text_project(client, owner, label_schema={"tools": ["classify"], "labels": [
        {"id": "a", "name": "A"}]}, rewards={"per_annotation": 5, "agreement_bonus": 10, "mechanism": "gold"})
    assert chosen["rewards"]["mechanism"] == "gold" and chosen["rewards"]["mechanism_params"] == {"a": 1.0, "b": 1.0}


def test_a_project_always_reports_its_mechanism_and_a_new_choice_starts_from_its_defaults(client, owner):
    project = create_text_project(client, owner, rewards={"per_annotation": 5, "agreement_bonus": 10})
    shown = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]
    assert shown["mechanism"] == "agreement" and shown["mechanism_params"] == {}
    changed = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {
        "mechanism": "peer_prediction", "mechanism_params": {"window": 20}}}, headers=owner)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["rewards"] == {"per_annotation": 5, "agreement_bonus": 10,
                                             "mechanism": "peer_prediction",
                                             "mechanism_params": {"window": 20, "scale": 2.5, "z": 2.0, "margin": 0.0}}
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
                                               ("posterior", {}), ("agreement", {}), ("gold", {"a": 2, "b": 1})])
def test_wallets_equal_the_simulators_pricing_of_the_same_answers(app, client, owner, make_user, token_for,
                                                                   mechanism, params):
    import numpy as np

    from incentives import simulate as sim
    from incentives.models import LedgerTransaction
    from tasks.quality.answers import Labels
    from tasks.schema import parse_label_schema

    rates = {"per_annotation": 10, "agreement_bonus": 90}
    schema = {"tools": ["classify"], "labels": TREE}
    project = create_text_project(client, owner, label_schema=schema, overlap=3, visibility="public", gold_ratio=0.2,
                                  rewards={**rates, "mechanism": mechanism, "mechanism_params": params})
    truths = [LEAVES[(n * 7) % len(LEAVES)] for n in range(TASKS)]
    gold = {n for n in range(TASKS) if n % 6 == 0}  # their truth known to the platform
    made = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[
        {"data": {"text": f"sighting {n}"}, **({"gold": {"labels": [truths[n]]}} if n in gold else {})}
        for n in range(TASKS)], headers=owner)
    assert made.status_code in (200, 201), made.get_json()
    deposit(client, app, project["id"], owner, 100_000)
    people = [token_for(make_user(f"agent{n}@example.org")) for n in range(len(STRATEGY))]
    rng = np.random.default_rng(5)
    answer_in_turn(client, project, people, lambda who, lease: agent_label(  # round robin, until none is left
        STRATEGY[who], truths[int(lease["task"]["data"]["text"].split()[1])], rng))
    # The same answers, in the order they settled (a task's answers together when it completed, a gold task's
    # one at a time against those before), priced by the simulator's functions.
    from annotator.runtime import runtime
    from sqlalchemy import select

    from tasks.models import Annotation, Task
    from tasks.quality.agreement import Taxonomy
    labels = Labels.of(parse_label_schema(schema))
    taxonomy = Taxonomy(labels.parent)
    with app.app_context():
        session = runtime().session_factory()
        settled = session.execute(select(LedgerTransaction.task_id, Annotation.id, LedgerTransaction.details)
                                  .join(Annotation, Annotation.id == LedgerTransaction.annotation_id)
                                  .where(LedgerTransaction.kind == "bonus", LedgerTransaction.project_id == project["id"])
                                  .order_by(LedgerTransaction.id)).all()
        answers = {row.id: row for row in session.execute(
            select(Annotation.id, Annotation.task_id, Annotation.user_id, Annotation.result, Task.data, Task.is_gold)
            .join(Task, Task.id == Annotation.task_id).where(Annotation.project_id == project["id"]))}
        session.close()
    assert len(settled) == len(answers)  # every answer settled
    users = sorted({row.user_id for row in answers.values()})
    bonuses = {a: details["base"] + details["bonus"] for _, a, details in settled}
    # A completed task's answers settle in one go; a gold task's each on its own, as it arrives.
    groups = [[a for _, a, _ in run] for _, run in itertools.groupby(
        settled, key=lambda row: (row[0], row[1]) if answers[row[1]].is_gold else (row[0], None))]
    rows = {annotation_id: n for n, annotation_id in enumerate(a for group in groups for a in group)}
    events = []
    for group in groups:
        task_id = answers[group[0]].task_id
        seen = sorted(a for a, row in answers.items() if row.task_id == task_id and a <= max(group))
        first = answers[seen[0]]
        truth = labels.index[truths[int(first.data["text"].split()[1])]] if first.is_gold else None
        task = sim.settlement(taxonomy, np.array([answers[a].user_id for a in seen]),
                              np.array([labels.index[answers[a].result["labels"][0]] for a in seen]), truth)
        events.append(sim.Event(task, np.array([seen.index(a) for a in group]), np.array([rows[a] for a in group])))
    assert any(answers[g[0]].is_gold for g in groups) and any(not answers[g[0]].is_gold for g in groups)
    paid = sim.price_events(events, mechanism, params, rates, len(rows))
    assert {a: int(paid[rows[a]]) for a in answers} == bonuses  # answer by answer
    expected = {user_id: int(sum(paid[rows[a]] for a, row in answers.items() if row.user_id == user_id))
                for user_id in users}
    got = {}
    for headers in people:
        me = client.get("/api/v1/me", headers=headers).get_json()["id"]
        shown = wallet(client, headers)
        got[me] = shown["balance"] + shown["pending"]
    assert got == expected
    assert len(set(expected.values())) > 1  # the strategies earned different amounts
    # The replay prices the same settlements again: under the project's own mechanism it pays what the ledger
    # paid, to the minor unit; the others differ.
    replayed = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner).get_json()
    assert replayed["own"] == mechanism and replayed["mechanisms"] == ["agreement", "gold", "peer_prediction",
                                                                        "posterior"]
    assert {row["user_id"]: row["actual"] for row in replayed["annotators"]} == got
    assert all(row["by_mechanism"][mechanism] == row["actual"] for row in replayed["annotators"])
    assert {row["user_id"]: row["answers"] for row in replayed["annotators"]} == {
        u: sum(1 for row in answers.values() if row.user_id == u) for u in users}
    others = [m for m in replayed["mechanisms"] if m != mechanism]
    assert any(row["by_mechanism"][m] != row["actual"] for row in replayed["annotators"] for m in others)
    # The wallet lines name the mechanism and its numbers.
    entries = client.get("/api/v1/wallet/entries?per_page=100", headers=people[0]).get_json()["items"]
    bonus = next(e for e in entries if e["kind"] == "bonus")
    assert bonus["details"]["mechanism"]["mechanism"] == mechanism
    assert bonus["details"]["rule_version"] == 3


def test_a_replay_of_a_project_without_answers_is_an_empty_table_and_strangers_get_404(client, owner, make_user,
                                                                                      token_for):
    project = create_text_project(client, owner, rewards={"per_annotation": 5, "agreement_bonus": 10})
    empty = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner)
    assert empty.status_code == 200
    assert empty.get_json() == {"mechanisms": ["agreement", "gold", "peer_prediction", "posterior"],
                                "own": "agreement", "annotators": []}
    stranger = token_for(make_user("stranger@example.org"))
    hidden = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=stranger)
    assert hidden.status_code == 404
    assert client.get("/api/v1/projects/999999/incentives/replay", headers=owner).status_code == 404


@pytest.mark.parametrize("mechanism, reads", [("agreement", 0), ("posterior", 0), ("gold", 1),
                                              ("peer_prediction", {"sqlite": 3, "postgresql": 1})])
def test_pricing_a_settlement_reads_only_what_its_mechanism_needs(app, client, owner, annotators, mechanism, reads):
    """The default adds no query to the submit that settles a task; gold one, peer prediction one per worker (on
    PostgreSQL one for all of them)."""
    from sqlalchemy import event, select

    from annotator.runtime import runtime
    from incentives import pricing
    from tasks.models import Annotation, Project, Task
    from tasks.projects import current_schema

    project = create_text_project(client, owner, overlap=3, visibility="public", label_schema={
        "tools": ["classify"], "labels": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]},
        rewards={"per_annotation": 5, "agreement_bonus": 10, "mechanism": mechanism})
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "one"}}], headers=owner)
    deposit(client, app, project["id"], owner, 1000)
    for headers in annotators:
        lease = nxt(client, project, headers).get_json()
        client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                    json={"result": {"labels": ["a"]}}, headers=headers)
    engine = runtime(app).engine
    with runtime(app).session_factory() as session:
        found = session.get(Project, project["id"])
        task = session.scalars(select(Task).where(Task.project_id == found.id)).one()
        rows = [(a.id, a.user_id, a.result) for a in session.scalars(select(Annotation).where(
            Annotation.task_id == task.id))]
        current_schema(found)  # the schema cache is warm in a running server
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            priced = pricing.price_task(session, found, task, rows, {})
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(priced) == 3
    if isinstance(reads, dict):
        reads = reads[engine.dialect.name]
    assert len(seen) == reads, seen


def test_a_project_stored_with_a_retired_parameter_still_reads_and_patches(app, client, owner):
    from annotator.runtime import runtime
    from tasks.models import Project

    project = create_text_project(client, owner, label_schema={"tools": ["classify"], "labels": [
        {"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}, rewards={"per_annotation": 5, "agreement_bonus": 10})
    with runtime(app).session_factory() as session:  # as an older version might have written it
        row = session.get(Project, project["id"])
        row.rewards = {**row.rewards, "mechanism_params": {"window": 7, "retired": 3}}
        session.commit()
    shown = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]
    assert shown["mechanism_params"] == {"window": 7, "scale": 2.5, "z": 2.0, "margin": 0.0}
    patched = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"per_annotation": 6}}, headers=owner)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["rewards"]["mechanism_params"]["window"] == 7
    refused = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"mechanism_params": {"retired": 1}}},
                           headers=owner)
    assert refused.status_code == 422 and "rewards.mechanism_params.retired" in str(refused.get_json())
