"""Truth inference against crowd-kit (test-only oracle) and simulated crowds with known truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from tasks.quality import inference as inf
from tasks.quality.agreement import Taxonomy

pytestmark = pytest.mark.filterwarnings("ignore:::crowdkit")


def crowd(seed, items=2000, classes=4, workers=15, per_item=5, spammers=0.0, skill=(0.55, 0.9)):
    """Items with a known truth, each answered by `per_item` random workers; spammers answer uniformly."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    accuracy = rng.uniform(*skill, workers)
    spam = rng.random(workers) < spammers if spammers < 1 else np.ones(workers, bool)
    spam[: int(round(spammers * workers))] = True
    spam[int(round(spammers * workers)):] = False
    item = np.repeat(np.arange(items), per_item)
    worker = np.concatenate([rng.choice(workers, per_item, replace=False) for _ in range(items)])
    right = rng.random(len(item)) < accuracy[worker]
    wrong = (truth[item] + rng.integers(1, classes, len(item))) % classes
    label = np.where(right, truth[item], wrong)
    label = np.where(spam[worker], rng.integers(0, classes, len(item)), label)
    return item, worker, label, truth, spam


def test_majority_vote_gives_shares_and_breaks_ties_reproducibly():
    item = np.array([0, 0, 0, 1, 1])
    worker = np.array([0, 1, 2, 0, 1])
    label = np.array([2, 2, 1, 0, 1])
    result = inf.majority_vote(item, worker, label, 3, 3, 3)
    assert result.answer[0] == 2 and result.confidence[0] == pytest.approx(2 / 3)
    assert result.answer[1] in (0, 1) and result.confidence[1] == 0.5
    assert result.answer[2] == -1 and result.confidence[2] == 0  # no annotations: no answer
    again = inf.majority_vote(item, worker, label, 3, 3, 3)
    assert (again.answer == result.answer).all()


@pytest.mark.parametrize("seed", range(3))
def test_dawid_skene_matches_crowd_kit_on_at_least_99_5_percent_of_items(seed):
    item, worker, label, _, _ = crowd(seed, spammers=0.2)
    ours = inf.dawid_skene(item, worker, label, item.max() + 1, worker.max() + 1, 4)
    frame = pd.DataFrame({"task": item, "worker": worker, "label": label})
    theirs = DawidSkene(n_iter=100).fit_predict(frame).sort_index().to_numpy()
    assert (ours.answer == theirs).mean() >= 0.995


@pytest.mark.parametrize("seed", range(3))
def test_dawid_skene_is_at_least_as_accurate_as_majority_vote(seed):
    item, worker, label, truth, _ = crowd(seed)
    args = (item, worker, label, len(truth), worker.max() + 1, 4)
    assert (inf.dawid_skene(*args).answer == truth).mean() >= (inf.majority_vote(*args).answer == truth).mean()


@pytest.mark.parametrize("seed", range(3))
def test_dawid_skene_beats_majority_vote_clearly_when_a_third_are_spammers(seed):
    item, worker, label, truth, spam = crowd(seed, spammers=1 / 3)
    args = (item, worker, label, len(truth), worker.max() + 1, 4)
    ds, mv = inf.dawid_skene(*args), inf.majority_vote(*args)
    assert (ds.answer == truth).mean() >= (mv.answer == truth).mean() + 0.03
    # Reliability finds the spammers: every spammer below every honest worker.
    assert ds.reliability[spam].max() < ds.reliability[~spam].min()
    assert np.allclose(ds.posterior.sum(axis=1), 1) and np.allclose(ds.confusion.sum(axis=2), 1)


def test_dawid_skene_confidence_is_calibrated_roughly():
    item, worker, label, truth, _ = crowd(5, items=4000)
    ds = inf.dawid_skene(item, worker, label, len(truth), worker.max() + 1, 4)
    sure = ds.confidence > 0.95
    assert sure.mean() > 0.5 and (ds.answer[sure] == truth[sure]).mean() > 0.95


def test_back_off_answers_the_parent_when_the_species_is_unsure():
    # 0 bird > 1 warbler > {2 yellow warbler, 3 willow warbler}; 0 bird > 4 sparrow
    parent = np.array([-1, 0, 1, 1, 0])
    posterior = np.array([
        [0, 0, 0.9, 0.1, 0],     # sure of the species
        [0, 0, 0.5, 0.4, 0.1],   # unsure which warbler: warbler (0.9)
        [0, 0, 0.4, 0.3, 0.3],   # warbler only 0.7: bird (1.0)
        [0, 0, 0, 0, 0],         # nothing known
    ])
    answer, confidence = inf.back_off(posterior, Taxonomy.from_parents(parent).ancestors, threshold=0.8)
    assert answer.tolist() == [2, 1, 0, -1]
    assert confidence.tolist() == pytest.approx([0.9, 0.9, 1.0, 0.0])
    # The most probable label is the genus itself: its confidence counts its species too.
    answer, confidence = inf.back_off(np.array([[0, 0.45, 0.4, 0, 0.15]]), Taxonomy.from_parents(parent).ancestors,
                                      threshold=0.8)
    assert answer.tolist() == [1] and confidence.tolist() == pytest.approx([0.85])
    # Nothing above the threshold anywhere: keep the best guess with its own posterior.
    answer, confidence = inf.back_off(np.array([[0.0, 0, 0.5, 0.0, 0.5]]), Taxonomy.from_parents(parent).ancestors,
                                      threshold=1.01)
    assert answer.tolist() in ([2], [4]) and confidence.tolist() == [0.5]
    # A node nobody may back off to (the only root): the unsure species stays.
    allowed = np.array([False, True, True, True, True])
    answer, confidence = inf.back_off(np.array([[0, 0, 0.45, 0, 0.55]]), Taxonomy.from_parents(parent).ancestors,
                                      threshold=0.8, allowed=allowed)
    assert answer.tolist() == [4] and confidence.tolist() == pytest.approx([0.55])
    # Classes may be a subset of the tree: the genus above two chosen species is still reachable.
    ancestors = Taxonomy.from_parents(parent).ancestors[[2, 3]]
    answer, confidence = inf.back_off(np.array([[0.5, 0.5]]), ancestors, threshold=0.8)
    assert answer.tolist() == [1] and confidence.tolist() == pytest.approx([1.0])
