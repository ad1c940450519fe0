"""Truth inference on crowds with a known truth: ours against crowd-kit run in the same test (a test-only
oracle), on generated crowds shaped like the public benchmarks and on Dawid & Skene's own data."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from tasks.models import AGGREGATIONS
from tasks.quality import crowds
from tasks.quality import inference as inf

pytestmark = pytest.mark.filterwarnings("ignore:::crowdkit")

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 800
# Five of the bench's eight shapes (crowd-kit's EM takes a second or two on each): binary, half spam, 4 classes,
# skewed priors, 10 classes with 3-4 answers. The other three are the bench's.
SHAPES = [crowds.SHAPES[i] for i in (0, 2, 3, 5, 7)]
# Dawid & Skene (1979), Table 1: 45 patients rated 1-4 by five anaesthetists, the first three times over.
# Per patient: the first one's three ratings, then the other four's.
DS_1979 = ("1111111 3334334 1122122 2223121 2223222 2223322 1222111 3333433 2222223 2322223 4444444 2223343 1111111 "
           "2223212 1211111 1112111 1111111 1111111 2222221 2221322 2222222 2222221 2223222 2212222 1111111 1111111 "
           "2322222 1111111 1111111 1121121 1111111 3333233 1111111 2222222 2223232 4334343 2212232 2323233 3333432 "
           "1111111 1111111 1212111 2322222 1211111 2222222").split()


def crowd_kit_answers(crowd: crowds.Crowd) -> np.ndarray:
    frame = pd.DataFrame({"task": crowd.item, "worker": crowd.worker, "label": crowd.label})
    labels = DawidSkene(n_iter=100).fit_predict(frame)
    return labels.reindex(range(crowd.n_items)).fillna(-1).to_numpy(dtype=np.int64)


@pytest.fixture(scope="module")
def measured():
    """Per generated shape: (accuracy of crowd-kit's Dawid-Skene, then of each of our methods), in points."""
    out = {}
    for shape in SHAPES:
        crowd = crowds.generate(shape, ITEMS, seed=3)
        out[shape.name] = {"crowd-kit": 100 * crowd.accuracy(crowd_kit_answers(crowd)),
                           **{name: 100 * crowd.accuracy(method(*crowd.args).answer)
                              for name, method in inf.METHODS.items()}}
    return out


def test_every_aggregation_a_project_may_choose_is_a_method():
    assert set(AGGREGATIONS) == set(inf.METHODS)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.name)
def test_the_crowd_prior_is_as_accurate_as_crowd_kit_and_majority_vote_on_every_generated_crowd(measured, shape):
    # 800 items: two good methods differ by a point from noise alone, so a point here; the bench holds the
    # issue's half point at 10,000 items.
    got = measured[shape.name]
    assert got["dawid_skene_prior"] >= got["crowd-kit"] - 1.0, got
    assert got["dawid_skene_prior"] >= got["majority"], got


def test_the_crowd_prior_beats_dawid_skene_clearly_across_the_generated_crowds(measured):
    gain = np.mean([got["dawid_skene_prior"] - got["crowd-kit"] for got in measured.values()])
    plain = np.mean([got["dawid_skene"] - got["crowd-kit"] for got in measured.values()])
    assert gain >= 3.0, measured
    assert gain >= plain + 2.0, measured  # plain Dawid-Skene is crowd-kit's model: the gain is the prior's
    assert min(got["majority"] - got["crowd-kit"] for got in measured.values()) < -10  # spam costs a vote dearly


def test_the_prior_washes_out_on_a_dense_crowd():
    # 30 annotators who each answer about a third of 2,000 items: hundreds of answers per confusion row.
    shape = crowds.Shape("dense", 4, 30, (10, 10), activity=50.0)
    crowd = crowds.generate(shape, 2000, seed=5)
    plain, prior = inf.dawid_skene(*crowd.args), inf.dawid_skene_prior(*crowd.args)
    assert (plain.answer == prior.answer).mean() >= 0.995
    assert np.abs(plain.confusion - prior.confusion).max() < 0.05


