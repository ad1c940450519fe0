"""The incentive replay treats answers imported from elsewhere like our own (issue 20): priced under every
mechanism as if the project's rates had paid them, their `actual` 0 and their annotators marked external, while
what the replay says of the project's own annotators does not move."""
from __future__ import annotations

import pytest

from tests.factories import answer_in_turn, create_text_project, deposit, nxt

SCHEMA = {"tools": ["classify"], "labels": [{"id": "cat", "name": "Cat"}, {"id": "dog", "name": "Dog"},
                                           {"id": "bird", "name": "Bird"}]}
LABELS = ["cat", "dog", "bird"]
RATES = {"per_annotation": 10, "agreement_bonus": 90}
MECHANISMS = ["agreement", "gold", "peer_prediction", "posterior"]


def make_project(client, owner, items: int, gold: set[int] = frozenset(), **settings) -> dict:
    """A project of `items` tasks item-0.. ("item n"), the truth of item n being LABELS[n % 3]."""
    project = create_text_project(client, owner, label_schema=SCHEMA, visibility="public", **settings)
    rows = [{"external_id": f"item-{n}", "data": {"text": f"item {n}"},
             **({"gold": {"labels": [LABELS[n % 3]]}} if n in gold else {})} for n in range(items)]
    made = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner)
    assert made.status_code == 201, made.get_json()
    return project


def import_csv(client, project, owner, crowd: dict[str, dict[int, str]], created_at: str | None = None) -> None:
    """crowd: annotator -> item -> label, imported with the import endpoint as a CSV."""
    lines = ["external_id,annotator,label" + (",created_at" if created_at else "")]
    for worker, said in crowd.items():
        lines += [f"item-{n},{worker},{label}" + (f",{created_at}" if created_at else "") for n, label in said.items()]
    sent = client.post(f"/api/v1/projects/{project['id']}/answers/import", data="\n".join(lines) + "\n",
                       content_type="text/csv", headers=owner)
    assert sent.status_code == 201, sent.get_json()


def replayed(client, project, owner) -> dict[str, dict]:
    """The replay's rows by display name."""
    response = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner)
    assert response.status_code == 200, response.get_json()
    return {row["display_name"]: row for row in response.get_json()["annotators"]}


def test_an_imported_crowd_is_priced_by_every_mechanism_and_the_spammer_earns_least(client, owner):
    items = 24
    project = make_project(client, owner, items, overlap=3, rewards={**RATES, "mechanism": "peer_prediction"})
    truth = {n: LABELS[n % 3] for n in range(items)}
    wrong = {n: LABELS[(n + 1) % 3] for n in range(items)}
    crowd = {"careful-1": dict(truth),
             "careful-2": {**truth, 4: wrong[4], 16: wrong[16]},  # never "cat", so no item is a tie
             "careful-3": {**truth, 9: wrong[9]},
             "spammer": dict.fromkeys(range(items), "cat")}  # one label whatever the item
    import_csv(client, project, owner, crowd)
    rows = replayed(client, project, owner)
    assert set(rows) == set(crowd)
    assert all(row["external"] and row["actual"] == 0 and row["answers"] == items for row in rows.values())
    base = items * RATES["per_annotation"]
    assert all(row["by_mechanism"][m] >= base for row in rows.values() for m in MECHANISMS)  # the base, at least
    careful = [rows[name]["by_mechanism"] for name in crowd if name.startswith("careful")]
    spammer = rows["spammer"]["by_mechanism"]
    for mechanism in ("agreement", "peer_prediction"):
        assert spammer[mechanism] < min(c[mechanism] for c in careful), (mechanism, rows)
    # Agreement pays the spammer's bonus for the third of the items that are cats, and peer prediction pays an
    # uninformative constant answer nothing above its base.
    assert spammer["agreement"] == base + 8 * RATES["agreement_bonus"]
    assert spammer["peer_prediction"] == base
    assert careful[0]["agreement"] == items * (RATES["per_annotation"] + RATES["agreement_bonus"])
    assert careful[0]["peer_prediction"] > careful[1]["peer_prediction"] > base  # the careless pay for it


