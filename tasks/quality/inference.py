"""Truth inference: majority vote and Dawid-Skene, per item an answer with a confidence, per annotator a
confusion matrix and a reliability; taxonomy back-off to the parent when the species is unsure.

Annotation lists again: item[i], worker[i], label[i] (indices). Dawid-Skene (Dawid & Skene 1979) runs EM
entirely on these arrays: the M-step is K weighted bincounts, the E-step a gather of log-confusions and
one bincount per class, so 500,000 annotations take well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

SMOOTHING = 0.01  # added to every confusion count: a class a worker never saw is unlikely, not impossible


@dataclass(frozen=True)
class Inference:
    posterior: np.ndarray     # items x classes, rows sum to 1 (items without annotations: all zeros)
    answer: np.ndarray        # items: the most probable class (-1 for items without annotations)
    confidence: np.ndarray    # items: the answer's posterior
    confusion: np.ndarray     # workers x classes x classes: P(worker says l | truth k)
    reliability: np.ndarray   # workers: the probability the worker's answer is right, by the class priors
    priors: np.ndarray        # classes
    iterations: int = 0


def _counts(item: np.ndarray, label: np.ndarray, n_items: int, n_classes: int) -> np.ndarray:
    return np.bincount(item * n_classes + label, minlength=n_items * n_classes).reshape(n_items, n_classes).astype(
        np.float64)


def _answers(posterior: np.ndarray, rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """The best class of each item; ties go to a seeded random pick among the tied (else the lowest index)."""
    best = posterior.max(axis=1)
    if rng is None:
        answer = posterior.argmax(axis=1)
    else:
        noise = rng.random(posterior.shape) * (posterior == best[:, None])
        answer = noise.argmax(axis=1)
    empty = posterior.sum(axis=1) == 0
    answer[empty] = -1
    return answer, np.where(empty, 0.0, best)


def _confusions(posterior: np.ndarray, item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_workers: int,
                n_classes: int) -> np.ndarray:
    """workers x truth x said: expected counts under the posterior, smoothed and normalised per truth row."""
    counts = np.empty((n_classes, n_workers * n_classes))
    index = worker * n_classes + label
    for k in range(n_classes):
        counts[k] = np.bincount(index, weights=posterior[item, k], minlength=n_workers * n_classes)
    confusion = counts.reshape(n_classes, n_workers, n_classes).transpose(1, 0, 2) + SMOOTHING
    return confusion / confusion.sum(axis=2, keepdims=True)


def _reliability(confusion: np.ndarray, priors: np.ndarray) -> np.ndarray:
    return np.einsum("k,wkk->w", priors, confusion)


def majority_vote(item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_items: int, n_workers: int,
                  n_classes: int, *, seed: int | None = 0) -> Inference:
    """Vote shares as the posterior; per worker the confusion against the majority answer."""
    item, worker, label = (np.asarray(x, dtype=np.int64) for x in (item, worker, label))
    counts = _counts(item, label, n_items, n_classes)
    totals = counts.sum(axis=1, keepdims=True)
    posterior = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    answer, confidence = _answers(posterior, np.random.default_rng(seed) if seed is not None else None)
    hard = np.zeros_like(posterior)
    hard[answer >= 0, answer[answer >= 0]] = 1.0
    confusion = _confusions(hard, item, worker, label, n_workers, n_classes)
    priors = hard.sum(axis=0) / max(hard.sum(), 1)
    return Inference(posterior, answer, confidence, confusion, _reliability(confusion, priors), priors)


def dawid_skene(item: np.ndarray, worker: np.ndarray, label: np.ndarray, n_items: int, n_workers: int,
                n_classes: int, *, max_iterations: int = 100, tolerance: float = 1e-7,
                seed: int | None = 0) -> Inference:
    """Dawid-Skene EM, started from the majority vote's shares."""
    item, worker, label = (np.asarray(x, dtype=np.int64) for x in (item, worker, label))
    counts = _counts(item, label, n_items, n_classes)
    totals = counts.sum(axis=1, keepdims=True)
    labelled = totals[:, 0] > 0
    posterior = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    iterations = 0
    priors = np.full(n_classes, 1 / n_classes)
    confusion = np.full((n_workers, n_classes, n_classes), 1 / n_classes)
    for step in range(1, max_iterations + 1):
        iterations = step
        # M-step: class priors and every worker's confusion from the current posteriors.
        priors = posterior[labelled].sum(axis=0) + SMOOTHING
        priors /= priors.sum()
        confusion = _confusions(posterior, item, worker, label, n_workers, n_classes)
        # E-step: log P(truth k | answers) = log prior_k + sum over the item's answers of log confusion[w, k, said].
        evidence = np.log(confusion)[worker, :, label]  # annotations x classes
        log_post = np.empty((n_items, n_classes))
        for k in range(n_classes):
            log_post[:, k] = np.bincount(item, weights=evidence[:, k], minlength=n_items)
        log_post += np.log(priors)
        updated = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
        updated[~labelled] = 0.0
        change = np.abs(updated - posterior).max() if n_items else 0.0
        posterior = updated
        if change < tolerance:
            break
    answer, confidence = _answers(posterior, np.random.default_rng(seed) if seed is not None else None)
    return Inference(posterior, answer, confidence, confusion, _reliability(confusion, priors), priors, iterations)


def back_off(posterior: np.ndarray, parent: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Answers that climb the taxonomy while unsure: (answer, confidence) per item.

    A label's mass is its own posterior plus its descendants'. When the best label's posterior is below
    `threshold`, the answer is its nearest ancestor whose mass reaches it ("Warbler" rather than a guessed
    species); when no ancestor does, the best label stays, with its own posterior.
    """
    n_items, n_classes = posterior.shape
    # mass = posterior @ M where M[c, a] = 1 when a is c or one of c's ancestors.
    membership = np.eye(n_classes)
    for c in range(n_classes):
        a = parent[c]
        while a >= 0:
            membership[c, a] = 1.0
            a = parent[a]
    mass = posterior @ membership
    answer = posterior.argmax(axis=1)
    confidence = posterior[np.arange(n_items), answer]
    empty = posterior.sum(axis=1) == 0
    current = answer.copy()
    unsure = (confidence < threshold) & ~empty
    climbing = unsure.copy()
    while climbing.any():
        current = np.where(climbing, parent[current], current)
        climbing &= current >= 0
        reached = climbing & (mass[np.arange(n_items), np.maximum(current, 0)] >= threshold)
        answer = np.where(reached, current, answer)
        confidence = np.where(reached, mass[np.arange(n_items), np.maximum(current, 0)], confidence)
        climbing &= ~reached
    answer[empty] = -1
    confidence[empty] = 0.0
    return answer, confidence