def test_the_prior_ranks_spammers_and_adversaries_below_good_annotators():
    crowd = crowds.generate(crowds.SHAPES[3], 3000, seed=2)
    result = inf.dawid_skene_prior(*crowd.args)
    busy = np.bincount(crowd.worker, minlength=crowd.n_workers) >= 30  # enough answers to be judged
    good, bad = busy & (crowd.kind == 0), busy & (crowd.kind >= 2)
    assert good.sum() >= 10 and bad.sum() >= 5
    assert result.reliability[bad].max() < result.reliability[good].min()
    assert np.allclose(result.posterior.sum(axis=1), 1) and np.allclose(result.confusion.sum(axis=2), 1)


def test_dawid_skene_on_the_1979_data_is_the_papers_em_and_crowd_kits():
    item = np.repeat(np.arange(45), 7)
    worker = np.tile([0, 0, 0, 1, 2, 3, 4], 45)
    label = np.array([int(rating) - 1 for row in DS_1979 for rating in row])
    posterior, priors = paper_em(item, worker, label)
    ours = inf.dawid_skene(item, worker, label, 45, 5, 4)
    assert (ours.answer == posterior.argmax(axis=1)).all()
    assert np.abs(ours.posterior - posterior).max() < 0.01  # SMOOTHING is the difference
    assert ours.priors == pytest.approx(priors, abs=0.002)
    assert priors == pytest.approx([0.40, 0.422, 0.112, 0.067], abs=0.001)
    crowd = crowds.Crowd("1979", item, worker, label, np.full(45, -1), 5, 4)
    assert (crowd_kit_answers(crowd) == ours.answer).all()
    # A majority of ratings gets three patients wrong by this model; the crowd prior one (a rare class, three
    # patients, with its evidence shrunk toward the crowd).
    assert (inf.majority_vote(item, worker, label, 45, 5, 4).answer != ours.answer).sum() == 3
    assert (inf.dawid_skene_prior(item, worker, label, 45, 5, 4).answer != ours.answer).sum() == 1


def paper_em(item, worker, label, steps=1000):
    """Dawid & Skene's equations as printed: counts n[i, k, l], start from the vote shares (3.1), then
    p_j = mean of T_ij (2.4), pi[k, j, l] = sum_i T_ij n_ikl / sum_i,l T_ij n_ikl (2.3), and
    T_ij proportional to p_j prod_k,l pi[k, j, l]^n_ikl (2.5), until nothing moves. Loops, no sparse tricks."""
    counts = np.zeros((45, 5, 4))
    np.add.at(counts, (item, worker, label), 1)
    shares = counts.sum(axis=1)
    posterior = shares / shares.sum(axis=1, keepdims=True)
    for _ in range(steps):
        priors = posterior.mean(axis=0)
        errors = np.zeros((5, 4, 4))
        for k in range(5):
            for j in range(4):
                for m in range(4):
                    errors[k, j, m] = posterior[:, j] @ counts[:, k, m]
                errors[k, j] /= errors[k, j].sum()
        log_t = np.log(priors) + np.einsum("ikl,kjl->ij", counts, np.log(np.maximum(errors, 1e-300)))
        updated = np.exp(log_t - log_t.max(axis=1, keepdims=True))
        updated /= updated.sum(axis=1, keepdims=True)
        if np.abs(updated - posterior).max() < 1e-12:
            return updated, priors
        posterior = updated
    return posterior, priors


def test_generated_crowds_are_the_same_for_a_seed_and_shaped_as_asked():
    shape = crowds.SHAPES[6]  # 10 classes, 400 annotators, 3-7 answers per item
    one, again, other = (crowds.generate(shape, 2000, seed) for seed in (4, 4, 5))
    for a, b in ((one.item, again.item), (one.worker, again.worker), (one.label, again.label),
                 (one.truth, again.truth)):
        assert np.array_equal(a, b)
    assert not np.array_equal(one.label, other.label)
    per_item = np.bincount(one.item, minlength=2000)
    assert per_item.min() == 3 and per_item.max() == 7
    pairs = one.item * shape.workers + one.worker
    assert len(np.unique(pairs)) == len(pairs)  # nobody answers an item twice
    assert one.label.max() < 10 and one.truth.max() < 10 and set(np.unique(one.kind)) == {0, 1, 2, 3}
    per_worker = np.sort(np.bincount(one.worker, minlength=shape.workers))[::-1]
    assert per_worker[:40].sum() > 0.3 * len(one.item)  # a tenth of the annotators do a third of the work
    assert np.median(per_worker) < 0.5 * per_worker.mean() or per_worker[-1] < per_worker[0] / 20
    skewed = crowds.generate(crowds.SHAPES[5], 2000, seed=4)
    assert np.bincount(skewed.truth).max() > 0.3 * 2000  # the commonest of six classes