def test_one_small_task_priced_by_hand(app, client, owner, make_user, token_for):
    """Overlap 3, 10 base and a 90 bonus. item A: three imported answers (cat, cat, dog); item B: one imported
    answer alone; item T: one of ours and one imported, short of the overlap, so not settled."""
    project = make_project(client, owner, 3, overlap=3, rewards={**RATES, "mechanism": "agreement"})
    deposit(client, app, project["id"], owner, 1000)
    ours = token_for(make_user("native@example.org", name="Native"))
    lease = nxt(client, project, ours).get_json()
    said = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                       json={"result": {"labels": ["cat"]}}, headers=ours)
    assert said.status_code == 201, said.get_json()
    t = int(lease["task"]["data"]["text"].split()[1])
    a, b = [n for n in range(3) if n != t]
    import_csv(client, project, owner, {"w1": {a: "cat", b: "dog", t: "cat"}, "w2": {a: "cat"}, "w3": {a: "dog"}})
    rows = replayed(client, project, owner)
    # A settles with its three answers: the consensus is cat.
    #   agreement: 10 + 90 x agreement (1, 1, 0); gold: 10 + 90 x (0 + 1) / (0 + 1 + 1), no gold answered yet;
    #   peer prediction: nobody has a history yet, so no score and no bonus; posterior: 10 + 90 x the share of
    #   the answers saying the same (2/3, 2/3, 1/3).
    # B settles alone: agreeing with itself, 100; gold 55; no peer, 10; posterior 100. T: the base, 10.
    assert rows["w1"]["by_mechanism"] == {"agreement": 100 + 100 + 10, "gold": 55 + 55 + 10,
                                          "peer_prediction": 10 + 10 + 10, "posterior": 70 + 100 + 10}
    assert rows["w2"]["by_mechanism"] == {"agreement": 100, "gold": 55, "peer_prediction": 10, "posterior": 70}
    assert rows["w3"]["by_mechanism"] == {"agreement": 10, "gold": 55, "peer_prediction": 10, "posterior": 40}
    assert [rows[w]["answers"] for w in ("w1", "w2", "w3")] == [3, 1, 1]
    assert all(rows[w]["actual"] == 0 and rows[w]["external"] for w in ("w1", "w2", "w3"))
    # Ours: credited its base, not settled yet, and paid as the ledger paid it.
    assert rows["Native"] == {"user_id": rows["Native"]["user_id"], "display_name": "Native", "external": False,
                              "answers": 1, "actual": 10, "by_mechanism": dict.fromkeys(MECHANISMS, 10)}


def test_an_imported_answer_on_a_gold_task_is_scored_against_the_gold(client, owner):
    project = make_project(client, owner, 2, gold={0}, overlap=3, gold_ratio=0.5,
                           rewards={**RATES, "mechanism": "gold"})
    import_csv(client, project, owner, {"right": {0: "cat", 1: "dog"}, "wrong": {0: "bird", 1: "dog"}})
    rows = replayed(client, project, owner)
    # Gold (a = b = 1): the gold task first (its answers one at a time), then the other task on that history.
    # right: (1 + 1) / 3 on both; wrong: (0 + 1) / 3 on both.
    assert rows["right"]["by_mechanism"]["gold"] == 2 * (10 + int(90 * 2 / 3))
    assert rows["wrong"]["by_mechanism"]["gold"] == 2 * (10 + int(90 * 1 / 3))
    # Agreement: the gold task pays its gold score (1 or 0), the other task's consensus is dog (both right).
    assert rows["right"]["by_mechanism"]["agreement"] == 100 + 100
    assert rows["wrong"]["by_mechanism"]["agreement"] == 10 + 100


TASKS = 9
GOLD = {0, 4}


def native_label(who: int, n: int) -> str:
    """Ours: the first always right, the second wrong on every fourth item, the third always 'cat'."""
    if who == 2:
        return "cat"
    return LABELS[(n + 1) % 3] if who == 1 and n % 4 == 3 else LABELS[n % 3]


@pytest.mark.parametrize("mechanism, params", [("peer_prediction", {"window": 4, "scale": 2.0, "z": 0.5}),
                                               ("agreement", {}), ("gold", {"a": 2, "b": 1}), ("posterior", {})])
@pytest.mark.parametrize("imported_first, created_at", [(True, None), (False, None),
                                                        (False, "2025-01-01T00:00:00Z")],
                         ids=["imported-first", "imported-after", "imported-after-dated-before"])
