"""The crowd simulator's agents behave as their models say (measured over many answers), the task flow hands
each task to distinct agents, and what cannot be simulated is refused naming the field."""
from __future__ import annotations

import numpy as np
import pytest

from annotator.errors import InvalidInput
from incentives import simulate as sim

EVERYONE = {name: 4 for name in sim.STRATEGIES}


@pytest.fixture(scope="module")
def crowd():
    return sim.run_crowd(EVERYONE, tasks=4000, overlap=5, gold_ratio=0.1, seed=7)


def accuracy(crowd, strategy, where=None):
    mine = np.isin(crowd.worker, [w for w, s in enumerate(crowd.strategy) if s == strategy])
    if where is not None:
        mine &= where
    return float((crowd.label[mine] == crowd.truth[crowd.task[mine]]).mean())


def test_the_builtin_taxonomy_has_three_levels_and_64_leaves():
    tree = sim.Tree(sim.BUILTIN)
    assert len(tree.leaves) == 64 and len(sim.BUILTIN) == 4 + 16 + 64
    depth = np.zeros(len(sim.BUILTIN), dtype=int)
    for label in range(len(sim.BUILTIN)):
        node = label
        while sim.BUILTIN[node] >= 0:
            node, depth[label] = sim.BUILTIN[node], depth[label] + 1
    assert depth.max() == 2 and set(depth[tree.leaves]) == {2}


def test_the_same_seed_gives_the_same_crowd_and_another_seed_another():
    a = sim.run_crowd(EVERYONE, tasks=50, overlap=3, seed=1)
    b = sim.run_crowd(EVERYONE, tasks=50, overlap=3, seed=1)
    c = sim.run_crowd(EVERYONE, tasks=50, overlap=3, seed=2)
    assert np.array_equal(a.label, b.label) and np.array_equal(a.worker, b.worker)
    assert not np.array_equal(a.label, c.label)


def test_each_task_gets_overlap_distinct_agents_and_the_gold_share(crowd):
    per_task = crowd.worker.reshape(crowd.n_tasks, 5)
    assert all(len(set(row)) == 5 for row in per_task.tolist())
    assert np.array_equal(crowd.task, np.repeat(np.arange(crowd.n_tasks), 5))
    assert crowd.gold.sum() == 400 and crowd.n_workers == 28


def test_the_strategies_answer_as_their_models_say(crowd):
    tree = sim.Tree(sim.BUILTIN)
    # Experts: skill uniform in [0.70, 0.95], mean 0.825; their errors mostly a sibling of the truth.
    assert accuracy(crowd, "expert") == pytest.approx(0.825, abs=0.03)
    experts = np.isin(crowd.worker, [w for w, s in enumerate(crowd.strategy) if s == "expert"])
    wrong = experts & (crowd.label != crowd.truth[crowd.task])
    siblings = [label in tree.siblings(truth) for label, truth in zip(crowd.label[wrong], crowd.truth[crowd.task[wrong]])]
    assert np.mean(siblings) == pytest.approx(0.7 + 0.3 * 3 / 15, abs=0.06)  # 3 of the 15 cousins are siblings
    # Novices: the parent 40% of the time.
    novices = np.isin(crowd.worker, [w for w, s in enumerate(crowd.strategy) if s == "novice"])
    parents = crowd.label[novices] == tree.parent[crowd.truth[crowd.task[novices]]]
    assert parents.mean() == pytest.approx(0.40, abs=0.03) and accuracy(crowd, "novice") == pytest.approx(0.35, abs=0.03)
    # Spammers: a leaf in 64.
    assert accuracy(crowd, "spammer") == pytest.approx(1 / 64, abs=0.01)
    # Constant: always the same leaf, the prior's most common one.
    constant = crowd.label[np.isin(crowd.worker, [w for w, s in enumerate(crowd.strategy) if s == "constant"])]
    common = np.bincount(crowd.truth).argmax()
    assert set(constant.tolist()) == {common}
    # Gold sniffers: careful (0.9) on the 80% of gold tasks they recognise; random elsewhere but 5% of the time.
    assert accuracy(crowd, "gold_sniffer", crowd.gold[crowd.task]) == pytest.approx(0.8 * 0.9, abs=0.06)
    assert accuracy(crowd, "gold_sniffer", ~crowd.gold[crowd.task]) == pytest.approx(0.05 * 0.9, abs=0.03)


