"""Counterfactual replay: a project's answers priced again under every reward mechanism, in the order they
settled and with the same inputs, so each annotator's actual pay stands beside what each mechanism would have
paid. No money moves.

Answers given here: the settlements are the project's `bonus` transactions in order, a completed task's answers
settled together, a gold task's one at a time (incentives.simulate.Event). Each is priced by incentives.mechanisms
with the history kept in memory, as the simulator does; its inputs are what the ledger kept (the agreement score,
written into every settlement since rule version 3, recomputed from the task's answers given here for older ones)
and the answers' labels, its peers the task's answers given here (as the ledger's). An answer keeps the base its
credit paid; one taken back by a reviewer earns nothing under any mechanism; one not settled yet earns its base.
Under the project's own mechanism, with its rates unchanged since, the replay pays what the ledger paid, to the
minor unit.

Answers imported from elsewhere (no lease; their annotators `external`) were never paid: `actual` is 0, and
each mechanism prices them as if the project's rates had paid them. A task's answers are taken in the order they
were given (created_at); the task settles once it has the project's overlap of answers (the task's own wanted
count under dynamic overlap; all it has when every answer is imported), paying the imported answers among them
together, and each imported answer after that on its own, against those before it, as a gold task's answers
always are. Each is paid the project's `per_annotation` and its bonus priced among all the task's answers so far
(native ones included), on agreement scores over all the task's answers (tasks.quality.scores.answer_scores;
the gold score on a gold task); an imported answer on a task not settled yet earns the base, and one a reviewer
rejected earns nothing under any mechanism, as a native answer's pay would have been taken back. These settlements
take their place among the ledger's by time. Their workers are never the ledger's (an external contributor never
holds a lease), so the history each mechanism keeps of the project's own annotators, and with it what they are
paid, is the same with or without them.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
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
from tasks import gold as gold_scoring
from tasks.models import Annotation, Project, Review, Task
from tasks.projects import current_schema
from tasks.quality.answers import labels_of
from tasks.quality.scores import answer_scores, answer_scores_each


@dataclass(frozen=True)
class Settlement:
    """One settlement to price: the answers it pays, among the task's answers so far."""

    paid: list[int]        # the annotations it pays
    seen: list[int]        # the task's answers it prices them among (their peers), in order, `paid` included
    scores: list[float]    # per seen answer, its agreement score (its gold score on a gold task)
    gold: bool
    no_bonus: list[bool]   # per paid answer: settled without a bonus (its task withdrawn by the owner)


def replay(session: Session, project: Project) -> dict[str, Any]:
    """{"mechanisms": [ids], "own": the project's, "annotators": [{"user_id", "display_name", "external",
    "answers", "actual", "by_mechanism": {id: amount}}]} (minor units): the project's own annotators by actual
    pay, highest first, then by id; then the external contributors, by id."""
    ids = list(mech.REGISTRY)
    own, _ = pricing.mechanism_of(project)
    answers = {row.id: row for row in session.execute(
        select(Annotation.id, Annotation.task_id, Annotation.user_id, Annotation.result, Annotation.assignment_id,
               Annotation.created_at, Annotation.gold_score, Task.is_gold).join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project.id, Annotation.counted.is_(True)).order_by(Annotation.id))}
    by_task: dict[int, list[int]] = defaultdict(list)
    for annotation_id, row in answers.items():
        by_task[row.task_id].append(annotation_id)
    earned, base, taken_back, settled = _ledger(session, project)
    taken_back |= set(session.scalars(  # an imported answer a reviewer rejected: what the ledger would take back
        select(Review.annotation_id).join(Annotation, Annotation.id == Review.annotation_id)
        .where(Review.project_id == project.id, Review.verdict == "rejected", Annotation.assignment_id.is_(None))))
    imported = _imported_settlements(session, project, answers, by_task)
    bonus = _priced(project, answers, _in_order(_native_settlements(session, project, answers, by_task, settled),
                                                imported), ids)
    rates = Rates.of(project.rewards)
    by_user: dict[int, dict[str, Any]] = {}
    for annotation_id, row in answers.items():
        native = row.assignment_id is not None
        if native and annotation_id not in base and annotation_id not in earned:
            continue  # never credited (an unpaid project, or before it paid)
        mine = by_user.setdefault(row.user_id, {"user_id": row.user_id, "answers": 0, "actual": 0,
                                                "by_mechanism": dict.fromkeys(ids, 0)})
        mine["answers"] += 1
        mine["actual"] += earned.get(annotation_id, 0) if native else 0  # an imported answer is never paid
        for name in ids:
            if annotation_id not in taken_back:
                paid_base = base.get(annotation_id, 0) if native else rates.per_annotation
                mine["by_mechanism"][name] += paid_base + bonus[name].get(annotation_id, 0)
    people = {user_id: (name, kind) for user_id, name, kind in session.execute(
        select(User.id, User.display_name, User.kind).where(User.id.in_(list(by_user))))}
    rows = [{**r, "display_name": people.get(r["user_id"], ("", ""))[0],
             "external": people.get(r["user_id"], ("", ""))[1] == "external"} for r in by_user.values()]
    return {"mechanisms": ids, "own": own,
            "annotators": sorted(rows, key=lambda r: (r["external"], -r["actual"], r["user_id"]))}


