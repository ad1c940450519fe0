"""A project's reward mechanism at settlement: its choice checked against its schema, and one task's answers
priced by incentives.mechanisms with the history the ledger holds (the same numbers incentives.simulate keeps
in memory). Flushes nothing, commits nothing.

The history of a worker is read from their settlements in the project, newest first, and only what the
mechanism uses (nothing for agreement and posterior, so the default adds no query to the submit that
completes a task): for peer prediction the labels of their last `window` settled answers and the scores
those settlements kept (only settlements under peer prediction keep one, so a project that switches to it
starts every worker's window afresh); for gold their gold credit. The task's consensus is its own majority vote with the taxonomy back-off (tasks.quality.consensus
.task_consensus, what the agreement score is measured against), so an answer's posterior of being right is
the share of the task's answers whose label lies in its label's subtree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.orm import Session

from annotator.db import PLAN_EACH_RUN
from annotator.errors import InvalidInput
from incentives import mechanisms as mech
from incentives.models import LedgerTransaction
from tasks.models import Annotation, Project, Task
from tasks.projects import current_schema
from tasks.quality.answers import labels_of
from tasks.quality.scores import Scored

PEER_WINDOW = mech.REGISTRY["peer_prediction"].params["window"].default
# The mechanisms that price an answer on its worker's earlier settlements in the project.
READS_HISTORY = ("gold", "peer_prediction")


def reads_history(project: Project) -> bool:
    """Whether the project's mechanism prices on the ledger's history, so its settlements must each see every
    settlement before it (incentives.payments.settle takes the project's settlement lock)."""
    return mechanism_of(project)[0] in READS_HISTORY


def mechanism_of(project: Project) -> tuple[str, dict[str, float]]:
    """The project's mechanism and its parameters, defaults filled in (the default mechanism when none is set)."""
    rewards = project.rewards or {}
    name = rewards.get("mechanism") or mech.DEFAULT
    name = name if name in mech.REGISTRY else mech.DEFAULT
    return name, mech.stored(name, rewards.get("mechanism_params"))


def shown_rewards(rewards: dict | None) -> dict[str, Any]:
    """A project's rewards as the API shows them: the mechanism always named, its parameters filled in."""
    rewards = dict(rewards or {})
    name = rewards.get("mechanism") or mech.DEFAULT
    name = name if name in mech.REGISTRY else mech.DEFAULT
    return {**rewards, "mechanism": name, "mechanism_params": mech.stored(name, rewards.get("mechanism_params"))}


def recommended(project: Project) -> str:
    """The mechanism a new project gets when its owner names none (incentives/STUDY.md): peer prediction when
    every answer is one whole-item label, the agreement rule otherwise (boxes, spans, several labels), where
    peer prediction has nothing to compare."""
    schema = current_schema(project)
    return "peer_prediction" if list(schema.tools) == ["classify"] and not schema.multi_label else mech.DEFAULT


def with_recommended(project: Project) -> None:
    """A new project whose rewards name no mechanism gets the recommended one, written down, so what it pays by
    does not change if the recommendation does."""
    rewards = dict(project.rewards or {})
    if "mechanism" not in rewards:
        name = recommended(project)
        project.rewards = {**rewards, "mechanism": name, "mechanism_params": mech.validate(
            name, rewards.get("mechanism_params") if "mechanism_params" in rewards else None)}


def check_rewards(project: Project, sent: dict | None = None) -> None:
    """Refuse (422, naming the field) a mechanism or parameter this project cannot use; keep its parameters with
    the defaults filled in, so a settlement says which numbers it used. `sent`: the rewards the request sent;
    only a mechanism or parameters sent are checked strictly (what is stored is read as `stored` reads it)."""
    rewards = dict(project.rewards or {})
    if "mechanism" not in rewards and "mechanism_params" not in rewards:
        return
    name = rewards.get("mechanism") or mech.DEFAULT
    strict = sent is None or "mechanism" in sent or "mechanism_params" in sent
    params = mech.validate(name, rewards.get("mechanism_params")) if strict else \
        mech.stored(name, rewards.get("mechanism_params"))
    schema = current_schema(project)
    if mech.REGISTRY[name].needs_labels and ("classify" not in schema.tools or schema.multi_label):
        raise InvalidInput({"rewards.mechanism": [
            f"{name} compares whole-item labels: it needs the classify tool with one label per answer"]})
    project.rewards = {**rewards, "mechanism": name, "mechanism_params": params}


@dataclass(frozen=True)
class Price:
    fraction: float
    peer_score: float | None
    reason: dict[str, Any]


def price_task(session: Session, project: Project, task: Task, rows: list[tuple[int, int, dict]],
               scores: dict[int, Scored]) -> dict[int, Price]:
    """Per counted answer of the task (rows: annotation id, user id, result), its share of the bonus."""
    name, params = mechanism_of(project)
    labels = labels_of(project)
    schema = current_schema(project)
    single = "classify" in schema.tools and not schema.multi_label

    def label(result: dict | None) -> int:
        given = (result or {}).get("labels") or []
        return labels.index.get(given[0], -1) if single and len(given) == 1 else -1

    users = [user_id for _, user_id, _ in rows]
    said = np.array([label(result) for _, _, result in rows], dtype=np.int64)
    window = int(params.get("window", PEER_WINDOW))
    answers = mech.TaskAnswers(np.array(users, dtype=np.int64), said,
                               np.array([(scores.get(a) or Scored(0.0)).value for a, _, _ in rows]),
                               posterior_of(labels, said), bool(task.is_gold))
    history = _history(session, project, users, window, label, name)
    priced = mech.price(name, params, answers, history, keep_peer_score=False)
    return {annotation_id: Price(float(priced.fraction[n]),
                                 None if not np.isfinite(priced.peer_score[n]) else float(priced.peer_score[n]),
                                 {**priced.reasons[n], "params": params})
            for n, (annotation_id, _, _) in enumerate(rows)}


def posterior_of(labels, said: np.ndarray) -> np.ndarray:
    """Per answer, the vote share of the task's labelled answers lying in its label's subtree (nan unlabelled)."""
    out = np.full(len(said), np.nan)
    given = said[said >= 0]
    if not len(given):
        return out
    for n, value in enumerate(said):
        if value >= 0:
            under = [_within(labels.parent, g, int(value)) for g in given]
            out[n] = float(np.mean(under))
    return out


def _within(parent: np.ndarray, node: int, root: int) -> bool:
    while node >= 0:
        if node == root:
            return True
        node = int(parent[node])
    return False


# A worker's latest settled answers in a project, newest first (prebuilt: it runs in every settlement under peer
# prediction, once per worker of the task).
_RECENT_SETTLED = (select(Annotation.result, LedgerTransaction.details)
                   .join(LedgerTransaction, LedgerTransaction.annotation_id == Annotation.id)
                   .where(Annotation.project_id == bindparam("project_id"), Annotation.user_id == bindparam("user_id"),
                          LedgerTransaction.kind == "bonus")
                   .order_by(LedgerTransaction.id.desc()).limit(bindparam("window"))
                   .execution_options(**{PLAN_EACH_RUN: True}))  # its plan depends on the worker's history


# PostgreSQL: every worker's at once (a LATERAL scan per worker), one round trip under the settlement lock.
_RECENT_SETTLED_ALL = text("""
SELECT worker.user_id, recent.result, recent.details
FROM unnest(CAST(:users AS integer[])) AS worker(user_id)
CROSS JOIN LATERAL (
  SELECT annotations.result, ledger_transactions.details, ledger_transactions.id
  FROM annotations JOIN ledger_transactions ON ledger_transactions.annotation_id = annotations.id
  WHERE annotations.project_id = :project_id AND annotations.user_id = worker.user_id
    AND ledger_transactions.kind = 'bonus'
  ORDER BY ledger_transactions.id DESC LIMIT :window) AS recent
ORDER BY worker.user_id, recent.id""").columns(
    user_id=Integer(), result=Annotation.__table__.c.result.type, details=LedgerTransaction.__table__.c.details.type
).execution_options(**{PLAN_EACH_RUN: True})


def _recent_settled(session: Session, project_id: int, users: list[int], window: int) -> dict[int, list]:
    """Each worker's latest `window` settled answers in the project, oldest first: (result, settlement details)."""
    out: dict[int, list] = {user_id: [] for user_id in users}
    if not users:
        return out
    if session.get_bind().dialect.name == "postgresql":
        for user_id, result, details in session.execute(_RECENT_SETTLED_ALL, {
                "users": users, "project_id": project_id, "window": window}):
            out[user_id].append((result, details))
        return out
    for user_id in users:
        out[user_id] = [tuple(row) for row in session.execute(_RECENT_SETTLED, {
            "project_id": project_id, "user_id": user_id, "window": window}).all()[::-1]]
    return out


def _history(session: Session, project: Project, users: list[int], window: int, label, name: str) -> mech.History:
    """What the ledger knows of each worker from their settlements in this project so far, as far as the
    mechanism `name` uses it."""
    if name not in READS_HISTORY:
        return mech.empty_history(len(users))
    distinct = sorted(set(users)) if name == "peer_prediction" else []
    gold = {} if name != "gold" else {user_id: (float(credit or 0.0), int(count)) for user_id, credit, count in session.execute(
        select(Annotation.user_id, func.sum(Annotation.gold_score), func.count())
        .join(Task, Task.id == Annotation.task_id)
        .join(LedgerTransaction, LedgerTransaction.annotation_id == Annotation.id)
        .where(Annotation.project_id == project.id, Annotation.user_id.in_(sorted(set(users))), Task.is_gold.is_(True),
               LedgerTransaction.kind == "bonus")
        .group_by(Annotation.user_id))}
    recent: dict[int, tuple[np.ndarray, np.ndarray]] = {u: (np.zeros(0, dtype=np.int64), np.zeros(0)) for u in users}
    for user_id, rows in _recent_settled(session, project.id, distinct, window).items():
        said = [label(result) for result, _ in rows]
        peer = [(details or {}).get("peer_score") for _, details in rows][-(window - 1):] if window > 1 else []
        recent[user_id] = (np.array([s for s in said if s >= 0], dtype=np.int64),
                           np.array([np.nan if p is None else p for p in peer], dtype=np.float64))
    return mech.History(np.array([gold.get(u, (0.0, 0))[0] for u in users]),
                        np.array([gold.get(u, (0.0, 0))[1] for u in users], dtype=np.int64),
                        [recent[u][0] for u in users], [recent[u][1] for u in users])
