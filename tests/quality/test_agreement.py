"""Agreement against published worked examples and reference libraries (test-only oracles)."""
from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from tasks.quality import agreement as ag

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units, missing values.
K2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
])
# Fleiss (1971) as worked in common references: 10 subjects, 14 raters, 5 categories.
FLEISS = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                   [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])


def as_list(matrix):
    """observers x units (NaN missing) -> (unit, value index, coder) with values 1..V as indices 0..V-1."""
    coder, unit = np.nonzero(~np.isnan(matrix))
    return unit, matrix[coder, unit].astype(int) - 1, coder


@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
                                             ("ratio", 0.797)])
def test_krippendorff_2011_worked_example(level, expected):
    unit, value, _ = as_list(K2011)
    alpha = ag.krippendorff_alpha(unit, value, level, n_values=5, positions=np.arange(1, 6))
    assert alpha == pytest.approx(expected, abs=5e-4)


def test_fleiss_1971_worked_example():
    assert ag.fleiss_kappa(FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_cohen_textbook_example():
    # 50 grant proposals, two readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
    assert ag.cohen_kappa(np.array([[20, 5], [10, 15]])) == pytest.approx(0.4)


def random_reliability(seed, observers=6, units=300, values=5, missing=0.3):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, values, units)
    data = np.where(rng.random((observers, units)) < 0.7, truth, rng.integers(0, values, (observers, units)))
    data = data.astype(float) + 1
    data[rng.random((observers, units)) < missing] = np.nan
    return data


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ag.LEVELS)
def test_alpha_matches_the_krippendorff_package(seed, level):
    data = random_reliability(seed)
    unit, value, _ = as_list(data)
    ours = ag.krippendorff_alpha(unit, value, level, n_values=5, positions=np.arange(1, 6))
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5])
    assert ours == pytest.approx(theirs, abs=1e-9)


def tree():
    # 0 bird > 1 warbler > {2 yellow warbler, 3 willow warbler}; 0 bird > 4 sparrow; 5 mammal > 6 bat
    return ag.Taxonomy.from_parents([-1, 0, 1, 1, 0, -1, 5])


def test_taxonomy_distance_is_the_share_of_the_longest_path():
    distance = tree().distance()
    pairs = np.array([[2, 1], [2, 3], [2, 4], [2, 6], [2, 2]])
    # depth 3, so the longest path is 6 edges: genus 1, sibling species 2, another genus 3, another root 5.
    assert distance(pairs[:, 0], pairs[:, 1]).tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6, 5 / 6, 0])


def test_yellow_warbler_against_warbler_disagrees_less_than_against_sparrow():
    taxonomy = tree()
    near = ag.krippendorff_alpha([0, 0, 1, 1, 2, 2], [2, 1, 4, 4, 6, 6], taxonomy.distance(), n_values=7)
    far = ag.krippendorff_alpha([0, 0, 1, 1, 2, 2], [2, 4, 4, 4, 6, 6], taxonomy.distance(), n_values=7)
    assert near > far
    nominal = ag.krippendorff_alpha([0, 0, 1, 1, 2, 2], [2, 1, 4, 4, 6, 6], "nominal", n_values=7)
    assert near > nominal  # partial credit: a genus for its species is not a full disagreement


@pytest.mark.parametrize("seed", range(3))
def test_taxonomy_alpha_matches_the_krippendorff_package_with_the_same_distance(seed):
    taxonomy = tree()
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 7, (4, 200)).astype(float)
    data[rng.random((4, 200)) < 0.25] = np.nan
    unit, value, _ = as_list(data + 1)
    ours = ag.krippendorff_alpha(unit, value, taxonomy.distance(), n_values=7)
    table = taxonomy.distance()(np.arange(7)[:, None], np.arange(7)[None, :])

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return table[v1.astype(int), v2.astype(int)].astype(dtype)

    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=metric, value_domain=list(range(7)))
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_undefined_alpha_is_none_not_nan():
    assert ag.krippendorff_alpha([0, 1, 2], [0, 1, 0], "nominal") is None  # no unit has two values
    assert ag.krippendorff_alpha([0, 0, 1, 1], [3, 3, 3, 3], "nominal") is None  # no variation
    assert ag.krippendorff_alpha([], [], "nominal") is None
    assert ag.bootstrap_alpha([0, 1], [0, 0]) is None


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(7, rng.dirichlet(np.ones(4)), size=200)
    assert ag.fleiss_kappa(counts) == pytest.approx(sm_fleiss(counts), abs=1e-12)