def _ledger(session: Session, project: Project) -> tuple[dict[int, int], dict[int, int], set[int], list]:
    """What the ledger did with the project's answers: per answer what it paid, net, and the base its credit
    paid; the answers taken back; the settlements in order (task, answer, details, when)."""
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
    # Taken back and not given back by an overturned appeal (a reversal of the take-back).
    restored = select(LedgerTransaction.reverses_id).where(LedgerTransaction.project_id == project.id,
                                                           LedgerTransaction.reverses_id.is_not(None))
    taken_back = set(session.scalars(select(LedgerTransaction.annotation_id).where(
        LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "clawback",
        LedgerTransaction.id.not_in(restored))))
    settled = session.execute(select(LedgerTransaction.task_id, LedgerTransaction.annotation_id,
                                     LedgerTransaction.details, LedgerTransaction.created_at)
                              .where(LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "bonus",
                                     LedgerTransaction.annotation_id.is_not(None))
                              .order_by(LedgerTransaction.id)).all()
    return earned, base, taken_back, settled


def _native_settlements(session: Session, project: Project, answers: dict, by_task: dict[int, list[int]],
                        settled: list) -> list[tuple[dt.datetime, Settlement]]:
    """The ledger's settlements in its order, each with when it was posted: a gold task's answers one at a time,
    any other task's together, priced among the task's answers given here up to the last one it pays."""
    details = {annotation_id: d or {} for _, annotation_id, d, _ in settled}
    recomputed: dict[int, dict] = {}  # task -> answer_scores, for settlements from before rule version 3
    out = []
    # One settlement's postings share its task and moment (a gold task's: its one answer); concurrent settlements
    # of other tasks may take ids between them, so they are gathered by that, in the order of their first posting.
    runs: dict[tuple, list] = {}
    for row in settled:
        gold = answers.get(row[1]) is not None and answers[row[1]].is_gold
        runs.setdefault((row[0], row[1]) if gold else (row[0], row[3]), []).append(row)
    for run in runs.values():
        group = [row[1] for row in run if row[1] in answers]
        if not group:
            continue
        task_id = answers[group[0]].task_id
        seen = [a for a in by_task[task_id] if answers[a].assignment_id is not None and a <= max(group)]
        scores = []
        for a in seen:
            kept = details.get(a, {}).get("agreement_score")
            if kept is None:
                if task_id not in recomputed:
                    recomputed[task_id] = answer_scores(session, project, session.get(Task, task_id),
                                                        native_only=True)
                found = recomputed[task_id].get(a)
                kept = found.value if found is not None else 0.0
            scores.append(float(kept))
        out.append((run[-1][3], Settlement(group, seen, scores, bool(answers[group[0]].is_gold),
                                           [not details.get(a, {}).get("mechanism") for a in group])))
    return out


