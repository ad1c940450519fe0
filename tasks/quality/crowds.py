"""Crowds with a known truth, to measure truth inference on: seeded synthetic ones in the shape of the public
truth-inference benchmarks, and real ones read from their question/worker/answer rows.

The public benchmarks (Zheng et al., "Truth inference in crowdsourcing: is the problem solved?", VLDB 2017;
crowd-kit's datasets) are many annotators answering sparsely: each item gets 3-10 answers from a pool of
hundreds, a few annotators do most of the work and most do a little, classes have skewed priors, and the crowd
mixes careful, sloppy, spamming and adversarial people whose mistakes depend on the true class. `generate`
draws such a crowd from a `Shape`; `from_rows` reads the benchmark's own layout. bench/truth_bench.py and
tests/quality/test_truth_inference.py use both. Pure numpy; a seed gives the same crowd on every machine.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

KINDS = ("good", "mediocre", "spammer", "adversarial")
HARD_CONFUSION = 0.4  # on a hard item an honest annotator answers the neighbouring class this often
BLOCK = 4096          # items per block when drawing who answers what (a block x workers array of keys)


@dataclass(frozen=True)
class Shape:
    """What a generated crowd looks like.

    classes: how many; workers: the pool of annotators; answers: (fewest, most) answers per item, each item
    a uniform draw between; mix: shares of good (right 80-97% of the time per class), mediocre (50-75%),
    spammer (uniformly random, or always one class) and adversarial annotators (a systematic swap of classes,
    or a favourite class said 40% of the time); skew: the concentration of the Dirichlet the class priors are
    drawn from (below 1 a few classes dominate); activity: the Pareto index of how much each annotator works
    (lower: a longer tail); hard: the share of items honest annotators confuse with the next class.
    A good or mediocre annotator's mistakes go to a few classes per true class, not evenly.
    """

    name: str
    classes: int
    workers: int
    answers: tuple[int, int]
    mix: tuple[float, float, float, float] = (0.45, 0.3, 0.15, 0.1)
    skew: float = 2.0
    activity: float = 1.2
    hard: float = 0.15


SHAPES = (
    Shape("binary, 3 answers", 2, 500, (3, 3)),
    Shape("binary, 3-7 answers", 2, 300, (3, 7)),
    Shape("3 classes, half spam/adversarial", 3, 300, (3, 7), mix=(0.3, 0.2, 0.25, 0.25)),
    Shape("4 classes, 3-7 answers", 4, 300, (3, 7)),
    Shape("4 classes, 8-10 answers", 4, 100, (8, 10)),
    Shape("6 classes, skewed priors", 6, 300, (3, 6), skew=0.6),
    Shape("10 classes, 3-7 answers", 10, 400, (3, 7)),
    Shape("10 classes, 3-4 answers", 10, 500, (3, 4)),
)


@dataclass(frozen=True)
class Crowd:
    """Answers as lists of indices (item[i] was answered label[i] by worker[i]) and each item's truth (-1 where
    it is unknown). kind: per worker an index into KINDS (generated crowds only)."""

    name: str
    item: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    truth: np.ndarray
    n_workers: int
    n_classes: int
    kind: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return len(self.truth)

    @property
    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
        """The positional arguments of every tasks.quality.inference method."""
        return self.item, self.worker, self.label, self.n_items, self.n_workers, self.n_classes

    def accuracy(self, answer: np.ndarray) -> float:
        """The share of items with a known truth whose `answer` is it."""
        known = self.truth >= 0
        return float((answer[known] == self.truth[known]).mean()) if known.any() else float("nan")


def generate(shape: Shape, items: int, seed: int) -> Crowd:
    """`items` items answered by a crowd of `shape`, all drawn from `seed`."""
    rng = np.random.default_rng(seed)
    k = shape.classes
    truth = rng.choice(k, items, p=np.sort(rng.dirichlet(np.full(k, shape.skew)))[::-1])
    kind = rng.choice(len(KINDS), shape.workers, p=np.asarray(shape.mix) / sum(shape.mix))
    confusion = _confusions(rng, kind, k)
    item, worker = _who_answers(rng, shape, items)
    cumulative = confusion[worker, truth[item]].cumsum(axis=1)
    label = np.minimum((rng.random(len(item))[:, None] > cumulative).sum(axis=1), k - 1)
    hard = rng.random(items) < shape.hard
    confused = hard[item] & (kind[worker] <= 1) & (rng.random(len(item)) < HARD_CONFUSION)
    label = np.where(confused, (truth[item] + 1) % k, label)
    return Crowd(shape.name, item, worker, label, truth, shape.workers, k, kind)


def _confusions(rng: np.random.Generator, kind: np.ndarray, k: int) -> np.ndarray:
    """workers x truth x said: each annotator's P(says l | truth c), by kind."""
    n = len(kind)
    eye = np.eye(k, dtype=bool)
    accuracy = np.where((kind == 0)[:, None], rng.uniform(0.8, 0.97, (n, k)), rng.uniform(0.5, 0.75, (n, k)))
    others = np.array([[j for j in range(k) if j != c] for c in range(k)]).reshape(k, k - 1)
    confusion = np.zeros((n, k, k))
    if k > 1:  # mistakes spread over the other classes by a sparse Dirichlet: a few confusable ones per class
        errors = rng.dirichlet(np.full(k - 1, 0.5), size=(n, k)) * (1 - accuracy)[:, :, None]
        np.put_along_axis(confusion, np.broadcast_to(others, (n, k, k - 1)), errors, axis=2)
    confusion[:, eye] = accuracy
    uniform, favourite = rng.random(n) < 0.5, rng.integers(0, k, n)
    constant = np.zeros((n, k, k))
    constant[np.arange(n), :, favourite] = 1.0
    spammer = np.where(uniform[:, None, None], np.full((n, k, k), 1 / k), constant)
    swap = np.full((k, k), 0.1 / k)
    swap[np.arange(k), np.roll(np.arange(k), 1)] += 0.9
    biased = np.full((n, k, k), 0.3 / k) + 0.3 * eye
    biased[np.arange(n), :, favourite] += 0.4
    adversarial = np.where((uniform | (k == 2))[:, None, None], swap, biased)
    confusion = np.where((kind == 2)[:, None, None], spammer, confusion)
    confusion = np.where((kind == 3)[:, None, None], adversarial, confusion)
    return confusion / confusion.sum(axis=2, keepdims=True)


