"""Truth inference: majority vote, Dawid-Skene and Dawid-Skene with a crowd prior, per item an answer with a
confidence, per annotator a confusion matrix and a reliability; taxonomy back-off to the parent when the species
is unsure.

Annotation lists again: item[i], worker[i], label[i] (indices). Dawid-Skene (Dawid & Skene 1979) runs EM
as sparse matrix products over these arrays (see `dawid_skene`), no loop over items or workers. METHODS maps
a project's `aggregation` to its function; bench/truth_bench.py measures them against crowd-kit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

SMOOTHING = 0.01  # added to every confusion count: a class a worker never saw is unlikely, not impossible
# dawid_skene_prior: pseudo-answers per true class in every annotator's confusion prior (CROWD_PRIOR), and the
# answers at the crowd's accuracy that pull an annotator's own accuracy toward it (SKILL_PRIOR). On the generated
# crowds of bench/truth_bench.py, 2 did better than 1 and nearly as well as 3 on average, and lost less than 3
# where it lost (dense binary crowds); SKILL_PRIOR between 2 and 10 made no difference worth the name.
CROWD_PRIOR = 2.0
SKILL_PRIOR = 5.0


@dataclass(frozen=True)
class Inference:
    posterior: np.ndarray     # items x classes, rows sum to 1 (items without annotations: all zeros)
    answer: np.ndarray        # items: the most probable class (-1 for items without annotations)
    confidence: np.ndarray    # items: the answer's posterior
    confusion: np.ndarray | None  # Dawid-Skene: workers x classes x classes, P(worker says l | truth k)
    reliability: np.ndarray   # workers: the probability the worker's answer is right
    priors: np.ndarray        # classes
    iterations: int = 0


def _counts(item: np.ndarray, label: np.ndarray, n_items: int, n_classes: int) -> np.ndarray:
    return np.bincount(item * n_classes + label, minlength=n_items * n_classes).reshape(n_items, n_classes).astype(
        np.float64)


def _answers(posterior: np.ndarray, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """The best class of each item; ties go to a seeded random pick among the tied (else the lowest index)."""
    answer = posterior.argmax(axis=1)
    best = posterior[np.arange(len(posterior)), answer]
    if rng is not None:
        tied = np.flatnonzero((posterior == best[:, None]).sum(axis=1) > 1)
        if len(tied):
            rows = posterior[tied]
            noise = rng.random(rows.shape) * (rows == best[tied, None])
            answer[tied] = noise.argmax(axis=1)
    empty = best == 0  # a posterior row of zeros: no annotations
    answer[empty] = -1
    return answer, np.where(empty, 0.0, best)


def _reliability(confusion: np.ndarray, priors: np.ndarray) -> np.ndarray:
    return np.einsum("k,wkk->w", priors, confusion)


def majority_vote(item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_items: int, n_workers: int,
                  n_classes: int, *, seed: int | None = 0) -> Inference:
    """Vote shares as the posterior; a worker's reliability is the share of their answers equal to the answer.

    No confusion matrices (classes^2 numbers per worker): a majority vote does not need them.
    """
    item, worker, label = (np.asarray(x, dtype=np.int64) for x in (item, worker, label))
    counts = _counts(item, label, n_items, n_classes)
    totals = counts.sum(axis=1, keepdims=True)
    posterior = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    answer, confidence = _answers(posterior, np.random.default_rng(seed) if seed is not None else None)
    given = np.bincount(worker, minlength=n_workers).astype(np.float64)
    right = np.bincount(worker, weights=(label == answer[item]).astype(np.float64), minlength=n_workers)
    reliability = np.divide(right, given, out=np.zeros(n_workers), where=given > 0)
    priors = np.bincount(answer[answer >= 0], minlength=n_classes) / max(int((answer >= 0).sum()), 1)
    return Inference(posterior, answer, confidence, None, reliability, priors)


def dawid_skene(item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_items: int, n_workers: int,
                n_classes: int, *, max_iterations: int = 100, tolerance: float = 1e-6,
                seed: int | None = 0, crowd_prior: float = 0.0) -> Inference:
    """Dawid-Skene EM, started from the majority vote's shares.

    The answers are a sparse items x (worker, said) indicator X, so both steps are one sparse product:
    E-step log P(truth k | answers of i) = log prior_k + (X @ log C)[i, k], with C[(w, said), k] the worker's
    confusion; M-step expected counts = X^T @ posterior. EM stops when the log-likelihood per annotation
    gains less than `tolerance` (crowd-kit's criterion, one tenth of its default), or after `max_iterations`.
    `crowd_prior`: see `dawid_skene_prior` (0: maximum likelihood, SMOOTHING aside).
    """
    item, worker, label = (np.asarray(x, dtype=np.int64) for x in (item, worker, label))
    answers = sparse.csr_matrix((np.ones(len(item)), (item, worker * n_classes + label)),
                                shape=(n_items, n_workers * n_classes))
    counts = _counts(item, label, n_items, n_classes)
    totals = counts.sum(axis=1, keepdims=True)
    labelled = totals[:, 0] > 0
    posterior = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    priors = np.full(n_classes, 1 / n_classes)
    confusion = np.full((n_workers, n_classes, n_classes), 1 / n_classes)
    likelihood, iterations = -np.inf, 0
    everyone = bool(labelled.all())
    # Classes x items inside the loop: the per-item max and sum then run across 10 contiguous rows, not
    # along 100,000 rows of 10, which is several times faster in numpy.
    posterior = np.ascontiguousarray(posterior.T)
    for step in range(1, max_iterations + 1):
        iterations = step
        # M-step: class priors and every worker's confusion from the current posteriors (unlabelled items are 0).
        priors = posterior.sum(axis=1) + SMOOTHING
        priors /= priors.sum()
        expected = (answers.T @ posterior.T).reshape(n_workers, n_classes, n_classes).transpose(0, 2, 1)
        _add_prior(expected, crowd_prior)
        confusion = expected / expected.sum(axis=2, keepdims=True)
        # E-step, in place on one classes x items array.
        log_confusion = np.log(confusion).transpose(0, 2, 1).reshape(n_workers * n_classes, n_classes)
        posterior = np.ascontiguousarray((answers @ log_confusion).T)
        posterior += np.log(priors)[:, None]
        top = posterior.max(axis=0)
        posterior -= top
        np.exp(posterior, out=posterior)
        total = posterior.sum(axis=0)
        posterior /= total
        if not everyone:
            posterior[:, ~labelled] = 0.0
        log_evidence = top + np.log(total)
        updated = float(log_evidence.sum() if everyone else log_evidence[labelled].sum()) / max(len(item), 1)
        if updated - likelihood < tolerance:
            break
        likelihood = updated
    posterior = np.ascontiguousarray(posterior.T)
    answer, confidence = _answers(posterior, np.random.default_rng(seed) if seed is not None else None)
    return Inference(posterior, answer, confidence, confusion, _reliability(confusion, priors), priors, iterations)


def dawid_skene_prior(item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_items: int, n_workers: int,
                      n_classes: int, *, strength: float = CROWD_PRIOR, **options) -> Inference:
    """Dawid-Skene with a Dirichlet prior on every annotator's confusion, drawn from the crowd (MAP-EM).

    Plain Dawid-Skene fits classes^2 numbers to an annotator with five answers and believes them. Here each row
    k of an annotator's confusion gets `strength` pseudo-answers (Dirichlet counts) spread like a guess at that
    annotator: right as often as their answers so far say (their expected right answers plus SKILL_PRIOR
    answers at the crowd's accuracy), and wrong the way the whole crowd is wrong about class k. The guess is
    re-made from the current posteriors at every M-step (an empirical-Bayes prior), which then takes the
    posterior mode: (expected counts + pseudo-counts) normalised. A newcomer is a typical annotator of their
    own skill; their own pattern of mistakes takes over answer by answer, so on dense crowds this is plain
    Dawid-Skene. On sparse ones (hundreds of annotators, 3-7 answers per item) it is several points more
    accurate, most with many classes; bench/truth_bench.py measures it. `options`: as `dawid_skene`.
    """
    return dawid_skene(item, worker, label, n_items, n_workers, n_classes, crowd_prior=strength, **options)


def _add_prior(expected: np.ndarray, strength: float) -> None:
    """Add to the expected counts (workers x truth x said, in place) what the M-step adds: SMOOTHING, and
    with a crowd prior `strength` pseudo-answers per true class as `dawid_skene_prior` describes."""
    expected += SMOOTHING
    if not strength:
        return
    n_classes = expected.shape[1]
    diagonal = np.arange(n_classes)
    pooled = expected.sum(axis=0)
    pooled[diagonal, diagonal] = 0.0
    wrong = pooled.sum(axis=1, keepdims=True)
    mistakes = np.divide(pooled, wrong, out=np.zeros_like(pooled), where=wrong > 0)  # truth -> where its errors go
    right = np.einsum("wkk->w", expected)
    given = expected.sum(axis=(1, 2))
    crowd = right.sum() / given.sum()
    skill = (right + SKILL_PRIOR * crowd) / (given + SKILL_PRIOR)
    for k in range(n_classes):  # row by row: a workers x classes temporary, not another workers x classes^2
        expected[:, k, :] += strength * np.outer(1 - skill, mistakes[k])
    expected[:, diagonal, diagonal] += strength * skill[:, None]


METHODS = {"majority": majority_vote, "dawid_skene": dawid_skene, "dawid_skene_prior": dawid_skene_prior}


def back_off(posterior: np.ndarray, ancestors: np.ndarray, threshold: float,
             allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Answers that climb the taxonomy while unsure: (answer node, confidence) per item.

    `ancestors[c]` is class c's path of node ids from its root down to itself, padded with -1 (a node may
    be a label nobody chose, e.g. the genus above two species). A node's mass is the posterior of every
    class at or below it (an answer "Warbler" is right whichever warbler it is), and an answer's confidence
    is its mass. The answer is the most probable class; while its mass is below `threshold` it climbs to
    the nearest ancestor (`allowed[node]`, if given, must be true) whose mass reaches the threshold
    ("Warbler" rather than a guessed species). When none does, the most probable class stays, with its mass.
    Memory: one items x classes mask per level of the tree.
    """
    n_items, n_classes = posterior.shape
    ancestors = np.asarray(ancestors, dtype=np.int64).reshape(n_classes, -1)
    empty = posterior.sum(axis=1) == 0
    answer = np.full(n_items, -1, dtype=np.int64)
    confidence = np.zeros(n_items)
    if n_classes == 0 or n_items == 0:
        return answer, confidence
    best = posterior.argmax(axis=1)
    level = (ancestors >= 0).sum(axis=1)[best] - 1  # the best class's own level in the tree
    answer = ancestors[best, level]
    for d in np.unique(level):
        rows = np.flatnonzero((level == d) & ~empty)
        confidence[rows] = _mass(posterior[rows], ancestors[:, d], answer[rows])
    climbing = (confidence < threshold) & ~empty
    for d in range(ancestors.shape[1] - 2, -1, -1):
        rows = np.flatnonzero(climbing & (level > d))
        if len(rows) == 0:
            continue
        node = ancestors[best[rows], d]
        mass = _mass(posterior[rows], ancestors[:, d], node)
        ok = mass >= threshold
        if allowed is not None:
            ok &= allowed[node]
        answer[rows[ok]], confidence[rows[ok]] = node[ok], mass[ok]
        climbing[rows[ok]] = False
    answer[empty] = -1
    confidence[empty] = 0.0
    return answer, confidence


def _mass(posterior: np.ndarray, column: np.ndarray, node: np.ndarray) -> np.ndarray:
    """Per row, the posterior of the classes whose ancestor at one level (`column`) is that row's node."""
    return (posterior * (column[None, :] == node[:, None])).sum(axis=1)