def _imported_settlements(session: Session, project: Project, answers: dict, by_task: dict[int, list[int]]
                          ) -> list[tuple[tuple[dt.datetime, int, int], Settlement]]:
    """The settlements the imported answers would have had (see the module docstring), each with when (the time
    of the last answer it prices, then the task and how many answers it has, so a file imported at one moment
    settles in task order)."""
    tasks = session.scalars(select(Task).where(Task.project_id == project.id, Task.id.in_(
        select(Annotation.task_id).where(Annotation.project_id == project.id, Annotation.counted.is_(True),
                                         Annotation.assignment_id.is_(None)))).order_by(Task.id)).all()
    scored = answer_scores_each(session, project, tasks)  # over all the task's answers, imported ones included
    schema = current_schema(project)
    out = []
    for task in tasks:
        on_task = by_task[task.id]
        scores = {a: found.value for a, found in scored[task.id].items()}
        if task.is_gold:  # an imported answer was never scored against the gold: scored here
            scores |= {a: gold_scoring.score(schema, answers[a].result, task.gold or {}) for a in on_task
                       if answers[a].gold_score is None}
        order = sorted(on_task, key=lambda a: (answers[a].created_at, a))
        imported_only = all(answers[a].assignment_id is None for a in on_task)
        need = len(order) if imported_only else task.wanted or project.overlap
        if len(order) < need and not task.is_gold:
            continue  # not settled yet: its imported answers earn their base
        # (the answers it prices among, those it pays): a gold task's answers one at a time; any other's first
        # together, then each later one alone
        first = [] if task.is_gold else [(order[:need], order[:need])]
        later = range(1 if task.is_gold else need + 1, len(order) + 1)
        for seen, pays in first + [(order[:n], order[n - 1:n]) for n in later]:
            paid = [a for a in pays if answers[a].assignment_id is None]
            if paid:
                out.append(((answers[seen[-1]].created_at, task.id, len(seen)), Settlement(
                    paid, seen, [scores.get(a, 0.0) for a in seen], bool(task.is_gold), [False] * len(paid))))
    return out


def _in_order(native: list[tuple[dt.datetime, Settlement]],
              imported: list[tuple[tuple[dt.datetime, int, int], Settlement]]) -> list[Settlement]:
    """The ledger's settlements in the ledger's order, each imported one before the first posted after it."""
    imported = sorted(imported, key=lambda item: item[0])
    out, n = [], 0
    for at, settlement in native:
        while n < len(imported) and imported[n][0][0] <= at:
            out.append(imported[n][1])
            n += 1
        out.append(settlement)
    return out + [settlement for _, settlement in imported[n:]]


def _priced(project: Project, answers: dict, settlements: list[Settlement], ids: list[str]) -> dict[str, dict]:
    """Per mechanism, per settled answer, the bonus it would have earned."""
    labels, schema = labels_of(project), current_schema(project)
    single = "classify" in schema.tools and not schema.multi_label
    rates = Rates.of(project.rewards)
    own, own_params = pricing.mechanism_of(project)
    params = {name: own_params if name == own else mech.validate(name, {}) for name in ids}

    def label(result: dict | None) -> int:
        given = (result or {}).get("labels") or []
        return labels.index.get(given[0], -1) if single and len(given) == 1 else -1

    memories = {name: mech.Memory(window=int(params[name].get("window", pricing.PEER_WINDOW))) for name in ids}
    out: dict[str, dict[int, int]] = {name: {} for name in ids}
    for settlement in settlements:
        said = np.array([label(answers[a].result) for a in settlement.seen], dtype=np.int64)
        task = mech.TaskAnswers(np.array([answers[a].user_id for a in settlement.seen], dtype=np.int64), said,
                                np.array(settlement.scores, dtype=np.float64), pricing.posterior_of(labels, said),
                                settlement.gold)
        paid = np.array([settlement.seen.index(a) for a in settlement.paid])
        for name in ids:
            priced = mech.price(name, params[name], task, memories[name].history(task), keep_peer_score=False)
            peer = np.where(settlement.no_bonus, np.nan, priced.peer_score[paid])
            memories[name].record(task.take(paid), peer)
            for a, n, none in zip(settlement.paid, paid, settlement.no_bonus):
                out[name][a] = 0 if none else int(rates.agreement_bonus * float(priced.fraction[n]))
    return out