def test_in_a_mixed_project_what_the_replay_says_of_our_annotators_does_not_move(
        app, client, owner, make_user, token_for, mechanism, params, imported_first, created_at):
    from sqlalchemy import delete

    from annotator.runtime import runtime
    from tasks.models import Annotation

    project = make_project(client, owner, TASKS, gold=GOLD, overlap=3, gold_ratio=0.3,
                           rewards={**RATES, "mechanism": mechanism, "mechanism_params": params})
    deposit(client, app, project["id"], owner, 100_000)
    people = [token_for(make_user(f"ours{n}@example.org", name=f"Ours {n}")) for n in range(3)]
    truth = {n: LABELS[n % 3] for n in range(TASKS)}
    crowd = {"ext-careful": truth, "ext-sloppy": {**truth, 1: "cat", 2: "cat"},
             "ext-spammer": dict.fromkeys(range(TASKS), "bird")}
    if imported_first:  # on the tasks before ours answer them: their answers come first on every task
        import_csv(client, project, owner, crowd, created_at)
    answer_in_turn(client, project, people,
                   lambda who, lease: native_label(who, int(lease["task"]["data"]["text"].split()[1])))
    if not imported_first:
        import_csv(client, project, owner, crowd, created_at)
    rows = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner).get_json()["annotators"]
    # The external annotators come after ours (paid nothing).
    assert [row["external"] for row in rows] == [False] * 3 + [True] * 3
    imported = {row["display_name"]: row for row in rows if row["external"]}
    assert set(imported) == set(crowd)
    assert all(row["actual"] == 0 and row["answers"] == TASKS for row in imported.values())
    assert all(row["by_mechanism"][m] >= TASKS * RATES["per_annotation"] for row in imported.values() for m in MECHANISMS)
    priced = {name: row["by_mechanism"][mechanism] for name, row in imported.items()}
    assert priced["ext-careful"] > priced["ext-spammer"], priced
    ours = {row["display_name"]: row for row in rows if not row["external"]}
    assert len(ours) == 3 and all(row["by_mechanism"][mechanism] == row["actual"] > 0 for row in ours.values())
    # Without the imported answers, the replay says exactly the same of ours, under every mechanism.
    with app.app_context():
        session = runtime().session_factory()
        session.execute(delete(Annotation).where(Annotation.assignment_id.is_(None)))
        session.commit()
        session.close()
    assert replayed(client, project, owner) == ours


def test_the_replay_scores_imported_tasks_in_one_pass_as_answer_scores_does_one_task_at_a_time(app, client, owner):
    """tasks.quality.scores.answer_scores_each (what the replay reads imported tasks' scores with) against
    answer_scores task by task, on labels and spans from a crowd, with a gold task among them."""
    import orjson
    from sqlalchemy import select

    from annotator.runtime import runtime
    from tasks.models import Project, Task
    from tasks.quality.scores import answer_scores, answer_scores_each

    project = create_text_project(client, owner, overlap=2, visibility="public")  # classify and span
    rows = [{"external_id": f"item-{n}", "data": {"text": f"the yellow warbler sang at dawn {n}"},
             **({"gold": {"labels": ["positive"]}} if n == 0 else {})} for n in range(4)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    said = [{"external_id": f"item-{n}", "annotator": f"w{k}", "result": {
        "labels": [["positive", "negative"][(n + k) % 2 if k < 2 else 0]],
        "spans": [{"start": 4, "end": 18 - k, "label": "species"}]}} for n in range(4) for k in range(3)]
    sent = client.post(f"/api/v1/projects/{project['id']}/answers/import", headers=owner,
                       data="\n".join(orjson.dumps(r).decode() for r in said), content_type="application/x-ndjson")
    assert sent.status_code == 201, sent.get_json()
    with app.app_context():
        session = runtime().session_factory()
        found = session.get(Project, project["id"])
        tasks = session.scalars(select(Task).where(Task.project_id == found.id).order_by(Task.id)).all()
        each = answer_scores_each(session, found, tasks)
        one_by_one = {task.id: answer_scores(session, found, task) for task in tasks}
        session.close()
    assert each == one_by_one
    assert len({s.value for scores in each.values() for s in scores.values()}) > 2  # not all alike


def test_an_imported_answer_a_reviewer_rejected_earns_nothing_under_any_mechanism(client, owner):
    project = make_project(client, owner, 3, overlap=3, rewards={**RATES, "mechanism": "agreement"})
    import_csv(client, project, owner, {"w1": {0: "cat", 1: "dog"}, "w2": {0: "cat", 1: "dog"}, "w3": {0: "dog"}})
    before = replayed(client, project, owner)
    tasks = {t["external_id"]: t["id"] for t in
             client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"]}
    answers = client.get(f"/api/v1/tasks/{tasks['item-1']}/annotations", headers=owner).get_json()["items"]
    rejected = next(a for a in answers if a["user"]["display_name"] == "w1")
    made = client.post(f"/api/v1/annotations/{rejected['id']}/review", json={"verdict": "reject", "note": "copied"},
                       headers=owner)
    assert made.status_code in (200, 201), made.get_json()
    after = replayed(client, project, owner)
    # w1's answer on item-1 is gone from every mechanism's pay; nobody else's pay moves, nor w1's other answer.
    assert before["w1"]["by_mechanism"] == before["w2"]["by_mechanism"]  # the same answers, the same pay
    for mechanism in MECHANISMS:
        assert RATES["per_annotation"] <= after["w1"]["by_mechanism"][mechanism] < before["w1"]["by_mechanism"][mechanism]
    assert {w: after[w]["by_mechanism"] for w in ("w2", "w3")} == {w: before[w]["by_mechanism"] for w in ("w2", "w3")}
    # The rejected answer has left the analysis (agreement, consensus, the replay's answers).
    assert (after["w1"]["answers"], before["w1"]["answers"]) == (1, 2) and after["w1"]["actual"] == 0
