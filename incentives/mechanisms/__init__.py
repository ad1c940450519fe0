"""Reward mechanisms: what share of a task's agreement bonus each of its answers earns. Pure numpy on arrays, no
session and no app, so the ledger (incentives.payments.settle), the crowd simulator (incentives.simulate) and
the counterfactual replay call the very same functions on the same numbers.

A mechanism prices one settled task at a time (`price`), given the task's answers (`TaskAnswers`) and what the
platform knew about each of their workers from the tasks settled before it (`History`). Each answer gets a
fraction in [0, 1] of the bonus and a short machine-readable reason (kept in the wallet line's details).
`Memory` is that history kept in memory, for the simulator and the replay; the ledger reads the same history
from its own rows (incentives.payments).

- `agreement`: today's rule. The answer's agreement score with the task's consensus: 1 - the taxonomy
  distance of its label to the consensus label, localisation x label per matched object for geometry
  (tasks.quality.scores); on a gold task its gold score.
- `gold`: the worker's gold accuracy, Beta(a, b)-smoothed: (credit on gold answers so far + a) /
  (gold answers so far + a + b), this task's included when it is gold. Pays for what gold measures,
  whatever the crowd says; a worker who can tell gold tasks apart games it.
- `peer_prediction`: Correlated Agreement with the identity score matrix (Dasgupta & Ghosh 2013; Shnayder,
  Agarwal, Frongillo & Parkes 2016): against each peer on the task, 1 when their labels agree minus how
  often they would agree on distinct tasks, estimated as sum_k f_me(k) f_peer(k) from each one's labels on
  their last `window` earlier answers; the answer's score is the mean over its peers. Uninformative
  strategies (one constant label, or random labels) score 0 in expectation, so a colluding crowd gains
  nothing by agreeing. Per answer the score is noisy and may be negative; clipping it per answer would pay
  noise (E[max(0, X)] > 0 when E[X] = 0), so the worker's scores over their last `window` answers (this one
  included) are pooled. Even a window's mean is noisy, and clipping it would still pay for nothing, more to a
  constant answer (whose score varies more) than to a random one; so what pays is a lower bound, the mean
  less `z` standard errors (the variance shrunk towards 0.25, the most a 0/1 agreement can have, by one
  pseudo-answer) less `margin`: fraction = clip(`scale` x bound, 0, 1). The price: a newcomer's first
  answers earn little until their window fills. An answer with no peer who has a history gets no score of
  its own and is paid on the worker's running bound (0 with no scores yet).
- `posterior`: the probability that the answer is right under the task's consensus posterior (Dawid-Skene or
  vote shares, as the project infers its answers), given by the caller per answer.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.errors import InvalidInput

DEFAULT = "agreement"
PRIOR_VARIANCE = 0.25  # the largest a 0/1 agreement's variance can be


@dataclass(frozen=True)
class Param:
    default: float
    low: float
    high: float
    integer: bool = False
    help: str = ""


@dataclass(frozen=True)
class Mechanism:
    id: str
    name: str
    summary: str
    params: dict[str, Param]
    needs_labels: bool = False  # peer prediction and the posterior compare whole-item labels


REGISTRY: dict[str, Mechanism] = {m.id: m for m in (
    Mechanism("agreement", "Agreement with the consensus",
              "The bonus times the answer's agreement with the task's consensus (partial along the taxonomy; "
              "localisation x label for boxes, polygons and keypoints).", {}),
    Mechanism("gold", "Gold accuracy",
              "The bonus times the worker's gold accuracy so far, Beta(a, b)-smoothed.",
              {"a": Param(1.0, 0.0, 100.0, help="prior correct gold answers"),
               "b": Param(1.0, 0.0, 100.0, help="prior wrong gold answers")}),
    Mechanism("peer_prediction", "Peer prediction (Correlated Agreement)",
              "Agreement with a peer on the same task minus their agreement on distinct tasks; the worker's mean "
              "over a window, less a margin, times a scale, clipped to [0, 1]. Uninformative strategies earn "
              "nothing.",
              {"window": Param(50, 1, 1000, integer=True, help="answers in the running mean and the label frequencies"),
               "scale": Param(2.5, 0.1, 10.0, help="a bound of 1 / scale pays the whole bonus"),
               "z": Param(2.0, 0.0, 5.0, help="standard errors taken off the running mean"),
               "margin": Param(0.0, 0.0, 0.5, help="taken off the running mean as well")},
              needs_labels=True),
    Mechanism("posterior", "Posterior probability of being right",
              "The bonus times the probability, under the task's consensus posterior, that the answer's label "
              "is the true one.", {}, needs_labels=True),
)}


def stored(mechanism: str, params: dict | None) -> dict[str, float]:
    """Parameters as a project keeps them, read leniently: unknown keys (a parameter a later version dropped)
    are left out and the defaults fill in, so reading a project never fails on what was valid when written."""
    known = REGISTRY[mechanism].params if mechanism in REGISTRY else {}
    return validate(mechanism if mechanism in REGISTRY else DEFAULT,
                    {k: v for k, v in (params or {}).items() if k in known})


def validate(mechanism: Any, params: Any, *, field_name: str = "rewards") -> dict[str, float]:
    """The mechanism's parameters with defaults filled in; InvalidInput (422) naming the field otherwise."""
    if mechanism not in REGISTRY:
        raise InvalidInput({f"{field_name}.mechanism": [f"unknown mechanism; use one of {', '.join(REGISTRY)}"]})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput({f"{field_name}.mechanism_params": ["an object of parameter names to numbers"]})
    known = REGISTRY[mechanism].params
    out: dict[str, float] = {}
    for name, value in params.items():
        where = f"{field_name}.mechanism_params.{name}"
        if name not in known:
            allowed = ", ".join(known) or "none"
            raise InvalidInput({where: [f"unknown parameter of {mechanism}; it takes: {allowed}"]})
        spec = known[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
                or (spec.integer and float(value) != int(value)):
            raise InvalidInput({where: ["a whole number" if spec.integer else "a number"]})
        if not spec.low <= value <= spec.high:
            raise InvalidInput({where: [f"from {spec.low:g} to {spec.high:g}, not {value:g}"]})
        out[name] = int(value) if spec.integer else float(value)
    return {name: out.get(name, spec.default) for name, spec in known.items()}


@dataclass(frozen=True)
class TaskAnswers:
    """One task's counted answers, in answer order."""

    worker: np.ndarray      # per answer, the worker (any integer id)
    label: np.ndarray       # per answer, its whole-item label index, -1 without one
    score: np.ndarray       # per answer, agreement with the consensus (or the gold score on gold), 0..1
    posterior: np.ndarray   # per answer, P(its label is right) under the consensus posterior; nan when unknown
    gold: bool = False      # a gold task: `score` is each answer's credit against the gold truth

    def take(self, index: np.ndarray) -> TaskAnswers:
        """Some of the answers (those a settlement pays)."""
        return TaskAnswers(self.worker[index], self.label[index], self.score[index], self.posterior[index], self.gold)


@dataclass(frozen=True)
class History:
    """Per answer of a task, what its worker did on the tasks settled before it."""

    gold_credit: np.ndarray              # the sum of their gold credits
    gold_count: np.ndarray               # how many gold answers
    recent_labels: list[np.ndarray]      # the labels (>= 0) among their last `window` answers
    recent_scores: list[np.ndarray]      # the peer-prediction scores of their last `window - 1` answers (nan: none)


@dataclass(frozen=True)
class Priced:
    fraction: np.ndarray               # per answer, of the bonus, 0..1
    peer_score: np.ndarray             # per answer, its own peer-prediction score (nan without one)
    reasons: list[dict[str, Any]]      # per answer, the numbers behind its fraction


def empty_history(n: int) -> History:
    return History(np.zeros(n), np.zeros(n, dtype=np.int64), [np.zeros(0, dtype=np.int64)] * n,
                   [np.zeros(0)] * n)


def peer_scores(task: TaskAnswers, history: History) -> np.ndarray:
    """Per answer, its Correlated Agreement score against the task's other answers (see the module docstring);
    nan when no peer with a label has a history, or it has none itself."""
    labels = np.asarray(task.label, dtype=np.int64)
    n = len(labels)
    has = np.array([len(r) > 0 for r in history.recent_labels], dtype=bool) & (labels >= 0)
    out = np.full(n, np.nan)
    if has.sum() < 2:
        return out
    size = int(max(labels.max(), *(int(r.max()) for r in history.recent_labels if len(r)))) + 1
    freq = np.zeros((n, size))
    for i in np.flatnonzero(has):
        recent = history.recent_labels[i]
        freq[i] = np.bincount(recent, minlength=size) / len(recent)
    score = (labels[:, None] == labels[None, :]) - freq @ freq.T  # agreement here minus on distinct tasks
    pairs = has[:, None] & has[None, :] & ~np.eye(n, dtype=bool)
    counted = pairs.sum(axis=1)
    mean = np.where(pairs, score, 0.0).sum(axis=1) / np.maximum(counted, 1)
    return np.where(counted > 0, mean, np.nan)


def price(mechanism: str, params: dict[str, float], task: TaskAnswers, history: History, *,
          keep_peer_score: bool = True) -> Priced:
    """Each answer's share of the bonus under `mechanism` (validated `params`), see the module docstring.
    `keep_peer_score`: compute the answers' peer-prediction scores under any mechanism (the ledger keeps them,
    so a project can switch to peer prediction with its history intact)."""
    n = len(task.worker)
    wanted = keep_peer_score or mechanism == "peer_prediction"
    own = peer_scores(task, history) if wanted else np.full(n, np.nan)
    if mechanism == "agreement":
        fraction = np.clip(np.asarray(task.score, dtype=np.float64), 0.0, 1.0)
        reasons = [{"mechanism": mechanism, "agreement": _r(f)} for f in fraction]
    elif mechanism == "gold":
        a, b = params["a"], params["b"]
        credit = history.gold_credit + (np.asarray(task.score, dtype=np.float64) if task.gold else 0.0)
        count = history.gold_count + (1 if task.gold else 0)
        fraction = np.clip((credit + a) / (count + a + b), 0.0, 1.0) if a + b > 0 else np.where(
            count > 0, credit / np.maximum(count, 1), 0.0)
        reasons = [{"mechanism": mechanism, "gold_credit": _r(c), "gold_answers": int(k), "a": a, "b": b}
                   for c, k in zip(credit, count)]
    elif mechanism == "peer_prediction":
        fraction, reasons = np.zeros(n), []
        keep = int(params["window"]) - 1
        # Each answer's window as a row, nan-padded: its worker's scored earlier answers (the last `keep`) and
        # its own score; then the mean, its standard error (the variance shrunk towards PRIOR_VARIANCE by one
        # pseudo-answer) and the bound, for the task's answers at once.
        rows = np.full((n, keep + 1), np.nan)
        for i in range(n):
            earlier = history.recent_scores[i]
            earlier = earlier[~np.isnan(earlier)][-keep:] if keep > 0 else earlier[:0]
            rows[i, :len(earlier)] = earlier
            rows[i, keep] = own[i]
        present = ~np.isnan(rows)
        scored = present.sum(axis=1)
        values = np.where(present, rows, 0.0)
        mean = values.sum(axis=1) / np.maximum(scored, 1)
        spread = (np.where(present, rows - mean[:, None], 0.0) ** 2).sum(axis=1)
        error = np.sqrt((spread + PRIOR_VARIANCE) / (scored + 1) / np.maximum(scored, 1))
        bound = mean - params["z"] * error - params["margin"]
        fraction = np.where(scored > 0, np.clip(params["scale"] * bound, 0.0, 1.0), 0.0)
        reasons = [{"mechanism": mechanism, "score": _r(own[i]), "mean": _r(mean[i]), "scored": int(scored[i]),
                    "bound": _r(bound[i])} for i in range(n)]
    elif mechanism == "posterior":
        p = np.asarray(task.posterior, dtype=np.float64)
        fraction = np.clip(np.where(np.isfinite(p), p, 0.0), 0.0, 1.0)
        reasons = [{"mechanism": mechanism, "posterior": _r(f)} for f in fraction]
    else:
        raise KeyError(mechanism)
    return Priced(fraction, own, reasons)


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


@dataclass
class Memory:
    """The history of every worker in memory, fed the tasks in settle order (the simulator, the replay)."""

    window: int = 50
    gold_credit: dict[int, float] = field(default_factory=dict)
    gold_count: dict[int, int] = field(default_factory=dict)
    labels: dict[int, deque] = field(default_factory=dict)
    scores: dict[int, deque] = field(default_factory=dict)

    def history(self, task: TaskAnswers) -> History:
        ws = [int(w) for w in task.worker]
        labels = [np.array(self.labels.get(w, ()), dtype=np.int64) for w in ws]
        return History(np.array([self.gold_credit.get(w, 0.0) for w in ws]),
                       np.array([self.gold_count.get(w, 0) for w in ws], dtype=np.int64),
                       [said[said >= 0] for said in labels],
                       [np.array(self.scores.get(w, ()), dtype=np.float64) for w in ws])

    def record(self, task: TaskAnswers, peer_score: np.ndarray) -> None:
        """After the task settles: every answer counts in its worker's window, labelled or not, scored or not
        (as the ledger reads its last `window` settlements)."""
        for w, label, score, own in zip(task.worker, task.label, task.score, peer_score):
            w = int(w)
            if task.gold:
                self.gold_credit[w] = self.gold_credit.get(w, 0.0) + float(score)
                self.gold_count[w] = self.gold_count.get(w, 0) + 1
            self.labels.setdefault(w, deque(maxlen=self.window)).append(int(label))
            self.scores.setdefault(w, deque(maxlen=max(self.window - 1, 0))).append(float(own))
