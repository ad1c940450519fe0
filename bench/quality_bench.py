"""Quality engine against its reference libraries: agreement and truth inference on a synthetic crowd.

A seeded crowd with known truth: BENCH_QUALITY_ITEMS items (default 100,000) x 5 annotators x 10 classes,
every item labelled by every annotator (500,000 annotations by default). The annotators' accuracies vary
(0.92, 0.85, 0.75, 0.62) and the fifth is a spammer answering uniformly at random; a wrong answer is half
the time a node near the truth in a 3-level taxonomy over the 10 classes (the classes are its nodes), so
the taxonomy distance has something to credit.

For each measure, ours (tasks.quality) and the reference in the same run: wall time (best of up to 5 runs
within about 2 s, a single run when one takes over a second; without tracemalloc), peak traced memory (a
separate run under tracemalloc, which sees numpy and pandas buffers), the time ratio ref/ours, the values
each computed (alpha and kappas: the absolute difference; Dawid-Skene and majority vote: how many items
the two answer differently and each one's accuracy against the truth), and PASS/MISS against the targets:

  Krippendorff's alpha (nominal, ordinal, interval, ratio, taxonomy) vs `krippendorff.alpha`: no slower;
  pairwise Cohen (all 10 pairs at once) vs scikit-learn's cohen_kappa_score per pair: at least 20x faster;
  Dawid-Skene vs crowd-kit's DawidSkene(n_iter=100): at least 20x faster, accuracy no lower;
  Fleiss vs statsmodels and majority vote vs crowd-kit: no target on time;
  every measure: peak memory no more than the reference's.

Each side gets its input prepared beforehand in its own layout (ours: annotation lists; krippendorff: an
observers x units array with NaN; scikit-learn: one label vector per annotator; crowd-kit: a DataFrame of
task, worker, label; both Fleiss: the same items x classes count table), so neither is charged for it.
Our bootstrap interval of alpha (1000 resamples) has no reference: its time is printed alone (and its peak,
in the first run only: the memory run takes as long as the timed one).

A second run at twice the items (1,000,000 annotations by default) measures ours only; BENCH_QUALITY_FULL=1
runs the references there too. Timings are wall clock: on a busy machine the ratios move, rerun to confirm.
"""
from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
import warnings
from importlib.metadata import version
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import scipy
from crowdkit.aggregation import DawidSkene, MajorityVote
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.quality import agreement, inference  # noqa: E402

warnings.filterwarnings("ignore", module=r"crowdkit(\.|$)")

ITEMS = int(os.environ.get("BENCH_QUALITY_ITEMS", 100_000))
FULL = os.environ.get("BENCH_QUALITY_FULL", "") not in ("", "0")
ANNOTATORS, CLASSES = 5, 10
ACCURACY = np.array([0.92, 0.85, 0.75, 0.62, np.nan])  # NaN: a spammer
PARENTS = [-1, -1, 0, 0, 1, 1, 2, 2, 3, 3]  # roots 0, 1; 0 > {2, 3}, 1 > {4, 5}; 2 > {6, 7}, 3 > {8, 9}
SEED = 20240611
RESAMPLES = 1000


class Crowd:
    """Annotation lists (item, worker, label), the truth, and each reference's layout of the same answers."""

    def __init__(self, items: int, seed: int = SEED):
        rng = np.random.default_rng(seed)
        self.items = items
        self.truth = rng.choice(CLASSES, items, p=rng.dirichlet(np.full(CLASSES, 5.0)))
        self.item = np.repeat(np.arange(items), ANNOTATORS)
        self.worker = np.tile(np.arange(ANNOTATORS), items)
        true = self.truth[self.item]
        # Wrong answers: half a node within two edges of the truth in the taxonomy, half any other class.
        taxonomy = agreement.Taxonomy.from_parents(PARENTS)
        steps = taxonomy.path_length(np.arange(CLASSES)[:, None], np.arange(CLASSES)[None, :])
        near = [np.flatnonzero((steps[c] >= 1) & (steps[c] <= 2)) for c in range(CLASSES)]
        near_table = np.array([np.resize(n, CLASSES) for n in near])  # each row cycles its near nodes
        count = np.array([len(n) for n in near])
        pick = rng.integers(0, 1 << 30, len(true))
        close = near_table[true, pick % count[true]]
        other = (true + rng.integers(1, CLASSES, len(true))) % CLASSES
        wrong = np.where(rng.random(len(true)) < 0.5, close, other)
        accuracy = ACCURACY[self.worker]
        right = rng.random(len(true)) < np.nan_to_num(accuracy)
        label = np.where(right, true, wrong)
        self.label = np.where(np.isnan(accuracy), rng.integers(0, CLASSES, len(true)), label)

    @property
    def size(self) -> int:
        return len(self.item)

    def matrix(self) -> np.ndarray:
        """annotators x items labels (every item has all of them)."""
        table = np.empty((ANNOTATORS, self.items), dtype=np.int64)
        table[self.worker, self.item] = self.label
        return table

    def reliability_data(self) -> np.ndarray:
        """krippendorff's layout: observers x units, float with NaN for a missing value (none here)."""
        data = np.full((ANNOTATORS, self.items), np.nan)
        data[self.worker, self.item] = self.label
        return data

    def counts(self) -> np.ndarray:
        """items x classes: how many annotators chose each class."""
        return np.bincount(self.item * CLASSES + self.label, minlength=self.items * CLASSES).reshape(self.items,
                                                                                                      CLASSES)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"task": self.item, "worker": self.worker, "label": self.label})


