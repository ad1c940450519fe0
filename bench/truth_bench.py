"""Truth inference on crowds with a known truth: ours beside crowd-kit, accuracy and time per dataset.

Datasets:
- generated (tasks.quality.crowds.SHAPES, seed BENCH_TRUTH_SEED, default 1): eight crowds with the shape of the
  public benchmarks, BENCH_TRUTH_ITEMS items each (default 10,000): 100 to 500 annotators with a long tail of
  activity, 3-10 answers per item, 2-10 classes with skewed priors, good, mediocre, spamming and adversarial
  annotators with per-class confusions, some hard items (BENCH_TRUTH_ITEMS=0: none, only the folders);
- with folders as arguments, every directory below them holding an `answer.csv` (question,worker,answer) and a
  `truth.csv` (question,truth), the layout of Zheng et al.'s benchmark ("Truth inference in crowdsourcing: is
  the problem solved?", VLDB 2017). Accuracy counts the items with a truth that someone answered. A dataset
  with more than 64 distinct answers (numeric answers) is skipped: the methods here are for classes.

Methods, on the same answers (each side's input prepared beforehand, so neither is charged for it): ours
(tasks.quality.inference.METHODS: majority, dawid_skene, dawid_skene_prior) and crowd-kit's MajorityVote,
DawidSkene(n_iter=100) and OneCoinDawidSkene(n_iter=100); BENCH_TRUTH_SLOW=1 adds crowd-kit's MACE and GLAD
(minutes per dataset). Per method: accuracy, its difference from crowd-kit's Dawid-Skene in points, wall time
(best of up to 5 runs within about 2 s; one run when it takes over a second) and crowd-kit Dawid-Skene's time
over it. Ties go to a seeded random class in ours and to crowd-kit's own rule in theirs.

Target (issue 20), checked for each of our methods on each dataset: at least crowd-kit's Dawid-Skene accuracy
minus 0.5 points, and at least our majority vote's. The last lines name the methods that met it everywhere.
Run: `python bench/truth_bench.py [folder ...]`.
"""
from __future__ import annotations

import csv
import os
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from crowdkit.aggregation import GLAD, MACE, DawidSkene, MajorityVote, OneCoinDawidSkene

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_bench import timed  # noqa: E402  (best of up to 5 runs within about 2 s, as there)
from tasks.quality import crowds, inference  # noqa: E402

warnings.filterwarnings("ignore", module=r"crowdkit(\.|$)")

ITEMS = int(os.environ.get("BENCH_TRUTH_ITEMS", 10_000))
SEED = int(os.environ.get("BENCH_TRUTH_SEED", 1))
SLOW = os.environ.get("BENCH_TRUTH_SLOW", "") not in ("", "0")
MAX_CLASSES = 64
TOLERANCE = 0.5  # points below crowd-kit's Dawid-Skene the target allows
REFERENCE = "crowd-kit DawidSkene"


def references() -> dict:
    found = {"crowd-kit MajorityVote": MajorityVote, REFERENCE: lambda: DawidSkene(n_iter=100),
             "crowd-kit OneCoinDawidSkene": lambda: OneCoinDawidSkene(n_iter=100)}
    if SLOW:
        found |= {"crowd-kit MACE": lambda: MACE(n_iter=50, random_state=0), "crowd-kit GLAD": lambda: GLAD(n_iter=30)}
    return found


def datasets(folders: list[str]) -> list[crowds.Crowd | str]:
    """The generated crowds, then each answer.csv/truth.csv pair under the folders (or a line saying why one
    is skipped)."""
    found: list[crowds.Crowd | str] = [crowds.generate(shape, ITEMS, SEED) for shape in crowds.SHAPES if ITEMS > 0]
    for folder in folders:
        pairs = sorted(p.parent for p in Path(folder).rglob("answer.csv") if (p.parent / "truth.csv").exists())
        if not pairs:
            found.append(f"{folder}: no directory with answer.csv and truth.csv")
        for directory in pairs:
            found.append(read_pair(directory, Path(folder)))
    return found