def test_crowds_read_from_rows_index_questions_workers_and_classes():
    crowd = crowds.from_rows(
        "rows", [("q2", "ann", "10"), ("q1", "bob", "9"), ("q1", "ann", "9"), ("q3", "bob", "2")],
        [("q1", "9"), ("q2", "11"), ("q9", "9")])  # q9: nobody answered it; 11: a class only the truth has
    assert crowd.n_items == 3 and crowd.n_workers == 2 and crowd.n_classes == 4  # 2, 9, 10, 11 in numeric order
    assert crowd.item.tolist() == [1, 0, 0, 2] and crowd.worker.tolist() == [0, 1, 0, 1]
    assert crowd.label.tolist() == [2, 1, 1, 0] and crowd.truth.tolist() == [1, 3, -1]
    assert crowd.accuracy(np.array([1, 2, 0])) == 0.5  # q3 has no truth: not counted
    words = crowds.from_rows("words", [("a", "w", "dog"), ("b", "w", "cat")], [("a", "dog")])
    assert words.n_classes == 2 and words.label.tolist() == [1, 0]


def load_bench():
    spec = importlib.util.spec_from_file_location("truth_bench", ROOT / "bench" / "truth_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_reads_every_answer_and_truth_pair_in_a_folder(tmp_path, monkeypatch):
    bench = load_bench()
    monkeypatch.setattr(bench, "ITEMS", 0)  # no generated crowds: only the folder's
    small = tmp_path / "crowds" / "d_small"
    small.mkdir(parents=True)
    (small / "answer.csv").write_text("question,worker,answer\nq1,w1,1\nq1,w2,0\nq2,w1,0\n", encoding="utf-8")
    (small / "truth.csv").write_text("\ufeffquestion,truth\nq1,1\nq2,0\n", encoding="utf-8")  # a BOM, as Excel writes
    numeric = tmp_path / "crowds" / "f_numbers"
    numeric.mkdir()
    (numeric / "answer.csv").write_text("question,worker,answer\n" + "\n".join(f"q1,w{v},{v}" for v in range(80)))
    (numeric / "truth.csv").write_text("question,truth\nq1,40\n")
    (tmp_path / "crowds" / "lonely").mkdir()
    (tmp_path / "crowds" / "lonely" / "answer.csv").write_text("question,worker,answer\n")  # no truth.csv: not a pair
    found = bench.datasets([str(tmp_path / "crowds"), str(tmp_path / "empty")])
    assert [getattr(d, "name", d) for d in found] == [
        "d_small", "f_numbers: skipped, 80 distinct answers (numeric answers are not classes)",
        f"{tmp_path / 'empty'}: no directory with answer.csv and truth.csv"]
    crowd = found[0]
    assert crowd.n_items == 2 and crowd.n_workers == 2 and crowd.truth.tolist() == [1, 0]


def test_the_bench_passes_a_method_within_half_a_point_of_crowd_kit_and_not_below_majority(capsys):
    bench = load_bench()
    met = bench.report({"majority": (0.80, 0.001), "dawid_skene": (0.894, 0.01), "dawid_skene_prior": (0.896, 0.01),
                        "crowd-kit MajorityVote": (0.80, 0.01), bench.REFERENCE: (0.90, 1.0)})
    assert met == {"majority": False, "dawid_skene": False, "dawid_skene_prior": True}
    assert bench.report({"majority": (0.91, 0.001), "dawid_skene": (0.90, 0.01), "dawid_skene_prior": (0.905, 0.01),
                         bench.REFERENCE: (0.90, 1.0)}) == {"majority": True, "dawid_skene": False,
                                                            "dawid_skene_prior": False}
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["majority", "80.00%", "-10.00", "0.001", "1000.0x", "MISS"]
    assert lines[3].split() == ["dawid_skene_prior", "89.60%", "-0.40", "0.010", "100.0x", "PASS"]