def test_fleiss_undefined_cases():
    assert ag.fleiss_kappa(np.array([[1, 0], [0, 1]])) is None  # one rater per item
    assert ag.fleiss_kappa(np.array([[3, 0], [3, 0]])) is None  # one category only


@pytest.mark.parametrize("path", ["dense", "sparse"])
@pytest.mark.parametrize("seed", range(3))
def test_every_pairwise_cohen_kappa_matches_scikit_learn(seed, path, monkeypatch):
    monkeypatch.setattr(ag, "DENSE_CODERS", 64 if path == "dense" else 0)
    rng = np.random.default_rng(seed)
    coders, units, values = 5, 400, 4
    truth = rng.integers(0, values, units)
    labels = np.where(rng.random((coders, units)) < 0.6, truth, rng.integers(0, values, (coders, units)))
    present = rng.random((coders, units)) > 0.3
    coder, unit = np.nonzero(present)
    kappa, shared = ag.pairwise_cohen(unit, coder, labels[coder, unit], coders, values)
    for a in range(coders):
        for b in range(coders):
            if a == b:
                assert np.isnan(kappa[a, b])
                continue
            both = present[a] & present[b]
            assert shared[a, b] == both.sum()
            expected = cohen_kappa_score(labels[a, both], labels[b, both])
            assert kappa[a, b] == pytest.approx(expected, abs=1e-12)


def test_bootstrap_interval_is_reproducible_and_brackets_alpha():
    unit, value, _ = as_list(random_reliability(7))
    alpha = ag.krippendorff_alpha(unit, value, "nominal", n_values=5)
    first = ag.bootstrap_alpha(unit, value, "nominal", n_values=5, samples=400, seed=3)
    assert first == ag.bootstrap_alpha(unit, value, "nominal", n_values=5, samples=400, seed=3)
    assert first != ag.bootstrap_alpha(unit, value, "nominal", n_values=5, samples=400, seed=4)
    low, high = first
    assert low < alpha < high and high - low < 0.2


def test_per_label_alpha_equals_binary_alpha_for_each_label():
    unit, value, _ = as_list(random_reliability(11))
    per_label = ag.per_label_alpha(unit, value, 5)
    for label in range(5):
        binary = ag.krippendorff_alpha(unit, (value == label).astype(int), "nominal", n_values=2)
        assert per_label[label] == pytest.approx(binary, abs=1e-12)


def test_thousands_of_labels_cost_no_label_x_label_tables():
    # 20,000 labels in the schema, a few hundred answers: every measure stays small and matches the references.
    rng = np.random.default_rng(5)
    coders, units = 4, 150
    labels = rng.integers(0, 20_000, (coders, units))
    labels[1] = labels[0]  # coders 0 and 1 agree everywhere
    coder, unit = np.nonzero(np.ones((coders, units), bool))
    kappa, _ = ag.pairwise_cohen(unit, coder, labels[coder, unit], coders, 20_000)
    assert kappa[0, 1] == pytest.approx(cohen_kappa_score(labels[0], labels[1]))
    assert kappa[2, 3] == pytest.approx(cohen_kappa_score(labels[2], labels[3]), abs=1e-12)
    counts = ag.fleiss_counts(unit, labels[coder, unit], units, 20_000)
    dense = counts.toarray()
    assert ag.fleiss_kappa(counts) == pytest.approx(ag.fleiss_kappa(dense), abs=1e-12)
    alpha = ag.krippendorff_alpha(unit, labels[coder, unit], "nominal", n_values=20_000)
    reference = krippendorff.alpha(reliability_data=labels.astype(float), level_of_measurement="nominal")
    assert alpha == pytest.approx(reference, abs=1e-9)
