"""A project's leaderboard: its annotators by settled earnings, then quality, then accepted work."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives import ledger
from incentives.models import Account, LedgerTransaction
from tasks.models import Annotation, Project, Review


def leaderboard(session: Session, project: Project, quality: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per annotator who answered in the project, best first (external contributors, whose answers were
    imported, among them: `external`, never earning).

    accepted: counted answers not rejected by a reviewer; rejected: answers a reviewer rejected; earned: what
    their settled answers put in their available wallet, net of reversals; pending: credited, not yet settled.
    `quality` maps a user id to their row of the agreement report (agreement_with_consensus, gold_accuracy,
    reliability); users without one get nulls.
    """
    rejected = case((Review.verdict == "rejected", 1), else_=0)
    work = dict((row.user_id, row) for row in session.execute(
        select(Annotation.user_id,
               func.sum(case((and_(Annotation.counted.is_(True), Review.id.is_(None) | (Review.verdict != "rejected")),
                              1), else_=0)).label("accepted"),
               func.sum(rejected).label("rejected"))
        .outerjoin(Review, Review.annotation_id == Annotation.id)
        .where(Annotation.project_id == project.id).group_by(Annotation.user_id)))
    money = {(user_id, kind): int(total) for user_id, kind, total in session.execute(ledger.entry_sums(
        Account.user_id, Account.kind, kinds=ledger.EARNED_INTO, where=(LedgerTransaction.project_id == project.id,)))}
    names = {user_id: (name, kind) for user_id, name, kind in session.execute(
        select(User.id, User.display_name, User.kind).where(User.id.in_(list(work))))} if work else {}
    rows = []
    for user_id, counts in work.items():
        seen = quality.get(user_id, {})
        name, kind = names.get(user_id, ("", "person"))
        rows.append({"user_id": user_id, "display_name": name, "external": kind == "external",
                     "accepted": int(counts.accepted or 0), "rejected": int(counts.rejected or 0),
                     "earned": money.get((user_id, "wallet_available"), 0),
                     "pending": money.get((user_id, "wallet_pending"), 0),
                     "agreement_with_consensus": seen.get("agreement_with_consensus"),
                     "gold_accuracy": seen.get("gold_accuracy"), "reliability": seen.get("reliability")})
    rows.sort(key=lambda r: (-r["earned"], -(r["agreement_with_consensus"] if r["agreement_with_consensus"] is not None
                                             else -1.0), -r["accepted"], r["user_id"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows
