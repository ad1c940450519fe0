"""Moderation: resolving flags, reviewing answers, reinstating annotators; with what each does to the money."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives import payments
from tasks import annotations, projects, reviews
from tasks.models import Flag, Project, Qualification, Review, Task


@dataclass(frozen=True)
class Resolved:
    """A resolved flag and the project it belongs to (for the audit row)."""

    flag: Flag
    project: Project


def resolve_flag(db: Session, flag_id: int, user: User, action: str, now: dt.datetime) -> Resolved:
    """Keep the task (back to the pool) or remove it: its leases' reservations go back to the budget and the
    answers it already had are paid their base (their bonus returns to the budget)."""
    # Locked: of two resolutions at once, the second sees the first.
    report, seen = projects.staff_row(db, Flag, flag_id, user, "flag", lock=True)
    annotations.resolve_flag(db, report, action, user, seen.project, now)
    if action == "remove":
        payments.release_lapsed(db, now, project_id=seen.project.id)  # the leases it released
        payments.settle(db, seen.project, db.get(Task, report.task_id), now, bonus=False)
    return Resolved(report, seen.project)


@dataclass(frozen=True)
class Reviewed:
    """A verdict, the project of the answer, and what a rejection took back from the annotator's wallet."""

    review: Review
    project: Project
    taken_back: int


def review(db: Session, annotation_id: int, user: User, verdict: str, note: str, now: dt.datetime) -> Reviewed:
    """Accept or reject an answer (final); a rejection takes back what the answer earned."""
    made, answer, project = reviews.review(db, annotation_id, user, verdict, note, now)
    taken = payments.claw_back(db, project, answer, now) if made.verdict == "rejected" else 0
    return Reviewed(made, project, taken)


def reinstate(db: Session, project_id: int, user: User, annotator_id: int, now: dt.datetime) -> Qualification:
    """Let a disqualified annotator work again (owner or manager)."""
    project = projects.access(db, project_id, user, need="manager").project
    return annotations.reinstate(db, project, annotator_id, now)