def read_pair(directory: Path, root: Path) -> crowds.Crowd | str:
    name = str(directory.relative_to(root)) if directory != root else directory.name
    with open(directory / "answer.csv", newline="", encoding="utf-8-sig") as answers, \
            open(directory / "truth.csv", newline="", encoding="utf-8-sig") as truths:
        answer_rows = [(r["question"], r["worker"], r["answer"]) for r in csv.DictReader(answers)]
        truth_rows = [(r["question"], r["truth"]) for r in csv.DictReader(truths)]
    crowd = crowds.from_rows(name, answer_rows, truth_rows)
    if crowd.n_classes > MAX_CLASSES:
        return f"{name}: skipped, {crowd.n_classes} distinct answers (numeric answers are not classes)"
    return crowd


def describe(crowd: crowds.Crowd) -> str:
    per_item = np.bincount(crowd.item, minlength=crowd.n_items)
    per_worker = np.bincount(crowd.worker, minlength=crowd.n_workers)
    known = crowd.truth[crowd.truth >= 0]
    prior = np.bincount(known, minlength=crowd.n_classes) / max(len(known), 1)
    return (f"-- {crowd.name}: {len(crowd.item):,} answers, {crowd.n_items:,} items ({len(known):,} with truth), "
            f"{crowd.n_workers:,} annotators, {crowd.n_classes} classes; answers per item {per_item.min()}-"
            f"{per_item.max()} (median {np.median(per_item):g}); per annotator median {np.median(per_worker):g}, "
            f"most {per_worker.max():,}; commonest class {prior.max():.0%}")


def run(crowd: crowds.Crowd) -> dict[str, tuple[float, float]]:
    """Method -> (accuracy, seconds), ours then crowd-kit's."""
    out = {}
    for name, method in inference.METHODS.items():
        result, seconds = timed(lambda method=method: method(*crowd.args))
        out[name] = (crowd.accuracy(result.answer), seconds)
    frame = pd.DataFrame({"task": crowd.item, "worker": crowd.worker, "label": crowd.label})
    for name, make in references().items():
        labels, seconds = timed(lambda make=make: make().fit_predict(frame))
        answer = labels.reindex(range(crowd.n_items)).fillna(-1).to_numpy(dtype=np.int64)
        out[name] = (crowd.accuracy(answer), seconds)
    return out


def report(results: dict[str, tuple[float, float]]) -> dict[str, bool]:
    """Print one line per method; return, for each of ours, whether it met the target here."""
    ref_accuracy, ref_seconds = results[REFERENCE]
    floor = max(ref_accuracy - TOLERANCE / 100, results["majority"][0])
    print(f"{'method':<30}{'accuracy':>10}{'vs ck DS':>10}{'seconds':>10}{'ck DS/this':>12}  target")
    met = {}
    for name, (accuracy, seconds) in results.items():
        verdict = ""
        if name in inference.METHODS:
            met[name] = accuracy >= floor - 1e-12
            verdict = "PASS" if met[name] else "MISS"
        print(f"{name:<30}{100 * accuracy:>9.2f}%{100 * (accuracy - ref_accuracy):>+10.2f}{seconds:>10.3f}"
              f"{ref_seconds / seconds:>11.1f}x  {verdict}")
    return met


def main(folders: list[str]) -> None:
    print(f"numpy {np.__version__}, pandas {pd.__version__}, crowd-kit {version('crowd-kit')}; generated crowds: "
          f"{ITEMS:,} items each, seed {SEED}; target: accuracy >= crowd-kit DawidSkene - {TOLERANCE} points "
          f"and >= majority vote")
    verdicts: dict[str, list[bool]] = {name: [] for name in inference.METHODS}
    for crowd in datasets(folders):
        if isinstance(crowd, str):
            print(f"-- {crowd}")
            continue
        print(describe(crowd))
        for name, met in report(run(crowd)).items():
            verdicts[name].append(met)
    everywhere = [name for name, met in verdicts.items() if all(met)]
    if not verdicts["majority"]:
        print("no datasets")
        return
    print(f"target met on all {len(verdicts['majority'])} datasets by: {', '.join(everywhere) or 'none'}")
    for name, met in verdicts.items():
        if not all(met):
            print(f"  {name} missed it on {met.count(False)} of {len(met)}")


if __name__ == "__main__":
    main(sys.argv[1:])
