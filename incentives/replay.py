"""Counterfactual replay: a project's settled answers priced again under every reward mechanism, in the order
they settled and with the same inputs, so each annotator's actual pay stands beside what each mechanism
would have paid. No money moves.

The settlements are the project's `bonus` transactions in order: a completed task's answers settled together,
a gold task's one at a time (incentives.simulate.Event). Each is priced by incentives.mechanisms with the
history kept in memory, as the simulator does; its inputs are what the ledger kept (the agreement score,
written into every settlement since rule version 3, recomputed from the task's answers for older ones) and
the answers' labels. An answer keeps the base its credit paid; one taken back by a reviewer earns nothing under
any mechanism; one not settled yet earns its base. Under the project's own mechanism, with its rates unchanged
since, the replay pays what the ledger paid, to the minor unit.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives import ledger
from incentives import mechanisms as mech
from incentives import pricing
from incentives.models import Account, Entry, LedgerTransaction
from incentives.rules import Rates
from tasks.models import Annotation, Project, Task
from tasks.projects import current_schema
from tasks.quality.answers import labels_of
from tasks.quality.scores import answer_scores


def replay(session: Session, project: Project) -> dict[str, Any]:
    """{"mechanisms": [ids], "own": the project's, "annotators": [{"user_id", "display_name", "answers",
    "actual", "by_mechanism": {id: amount}}]} (minor units; annotators by actual pay, highest first)."""
    ids = list(mech.REGISTRY)
    own, _ = pricing.mechanism_of(project)
    answers = {row.id: row for row in session.execute(
        select(Annotation.id, Annotation.task_id, Annotation.user_id, Annotation.result, Annotation.gold_score,
               Task.is_gold).join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project.id, Annotation.counted.is_(True)).order_by(Annotation.id))}
    earned = defaultdict(int)   # annotation -> what the ledger paid for it, net
    for annotation_id, total in session.execute(ledger.entry_sums(
            LedgerTransaction.annotation_id, kinds=ledger.EARNED_INTO,
            where=(LedgerTransaction.project_id == project.id, LedgerTransaction.annotation_id.is_not(None)))):
        earned[annotation_id] = int(total)
    base = {annotation_id: int(amount) for annotation_id, amount in session.execute(
        select(LedgerTransaction.annotation_id, Entry.amount).join(Entry, Entry.transaction_id == LedgerTransaction.id)
        .join(Account, Account.id == Entry.account_id)
        .where(LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "credit",
               Account.kind == "wallet_pending"))}
    taken_back = set(session.scalars(select(LedgerTransaction.annotation_id).where(
        LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "clawback")))
    settled = session.execute(select(LedgerTransaction.task_id, LedgerTransaction.annotation_id,
                                     LedgerTransaction.details)
                              .where(LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "bonus",
                                     LedgerTransaction.annotation_id.is_not(None))
                              .order_by(LedgerTransaction.id)).all()
    bonus = _replayed(session, project, answers, settled, ids)
    by_user: dict[int, dict[str, Any]] = {}
    for annotation_id, row in answers.items():
        if annotation_id not in base and annotation_id not in earned:
            continue  # never credited (an unpaid project, or before it paid)
        mine = by_user.setdefault(row.user_id, {"user_id": row.user_id, "answers": 0, "actual": 0,
                                                "by_mechanism": dict.fromkeys(ids, 0)})
        mine["answers"] += 1
        mine["actual"] += earned.get(annotation_id, 0)
        for name in ids:
            if annotation_id not in taken_back:
                mine["by_mechanism"][name] += base.get(annotation_id, 0) + bonus[name].get(annotation_id, 0)
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(list(by_user)))).all())
    rows = sorted(by_user.values(), key=lambda r: (-r["actual"], r["user_id"]))
    return {"mechanisms": ids, "own": own,
            "annotators": [{**r, "display_name": names.get(r["user_id"], "")} for r in rows]}


def _replayed(session: Session, project: Project, answers: dict, settled: list, ids: list[str]) -> dict[str, dict]:
    """Per mechanism, per settled answer, the bonus it would have earned."""
    labels, schema = labels_of(project), current_schema(project)
    single = "classify" in schema.tools and not schema.multi_label
    rates = Rates.of(project.rewards)
    own, own_params = pricing.mechanism_of(project)
    params = {name: own_params if name == own else mech.validate(name, {}) for name in ids}

    def label(result: dict | None) -> int:
        given = (result or {}).get("labels") or []
        return labels.index.get(given[0], -1) if single and len(given) == 1 else -1

    details = {annotation_id: d or {} for _, annotation_id, d in settled}
    recomputed: dict[int, dict] = {}  # task -> answer_scores, for settlements from before rule version 3
    groups = [[a for _, a, _ in run] for _, run in itertools.groupby(
        settled, key=lambda row: (row[0], row[1]) if answers.get(row[1]) is not None and answers[row[1]].is_gold
        else (row[0], None))]
    memories = {name: mech.Memory(window=int(params[name].get("window", pricing.PEER_WINDOW))) for name in ids}
    out: dict[str, dict[int, int]] = {name: {} for name in ids}
    for group in groups:
        group = [a for a in group if a in answers]
        if not group:
            continue
        task_id = answers[group[0]].task_id
        seen = [a for a, row in answers.items() if row.task_id == task_id and a <= max(group)]
        scores = []
        for a in seen:
            kept = details.get(a, {}).get("agreement_score")
            if kept is None:
                if task_id not in recomputed:
                    recomputed[task_id] = answer_scores(session, project, session.get(Task, task_id))
                found = recomputed[task_id].get(a)
                kept = found.value if found is not None else 0.0
            scores.append(float(kept))
        said = np.array([label(answers[a].result) for a in seen], dtype=np.int64)
        task = mech.TaskAnswers(np.array([answers[a].user_id for a in seen], dtype=np.int64), said,
                                np.array(scores), pricing.posterior_of(labels, said), bool(answers[group[0]].is_gold))
        paid = np.array([seen.index(a) for a in group])
        withdrawn = [not details.get(a, {}).get("mechanism") for a in group]
        for name in ids:
            priced = mech.price(name, params[name], task, memories[name].history(task), keep_peer_score=False)
            peer = np.where(withdrawn, np.nan, priced.peer_score[paid])
            memories[name].record(task.take(paid), peer)
            for a, n, none in zip(group, paid, withdrawn):
                out[name][a] = 0 if none else int(rates.agreement_bonus * float(priced.fraction[n]))
    return out