def timed(fn) -> tuple[object, float]:
    """(result, best wall time of up to 5 runs within about 2 s; a single run when it takes over a second)."""
    best, spent, result = float("inf"), 0.0, None
    for _ in range(5):
        result = None
        gc.collect()
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        best, spent = min(best, elapsed), spent + elapsed
        if best > 1.0 or spent > 2.0:
            break
    return result, best


def peak_mb(fn) -> float:
    """Peak traced memory of one call, in MB (its inputs already exist; its result counts)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak / 2**20


def measure(fn) -> tuple[object, float, float]:
    result, seconds = timed(fn)
    return result, seconds, peak_mb(fn)


HEADER = (f"{'measure':<22}{'ours s':>9}{'ref s':>9}{'ref/ours':>10}{'ours MB':>9}{'ref MB':>9}  "
          f"{'target':<29}{'verdict':<18}values")


def row(name: str, ours: tuple[float, float | None], ref: tuple[float, float] | None, target: str,
        checks: dict[str, bool], values: str) -> None:
    ours_s, ours_mb = ours
    if ref is None:
        mb = "-" if ours_mb is None else f"{ours_mb:.1f}"
        print(f"{name:<22}{ours_s:>9.3f}{'-':>9}{'-':>10}{mb:>9}{'-':>9}  {'-':<29}{'-':<18}{values}")
        return
    ref_s, ref_mb = ref
    missed = [what for what, ok in checks.items() if not ok]
    verdict = "PASS" if not missed else "MISS " + ",".join(missed)
    print(f"{name:<22}{ours_s:>9.3f}{ref_s:>9.3f}{ref_s / ours_s:>9.1f}x{ours_mb:>9.1f}{ref_mb:>9.1f}  "
          f"{target:<29}{verdict:<18}{values}")


def bench_alpha(crowd: Crowd, references: bool) -> None:
    taxonomy = agreement.Taxonomy.from_parents(PARENTS)
    ours_distance = taxonomy.distance()
    table = ours_distance(np.arange(CLASSES)[:, None], np.arange(CLASSES)[None, :])

    def taxonomy_metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return table[v1.astype(np.int64), v2.astype(np.int64)].astype(dtype)

    data = crowd.reliability_data() if references else None
    domain = list(range(CLASSES))
    for name, ours_level, ref_level in [("nominal", "nominal", "nominal"), ("ordinal", "ordinal", "ordinal"),
                                        ("interval", "interval", "interval"), ("ratio", "ratio", "ratio"),
                                        ("taxonomy", ours_distance, taxonomy_metric)]:
        ours, ours_s, ours_mb = measure(lambda level=ours_level: agreement.krippendorff_alpha(
            crowd.item, crowd.label, level, n_values=CLASSES))
        if not references:
            row(f"alpha {name}", (ours_s, ours_mb), None, "", {}, f"alpha {ours:.6f}")
            continue
        theirs, ref_s, ref_mb = measure(lambda level=ref_level: krippendorff.alpha(
            reliability_data=data, level_of_measurement=level, value_domain=domain))
        row(f"alpha {name}", (ours_s, ours_mb), (ref_s, ref_mb), "time<=ref, mem<=ref",
            {"time": ours_s <= ref_s, "mem": ours_mb <= ref_mb},
            f"alpha {ours:.6f}, |diff| {abs(ours - float(theirs)):.1e}")


def bench_bootstrap(crowd: Crowd, memory: bool) -> None:
    """Time (and, when asked, the peak: a second run as long as the first) of our bootstrap interval."""
    def call():
        return agreement.bootstrap_alpha(crowd.item, crowd.label, "nominal", n_values=CLASSES, samples=RESAMPLES)

    interval, seconds = timed(call)
    low, high = interval
    row(f"bootstrap x{RESAMPLES}", (seconds, peak_mb(call) if memory else None), None, "", {},
        f"nominal alpha in [{low:.4f}, {high:.4f}]")


def bench_fleiss(crowd: Crowd, references: bool) -> None:
    counts = crowd.counts()
    ours, ours_s, ours_mb = measure(lambda: agreement.fleiss_kappa(counts))
    if not references:
        row("Fleiss kappa", (ours_s, ours_mb), None, "", {}, f"kappa {ours:.6f}")
        return
    theirs, ref_s, ref_mb = measure(lambda: sm_fleiss_kappa(counts))
    row("Fleiss kappa", (ours_s, ours_mb), (ref_s, ref_mb), "mem<=ref", {"mem": ours_mb <= ref_mb},
        f"kappa {ours:.6f}, |diff| {abs(ours - theirs):.1e}")


def bench_cohen(crowd: Crowd, references: bool) -> None:
    (kappa, _), ours_s, ours_mb = measure(lambda: agreement.pairwise_cohen(crowd.item, crowd.worker, crowd.label,
                                                                           ANNOTATORS, CLASSES))
    pairs = [(a, b) for a in range(ANNOTATORS) for b in range(a + 1, ANNOTATORS)]
    ours = np.array([kappa[a, b] for a, b in pairs])
    if not references:
        row("pairwise Cohen", (ours_s, ours_mb), None, "", {}, f"{len(pairs)} pairs, mean kappa {ours.mean():.4f}")
        return
    labels = crowd.matrix()
    theirs, ref_s, ref_mb = measure(lambda: np.array([cohen_kappa_score(labels[a], labels[b]) for a, b in pairs]))
    # Like for like: scikit-learn is handed each coder's label vector ready-made, so ours gets the same table.
    (table_kappa, _), table_s, table_mb = measure(lambda: agreement.pairwise_cohen_table(labels, CLASSES))
    row("pairwise Cohen", (table_s, table_mb), (ref_s, ref_mb), "x20 faster, mem<=ref",
        {"time": ref_s >= 20 * table_s, "mem": table_mb <= ref_mb},
        f"{len(pairs)} pairs, mean kappa {ours.mean():.4f}, max |diff| {np.abs(ours - theirs).max():.1e}; "
        f"from the annotation list {ours_s:.3f} s, {ours_mb:.1f} MB")


def bench_inference(crowd: Crowd, references: bool) -> None:
    args = (crowd.item, crowd.worker, crowd.label, crowd.items, ANNOTATORS, CLASSES)
    frame = crowd.frame() if references else None
    for name, ours_fn, target in [("majority vote", inference.majority_vote, "mem<=ref"),
                                  ("Dawid-Skene", inference.dawid_skene, "x20 faster, acc>=, mem<=ref")]:
        result, ours_s, ours_mb = measure(lambda fn=ours_fn: fn(*args))
        ours_right = int((result.answer == crowd.truth).sum())
        iterations = f", {result.iterations} iterations" if name == "Dawid-Skene" else ""
        if not references:
            row(name, (ours_s, ours_mb), None, "", {}, f"accuracy {ours_right / crowd.items:.5f}{iterations}")
            continue

        def reference(name=name):
            model = DawidSkene(n_iter=100) if name == "Dawid-Skene" else MajorityVote()
            return model, model.fit_predict(frame)

        (model, predicted), ref_s, ref_mb = measure(reference)
        theirs = predicted.sort_index().to_numpy()
        ref_right = int((theirs == crowd.truth).sum())
        checks = {"mem": ours_mb <= ref_mb}
        if name == "Dawid-Skene":
            checks = {"time": ref_s >= 20 * ours_s, "acc": ours_right >= ref_right, **checks}
            iterations += f" vs {len(model.loss_history_)}"
        row(name, (ours_s, ours_mb), (ref_s, ref_mb), target, checks,
            f"answers differ on {int((result.answer != theirs).sum()):,} items, accuracy "
            f"{ours_right / crowd.items:.5f} vs {ref_right / crowd.items:.5f}{iterations}")


def run(items: int, references: bool) -> None:
    crowd = Crowd(items)
    print(f"-- {items:,} items x {ANNOTATORS} annotators = {crowd.size:,} annotations, "
          f"{'with' if references else 'without'} references")
    print(HEADER)
    bench_alpha(crowd, references)
    bench_bootstrap(crowd, memory=references)
    bench_fleiss(crowd, references)
    bench_cohen(crowd, references)
    bench_inference(crowd, references)


def main() -> None:
    references = ", ".join(f"{name} {version(name)}" for name in
                           ("krippendorff", "statsmodels", "scikit-learn", "crowd-kit", "pandas"))
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; {ITEMS:,} items x {ANNOTATORS} annotators x "
          f"{CLASSES} classes = {ITEMS * ANNOTATORS:,} annotations, then {2 * ITEMS:,} items = "
          f"{2 * ITEMS * ANNOTATORS:,} ({'with' if FULL else 'ours only, no'} references); {references}")
    run(ITEMS, references=True)
    run(2 * ITEMS, references=FULL)


if __name__ == "__main__":
    main()