def _who_answers(rng: np.random.Generator, shape: Shape, items: int) -> tuple[np.ndarray, np.ndarray]:
    """(item, worker) per answer: each item's distinct annotators drawn in proportion to how much they work
    (Gumbel top-k over log weights, a block of items at a time)."""
    low, high = shape.answers
    count = np.minimum(rng.integers(low, high + 1, items), shape.workers)
    weight = np.log(rng.pareto(shape.activity, shape.workers) + 1.0)
    most = int(count.max()) if items else 0
    chosen = []
    for start in range(0, items, BLOCK):
        keys = weight + rng.gumbel(size=(min(BLOCK, items - start), shape.workers))
        top = np.argpartition(-keys, most - 1, axis=1)[:, :most]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1), axis=1)
        chosen.append(top[np.arange(most)[None, :] < count[start:start + len(keys), None]])
    item = np.repeat(np.arange(items), count)
    return item, np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def from_rows(name: str, answers: Iterable[tuple[str, str, str]], truths: Iterable[tuple[str, str]]) -> Crowd:
    """A crowd from text rows: (question, worker, answer) and (question, truth), as in the benchmark's
    answer.csv and truth.csv. Items are the questions answered (a truth for a question nobody answered is left
    out); classes are the distinct answers and truths, in numeric order when every one is a number."""
    rows = [(str(q), str(w), str(a)) for q, w, a in answers]
    known = {str(q): str(t) for q, t in truths}
    questions, item = np.unique(np.array([q for q, _, _ in rows], dtype=object), return_inverse=True)
    _, worker = np.unique(np.array([w for _, w, _ in rows], dtype=object), return_inverse=True)
    classes = sorted({a for _, _, a in rows} | {known[q] for q in questions if q in known}, key=_class_order)
    index = {c: i for i, c in enumerate(classes)}
    label = np.array([index[a] for _, _, a in rows], dtype=np.int64)
    truth = np.array([index[known[q]] if q in known else -1 for q in questions], dtype=np.int64)
    return Crowd(name, item.astype(np.int64), worker.astype(np.int64), label, truth, int(worker.max(initial=-1)) + 1,
                 len(classes))


def _class_order(value: str) -> tuple:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