def test_colluders_agree_with_each_other_and_copycats_copy_the_plurality(crowd):
    colluders = {w for w, s in enumerate(crowd.strategy) if s == "colluders"}
    per_task: dict[int, set] = {}
    for task, worker, label in zip(crowd.task, crowd.worker, crowd.label):
        if int(worker) in colluders:
            per_task.setdefault(int(task), set()).add(int(label))
    shared = [labels for labels in per_task.values()]
    assert shared and all(len(labels) == 1 for labels in shared)  # one answer per task, whoever of them
    assert accuracy(crowd, "colluders") < 0.1
    copycats = {w for w, s in enumerate(crowd.strategy) if s == "copycat"}
    checked = 0
    for t in range(200):
        rows = slice(5 * t, 5 * t + 5)
        for k, (worker, label) in enumerate(zip(crowd.worker[rows], crowd.label[rows])):
            if int(worker) in copycats and k > 0:
                earlier = crowd.label[rows][:k]
                values, counts = np.unique(earlier, return_counts=True)
                assert label == values[np.argmax(counts)]
                checked += 1
    assert checked > 10


@pytest.mark.parametrize("counts, tasks, overlap, gold_ratio, field", [
    ({"wizard": 3}, 10, 1, 0.0, "crowd.wizard"),
    ({"expert": -1, "spammer": 3}, 10, 1, 0.0, "crowd.expert"),
    ({"expert": 0}, 10, 1, 0.0, "crowd"),
    ({"expert": 1001}, 10, 1, 0.0, "crowd"),
    ({"expert": 3}, 0, 1, 0.0, "tasks"),
    ({"expert": 3}, 100_001, 1, 0.0, "tasks"),
    ({"expert": 3}, 10, 4, 0.0, "overlap"),
    ({"expert": 3}, 10, 2, 1.0, "gold_ratio"),
])
def test_what_cannot_be_simulated_is_refused_naming_the_field(counts, tasks, overlap, gold_ratio, field):
    with pytest.raises(InvalidInput) as refused:
        sim.run_crowd(counts, tasks, overlap, gold_ratio)
    assert list(refused.value.fields) == [field]


def test_the_simulators_confidence_is_the_platforms_answer_confidence():
    """Dynamic overlap stops a task on the same confidence submit computes (tasks.quality.scores)."""
    from tasks.quality.answers import Labels
    from tasks.quality.scores import answer_confidence
    from tasks.schema import parse_label_schema

    tree = [{"id": "bird", "name": "Bird", "children": [
                {"id": "warbler", "name": "Warbler", "children": [{"id": "yellow", "name": "Yellow"},
                                                                   {"id": "willow", "name": "Willow"}]},
                {"id": "sparrow", "name": "Sparrow", "children": [{"id": "tree", "name": "Tree"}]}]},
            {"id": "insect", "name": "Insect"}]
    schema = parse_label_schema({"tools": ["classify"], "labels": tree})
    labels = Labels.of(schema)
    simulated = sim.Tree(labels.parent)
    rng = np.random.default_rng(4)
    for _ in range(300):
        said = [int(x) for x in rng.integers(0, len(labels.ids), size=int(rng.integers(1, 6)))]
        target = float(rng.choice([0.5, 0.6, 0.75, 0.9]))
        expected = answer_confidence(schema, [{"labels": [labels.ids[x]]} for x in said], target)
        # Ties between labels are broken by id in the platform and by index here: compare where there is none.
        counts = np.bincount(said)
        if (counts == counts.max()).sum() == 1:
            assert sim.confidence(simulated, said, target) == pytest.approx(expected), said


def test_dynamic_overlap_stops_sure_tasks_early_and_asks_more_on_unsure_ones():
    dynamic = {"min_overlap": 2, "max_overlap": 6, "confidence_target": 0.75}
    crowd = sim.run_crowd({"expert": 10, "spammer": 4}, tasks=600, overlap=3, gold_ratio=0.1, seed=5, dynamic=dynamic)
    per_task = np.bincount(crowd.task, minlength=crowd.n_tasks)
    plain = ~crowd.gold
    assert per_task[plain].min() >= 2 and per_task[plain].max() <= 6
    assert (per_task[plain] == 2).mean() > 0.3 and (per_task[plain] == 6).any()
    assert (per_task[crowd.gold] == 3).all()  # gold tasks keep the overlap
    for t in np.flatnonzero(plain & (per_task < 6)):  # each stopped as soon as it was sure
        said = [int(x) for x in crowd.label[crowd.task == t]]
        assert sim.confidence(sim.Tree(sim.BUILTIN), said, 0.75) >= 0.75
        assert len(said) == 2 or sim.confidence(sim.Tree(sim.BUILTIN), said[:-1], 0.75) < 0.75
    for bad, field in (({**dynamic, "min_overlap": 4}, "dynamic_overlap.min_overlap"),
                       ({**dynamic, "max_overlap": 20}, "dynamic_overlap.max_overlap"),
                       ({**dynamic, "confidence_target": 0}, "dynamic_overlap.confidence_target")):
        with pytest.raises(InvalidInput) as refused:
            sim.run_crowd({"expert": 10, "spammer": 4}, tasks=10, overlap=3, dynamic=bad)
        assert list(refused.value.fields) == [field]
