"""Skills per subtree and skill routing (issue 22): estimates from the consensus and from gold, the API for owners
and for annotators themselves, `routing = skill` handing a proven annotator their subtree's unsure tasks first,
and the bad input around them."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from annotator.runtime import runtime
from tasks import jobs, skills
from tasks.projects import current_schema
from tasks.models import Annotation, Assignment, Project, Qualification, Task
from tests.factories import (FIELD_CROWD, answer, assert_problem, deposit, field_guide_project, nxt, vehicle_project,
                             verified)

WARBLERS, RAPTORS = ("willow_warbler", "chiffchaff"), ("kestrel", "buzzard")
# Ten of each: ten right answers that each weigh 2/3 (a majority of 2 in 3) prove an annotator (low end 0.62).
TRUTHS = [WARBLERS[n % 2] for n in range(10)] + [RAPTORS[n % 2] for n in range(10)]


def _quantile(a: float, b: float, q: float) -> float:
    """The Beta(a, b) quantile by integrating its density on a fine grid (no scipy): the reference."""
    x = np.linspace(0, 1, 200_001)
    density = x ** (a - 1) * (1 - x) ** (b - 1)
    cdf = np.concatenate([[0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(x))])
    return float(np.interp(q, cdf / cdf[-1], x))


@pytest.mark.parametrize("successes,trials", [(8, 10), (10, 10), (0, 3), (2.5, 4), (45, 50)])
def test_the_beta_posterior_matches_an_independent_integration(successes, trials):
    mean, low, high = skills.beta_posterior(successes, trials)
    a, b = 1 + successes, 1 + trials - successes
    assert mean == pytest.approx(a / (a + b))
    assert low == pytest.approx(_quantile(a, b, 0.025), abs=2e-4)
    assert high == pytest.approx(_quantile(a, b, 0.975), abs=2e-4)
    if trials == successes:  # Beta(n + 1, 1): the closed form x^(n+1)
        assert low == pytest.approx(0.025 ** (1 / (trials + 1)))


def test_evidence_counts_for_every_node_on_the_reference_path_and_thin_subtrees_are_left_out(app):
    schema_project = Project(label_schema={"tools": ["classify"], "labels": [
        {"id": "warbler", "name": "W", "children": [{"id": "willow_warbler", "name": "WW"},
                                                    {"id": "chiffchaff", "name": "C"}]},
        {"id": "raptor", "name": "R", "children": [{"id": "kestrel", "name": "K"}]}]}, schema_version=1, id=0)
    schema = current_schema(schema_project)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    # (user, reference, credit, when, the consensus's confidence or None for gold)
    evidence = [(1, ["willow_warbler"], 1.0, at, None), (1, ["chiffchaff"], 1.0, at + dt.timedelta(days=1), 0.5),
                (1, ["willow_warbler"], 0.0, at, 1.0), (1, ["kestrel"], 1.0, at, None), (2, ["kestrel"], 1.0, at, None)]
    found = {(e.user_id, e.label): e for e in skills.estimate(schema, evidence)}
    # Annotator 1: 4 answers in all, 3 under "warbler"; species and kestrel have too few.
    assert set(found) == {(1, skills.WHOLE), (1, "warbler")}
    warbler = found[(1, "warbler")]
    assert warbler.answers == 3 and warbler.last_evidence_at == at + dt.timedelta(days=1)
    # Weighted: gold 1 (right), a consensus of 0.5 (right), one of 1.0 (wrong): Beta(1 + 1.5, 1 + 1).
    assert warbler.accuracy == pytest.approx(2.5 / 4.5)
    assert found[(1, skills.WHOLE)].accuracy == pytest.approx(3.5 / 5.5)


def test_enough_gold_in_a_subtree_measures_it_alone():
    schema = current_schema(Project(label_schema={"tools": ["classify"], "labels": [
        {"id": "raptor", "name": "R", "children": [{"id": "kestrel", "name": "K"}]}]}, schema_version=1, id=0))
    at = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    gold = [(1, ["kestrel"], 1.0, at, None)] * skills.MIN_GOLD
    wrong_consensus = [(1, ["kestrel"], 0.0, at, 0.9)] * 10  # a crowd that is sure and wrong
    found = {e.label: e for e in skills.estimate(schema, gold + wrong_consensus)}
    assert found["raptor"].answers == skills.MIN_GOLD
    assert found["raptor"].accuracy == pytest.approx((1 + skills.MIN_GOLD) / (2 + skills.MIN_GOLD))
    fewer = {e.label: e for e in skills.estimate(schema, gold[1:] + wrong_consensus)}
    assert fewer["raptor"].answers == skills.MIN_GOLD - 1 + 10 and fewer["raptor"].accuracy < 0.5


def _crowd(make_user, token_for):
    return {name: token_for(make_user(f"{name}@example.org", name=name)) for name in FIELD_CROWD}


def _answer_all(client, project, truth_of, crowd, only=None):
    """Each of the crowd takes tasks until none is left and answers as its FIELD_CROWD rule says."""
    for name, headers in crowd.items():
        if only is not None and name not in only:
            continue
        while (response := nxt(client, project, headers)).status_code == 200:
            lease = response.get_json()
            assert answer(client, lease, headers, label=FIELD_CROWD[name](truth_of[lease["task"]["id"]])
                          ).status_code == 201


def _user_id(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def test_skills_per_subtree_from_the_consensus(client, owner, make_user, token_for):
    crowd = _crowd(make_user, token_for)
    project, truth_of = field_guide_project(client, owner, TRUTHS)
    _answer_all(client, project, truth_of, crowd)
    response = client.get(f"/api/v1/projects/{project['id']}/skills", headers=owner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stale"] is False and body["proven_low"] == skills.PROVEN_LOW
    by = {(row["user_id"], row["label"]): row for row in body["items"]}
    expert, raptors, rounder = (_user_id(client, crowd[name]) for name in FIELD_CROWD)
    # Every task's majority holds 2 of 3 answers: each answer weighs 2/3. The warbler expert: all 10 warblers right
    # (Beta(1 + 10 x 2/3, 1)), every raptor wrong (Beta(1, 1 + 10 x 2/3)).
    weight = 10 * 2 / 3
    assert by[(expert, "warbler")]["answers"] == 10
    assert by[(expert, "warbler")]["accuracy"] == pytest.approx((1 + weight) / (2 + weight), abs=1e-4)
    assert by[(expert, "warbler")]["low"] == pytest.approx(0.025 ** (1 / (1 + weight)), abs=1e-4)
    assert by[(expert, "raptor")]["accuracy"] == pytest.approx(1 / (2 + weight), abs=1e-4)
    assert by[(expert, None)]["answers"] == 20 and by[(expert, None)]["accuracy"] == pytest.approx(0.5, abs=1e-4)
    assert by[(raptors, "raptor")]["accuracy"] > 0.85 > 0.15 > by[(raptors, "warbler")]["accuracy"]
    assert by[(rounder, "warbler")]["low"] >= skills.PROVEN_LOW and by[(rounder, "raptor")]["low"] >= skills.PROVEN_LOW
    # Species with 5 answers each are listed too; the expert's own view is the same numbers.
    assert by[(expert, "willow_warbler")]["answers"] == 5
    mine = client.get(f"/api/v1/me/skills?project_id={project['id']}", headers=crowd["warbler_expert"]).get_json()
    assert {(row["user_id"], row["label"]) for row in mine["items"]} == {key for key in by if key[0] == expert}
    one = client.get(f"/api/v1/projects/{project['id']}/skills?user_id={raptors}", headers=owner).get_json()
    assert {row["user_id"] for row in one["items"]} == {raptors}


def test_gold_answers_are_evidence_in_the_gold_labels_subtree(client, owner, make_user, token_for):
    crowd = _crowd(make_user, token_for)
    project, _ = field_guide_project(client, owner, [], qualification={"warmup_gold": 4, "min_gold_accuracy": 0.0})
    gold = [{"data": {"text": f"gold {n}"}, "gold": {"labels": [RAPTORS[n % 2]]}} for n in range(4)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=gold, headers=owner).status_code == 201
    expert = crowd["warbler_expert"]
    tasks = client.get(f"/api/v1/projects/{project['id']}/tasks?per_page=50", headers=owner).get_json()["items"]
    truth = {task["id"]: RAPTORS[int(task["data"]["text"].split()[-1]) % 2] for task in tasks}
    answered = 0
    while (response := nxt(client, project, expert)).status_code == 200:
        lease = response.get_json()
        assert answer(client, lease, expert, label=FIELD_CROWD["warbler_expert"](truth[lease["task"]["id"]])
                      ).status_code == 201
        answered += 1
    assert answered == 4
    rows = client.get(f"/api/v1/me/skills?project_id={project['id']}", headers=expert).get_json()["items"]
    by = {row["label"]: row for row in rows}
    assert set(by) == {None, "raptor"}  # two gold tasks per species: below MIN_ANSWERS each
    assert by["raptor"]["answers"] == 4 and by["raptor"]["accuracy"] == pytest.approx(1 / 6, abs=1e-4)


def test_large_projects_keep_skills_from_the_quality_worker(app, client, owner, make_user, token_for):
    crowd = _crowd(make_user, token_for)
    project, truth_of = field_guide_project(client, owner, TRUTHS[:6])
    _answer_all(client, project, truth_of, crowd)
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5
    first = client.get(f"/api/v1/projects/{project['id']}/skills", headers=owner).get_json()
    assert first == {**first, "items": [], "stale": True}  # nothing kept yet; a computation is queued
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]
    kept = client.get(f"/api/v1/projects/{project['id']}/skills", headers=owner).get_json()
    assert kept["stale"] is False and len(kept["items"]) > 0
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 10_000
    assert client.get(f"/api/v1/projects/{project['id']}/skills", headers=owner).get_json()["items"] == kept["items"]


def _routed_setup(app, client, owner, make_user, token_for):
    """A skill-routed project whose crowd answered TRUTHS (the warbler expert proven in warblers only, the raptor
    expert in raptors, the all-rounder in both); before their skills are kept, two newcomers answer three new tasks so
    their answers point into the subtrees with different doubt; then the minutely refresh keeps the skills."""
    crowd = _crowd(make_user, token_for)
    project, truth_of = field_guide_project(client, owner, TRUTHS, routing="skill")
    assert project["routing"] == "skill"
    _answer_all(client, project, truth_of, crowd)
    newcomers = [token_for(make_user(f"new{n}@example.org")) for n in range(2)]
    rows = [{"data": {"text": f"new sighting {n}"}} for n in range(5)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    # Split warbler (unsure: 0.67), one warbler answer (0.5), agreed kestrel (0.33); two tasks left fresh. Nobody is
    # proven yet (no skills kept): the ring, so the second newcomer is offered the three begun tasks first.
    routed = []
    for label in ("willow_warbler", "chiffchaff", "kestrel"):
        lease = nxt(client, project, newcomers[0]).get_json()
        assert answer(client, lease, newcomers[0], label=label).status_code == 201
        routed.append(lease["task"]["id"])
    second = {routed[0]: "chiffchaff", routed[1]: None, routed[2]: "kestrel"}
    for _ in range(3):
        lease = nxt(client, project, newcomers[1]).get_json()
        label = second[lease["task"]["id"]]
        if label is None:
            client.post(f"/api/v1/assignments/{lease['assignment']['id']}/skip", json={}, headers=newcomers[1])
        else:
            assert answer(client, lease, newcomers[1], label=label).status_code == 201
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]
    return project, crowd, routed


def test_skill_routing_hands_a_proven_annotator_their_subtrees_most_unsure_tasks_first(app, client, owner, make_user,
                                                                                        token_for):
    project, crowd, (split, single, agreed) = _routed_setup(app, client, owner, make_user, token_for)
    with app.app_context():
        session = runtime().session_factory()
        stored = {t.id: (t.route_label, round(t.route_need, 2)) for t in session.query(Task).filter(
            Task.id.in_([split, single, agreed]))}
        session.close()
    assert stored == {split: ("willow_warbler", 0.67), single: ("chiffchaff", 0.5), agreed: ("kestrel", 0.33)}
    expert = crowd["warbler_expert"]
    order = []
    for _ in range(2):
        lease = nxt(client, project, expert).get_json()
        order.append(lease["task"]["id"])
        assert answer(client, lease, expert, label="willow_warbler").status_code == 201
    assert order == [split, single]  # the warblers, most unsure first; the agreed kestrel is not theirs to judge
    # Nothing unsure left among warblers: the ring, where the kestrel begun waits for those proven in raptors.
    assert nxt(client, project, expert).get_json()["task"]["id"] not in (split, single, agreed)


def test_begun_tasks_wait_for_the_proven_and_nobody_starves(app, client, owner, make_user, token_for):
    project, crowd, (split, single, agreed) = _routed_setup(app, client, owner, make_user, token_for)
    # The raptor expert is proven in raptors: the agreed kestrel first though it is the least unsure task.
    assert nxt(client, project, crowd["raptor_expert"]).get_json()["task"]["id"] == agreed
    # A newcomer proven nowhere: the begun tasks (warblers and raptors, where others are proven) wait for the
    # experts; the two fresh tasks come first, then, with nothing else left, the begun ones (nobody starves).
    fresh = token_for(make_user("third@example.org"))
    order = []
    while (response := nxt(client, project, fresh)).status_code == 200:
        lease = response.get_json()
        order.append(lease["task"]["id"])
        assert answer(client, lease, fresh, label="kestrel").status_code == 201
    assert len(order) == 4 and set(order[2:]) == {split, single}  # the kestrel is full: 2 answers and a lease
    assert agreed not in order and not set(order[:2]) & {split, single, agreed}


@pytest.mark.parametrize("body,field", [({"routing": "random"}, "routing"), ({"routing": 3}, "routing"),
                                        ({"routing": None}, "routing")])
def test_bad_routing_is_refused_naming_the_field(client, owner, body, field):
    project, _ = field_guide_project(client, owner, ["kestrel"])
    response = client.patch(f"/api/v1/projects/{project['id']}", json=body, headers=owner)
    assert field in assert_problem(response, 422)["errors"]
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["routing"] == "ring"


def test_who_may_read_skills(client, owner, make_user, token_for):
    project, _ = field_guide_project(client, owner, ["kestrel"], visibility="private")
    stranger = token_for(make_user("stranger@example.org"))
    member = make_user("member@example.org")
    assert client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "member@example.org",
                                                                         "role": "annotator"},
                       headers=owner).status_code == 201
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/skills", headers=stranger), 404)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/skills", headers=token_for(member)), 403)
    assert_problem(client.get(f"/api/v1/me/skills?project_id={project['id']}", headers=stranger), 404)
    assert_problem(client.get("/api/v1/me/skills", headers=stranger), 422)
    assert_problem(client.get("/api/v1/me/skills?project_id=abc", headers=stranger), 422)
    stranger_id = _user_id(client, stranger)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/skills?user_id={stranger_id}", headers=owner), 404)
    member_rows = client.get(f"/api/v1/projects/{project['id']}/skills?user_id={member.id}", headers=owner)
    assert member_rows.status_code == 200 and member_rows.get_json()["items"] == []


TIERS = [{"min_accuracy": 0.8, "min_answers": 10, "multiplier": 1.5}]
PAID = {"per_annotation": 50, "agreement_bonus": 20, "mechanism": "agreement"}


def test_an_expert_tier_is_reserved_credited_and_settled_at_its_multiplier(app, client, owner, make_user, token_for):
    crowd = _crowd(make_user, token_for)
    project, truth_of = field_guide_project(client, owner, TRUTHS, rewards={**PAID, "tiers": TIERS})
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]["tiers"] == TIERS
    deposit(client, app, project["id"], owner, 100_000)
    _answer_all(client, project, truth_of, crowd)
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]  # tiers read kept skills: refreshed at any size
    mine = {row["label"]: row for row in client.get(f"/api/v1/me/skills?project_id={project['id']}",
                                                     headers=crowd["all_rounder"]).get_json()["items"]}
    assert mine[None]["accuracy"] >= 0.8 and mine[None]["answers"] == 20  # tier 1: 1.5 x (50 + 20)
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "new kestrel"}}],
                       headers=owner).status_code == 201
    lines = {}
    for name in ("all_rounder", "warbler_expert"):
        headers = crowd[name]
        response = nxt(client, project, headers)
        assert response.status_code == 200, (response.status_code, response.get_data())
        lease = response.get_json()
        assert answer(client, lease, headers, label="kestrel").status_code == 201
        lines[name] = [line for line in client.get("/api/v1/wallet/entries?per_page=100", headers=headers)
                       .get_json()["items"] if line["task_id"] == lease["task"]["id"]]
    expert_line, = lines["all_rounder"]
    assert expert_line["amount"] == 75 and "at tier 1 (x1.5)" in expert_line["memo"]
    assert expert_line["details"]["tier"] == 1 and expert_line["details"]["multiplier"] == 1.5
    plain_line, = lines["warbler_expert"]
    assert plain_line["amount"] == 50 and "tier" not in plain_line["memo"]
    with app.app_context():
        session = runtime().session_factory()
        tiers = dict(session.execute(select(Assignment.user_id, Assignment.tier).where(
            Assignment.task_id == expert_line["task_id"])).all())
        session.close()
    assert sorted(tiers.values(), key=str) == [1, None]
    assert verified(app) == []


@pytest.mark.parametrize("tiers,path", [
    ([{"min_accuracy": 0.9, "min_answers": 50, "multiplier": 0.5}], "rewards.tiers.0.multiplier"),
    ([{"min_accuracy": 0.9, "min_answers": 50, "multiplier": 11}], "rewards.tiers.0.multiplier"),
    ([{"min_accuracy": 1.2, "min_answers": 50, "multiplier": 2}], "rewards.tiers.0.min_accuracy"),
    ([{"min_accuracy": 0.9, "min_answers": 0, "multiplier": 2}], "rewards.tiers.0.min_answers"),
    ([{"min_accuracy": 0.9, "multiplier": 2}], "rewards.tiers.0.min_answers"),
    ([{"min_accuracy": 0.9, "min_answers": 50, "multiplier": 2},
      {"min_accuracy": 0.8, "min_answers": 50, "multiplier": 3}], "rewards.tiers"),
    ([{"min_accuracy": 0.8, "min_answers": 50, "multiplier": 2},
      {"min_accuracy": 0.9, "min_answers": 50, "multiplier": 1.5}], "rewards.tiers"),
    ([{"min_accuracy": 0.8, "min_answers": 5, "multiplier": 2, "bonus": 1}], "rewards.tiers.0.bonus"),
    ("gold", "rewards.tiers"),
])
def test_bad_tiers_are_refused_naming_the_field(client, owner, tiers, path):
    project, _ = field_guide_project(client, owner, ["kestrel"], rewards=PAID)
    response = client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"tiers": tiers}}, headers=owner)
    assert path in assert_problem(response, 422)["errors"]
    assert "tiers" not in client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["rewards"]


@pytest.mark.parametrize("row,path", [
    ({"data": {"text": "g"}, "gold_scope": "warbler"}, "rows.1.gold_scope"),
    ({"data": {"text": "g"}, "gold": {"labels": ["kestrel"]}, "gold_scope": "heron"}, "rows.1.gold_scope"),
    ({"data": {"text": "g"}, "gold": {"labels": ["kestrel"]}, "gold_scope": "warbler"}, "rows.1.gold_scope"),
    ({"data": {"text": "g"}, "gold": {"labels": ["kestrel"]}, "gold_scope": 3}, "rows.1.gold_scope"),
])
def test_bad_scoped_gold_is_refused_naming_the_row(client, owner, row, path):
    project, _ = field_guide_project(client, owner, [])
    response = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[row], headers=owner)
    assert path in assert_problem(response, 422)["errors"]
    assert client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["total"] == 0


def test_failing_gold_scoped_to_a_subtree_disqualifies_there_only(app, client, owner, make_user, token_for):
    project, _ = field_guide_project(client, owner, [], qualification={"warmup_gold": 3, "min_gold_accuracy": 0.7})
    gold = [{"data": {"text": f"gold warbler {n}"}, "gold": {"labels": ["willow_warbler"]}, "gold_scope": "warbler"}
            for n in range(3)]
    plain = [{"data": {"text": f"sighting {n}"}} for n in range(2)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=gold + plain, headers=owner).status_code == 201
    annotator = token_for(make_user("mixer@example.org"))
    for _ in range(3):  # the warm-up: the three warbler gold tasks, all wrong
        lease = nxt(client, project, annotator).get_json()
        assert lease["task"]["data"]["text"].startswith("gold warbler")
        assert answer(client, lease, annotator, label="chiffchaff").status_code == 201
    for label in ("chiffchaff", "kestrel"):  # still working: a warbler answer does not count, a raptor one does
        response = nxt(client, project, annotator)
        assert response.status_code == 200, response.get_json()
        assert answer(client, response.get_json(), annotator, label=label).status_code == 201
    with app.app_context():
        session = runtime().session_factory()
        counted = {result["labels"][0]: counted for result, counted in session.execute(
            select(Annotation.result, Annotation.counted).join(Task, Task.id == Annotation.task_id)
            .where(Task.project_id == project["id"], Task.is_gold.is_(False)))}
        standing = session.get(Qualification, (project["id"], _user_id(client, annotator)))
        session.close()
    assert counted == {"chiffchaff": False, "kestrel": True}
    assert standing is None or not standing.disqualified  # the project-wide standing is untouched
    mine = client.get(f"/api/v1/me/skills?project_id={project['id']}", headers=annotator).get_json()
    assert mine["disqualified"] == ["warbler"]  # said to them


def test_box_labels_are_evidence_against_the_consensus_objects(app, client, owner, annotators):
    """Issue 17's vehicles: three annotators box the same 7 vehicles, the third names 3 of them a sibling class.
    Each matched box's label is evidence against its consensus object's label, weighted by that label's
    confidence: 1 for the 4 boxes everyone named alike, 2/3 for the 3 misnamed ones."""
    project, misnamed = vehicle_project(app, client, owner, annotators)
    items = client.get(f"/api/v1/projects/{project['id']}/skills", headers=owner).get_json()["items"]
    whole = {row["user_id"]: row for row in items if row["label"] is None}
    careful, sloppy = _user_id(client, annotators[0]), _user_id(client, annotators[2])
    weight = 4 * 1 + 3 * 2 / 3
    assert whole[careful]["answers"] == whole[sloppy]["answers"] == 7
    assert whole[careful]["accuracy"] == pytest.approx((1 + weight) / (2 + weight), abs=1e-4)
    assert whole[sloppy]["accuracy"] == pytest.approx((1 + 4) / (2 + weight), abs=1e-4)  # right on the 4 alike
    by = {(row["user_id"], row["label"]): row for row in items}
    assert by[(sloppy, "car")]["accuracy"] < by[(careful, "car")]["accuracy"]  # two of the three misnamed are cars
    assert len(misnamed) == 3
