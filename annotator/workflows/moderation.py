"""Moderation: resolving flags, reviewing answers, reinstating annotators; with what each does to the money."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives import payments
from tasks import annotations, projects, reviews
from tasks.models import Appeal, Flag, Project, Qualification, Review, ReviewLease, Task


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
    task = db.get(Task, report.task_id)
    if action == "remove":
        payments.release_lapsed(db, now, project_id=seen.project.id)  # the leases it released
        payments.settle(db, seen.project, task, now, bonus=False)
    elif task.status == "completed":  # kept, and full meanwhile (an overturned rejection counted again): settle
        payments.settle(db, seen.project, task, now)
    return Resolved(report, seen.project)


@dataclass(frozen=True)
class Reviewed:
    """A verdict, the project of the answer, what a rejection took back from the annotator's wallet, and what the
    reviewer was paid for a review item it finished."""

    review: Review
    project: Project
    taken_back: int
    reviewer_paid: int = 0


def review(db: Session, annotation_id: int, user: User, verdict: str, note: str, now: dt.datetime,
           result: object = None) -> Reviewed:
    """Accept, reject or fix an answer (once); a rejection takes back what the answer earned; the verdict that
    finishes the reviewer's leased item pays them the project's reviewer pay."""
    done = reviews.review(db, annotation_id, user, verdict, note, now, result)
    taken = payments.claw_back(db, done.project, done.answer, now) if done.review.verdict == "rejected" else 0
    paid = 0
    if done.finished_lease is not None:
        paid = payments.pay_review(db, done.project, done.finished_lease.id, user.id, now)
    payments.release_reviews(db, done.project, now)  # others' leases on an item this verdict finished
    return Reviewed(done.review, done.project, taken, paid)


def next_review(db: Session, project_id: int, user: User, now: dt.datetime) -> reviews.Leased | None:
    """The next item of the project's review queue leased to the reviewer (reviewer and up), its reviewer pay
    reserved; leases past their time go back to the queue first and their reservations to the budget."""
    project = projects.access(db, project_id, user, need="reviewer").project
    reviews.expire(db, project.id, now)
    leased = reviews.next_item(db, project, user, now) if reviews.queues(project) else None
    # The money last, as a verdict moves it after the task's and the item's rows: the same order, no deadlock.
    payments.release_reviews(db, project, now)
    if leased is not None and leased.new:
        payments.reserve_review(db, project, leased.lease.id, now)
    return leased


def release_review(db: Session, lease_id: int, user: User, now: dt.datetime) -> ReviewLease:
    lease = reviews.release(db, lease_id, user, now)
    payments.release_reviews(db, db.get(Project, lease.project_id), now)
    return lease


@dataclass(frozen=True)
class Decision:
    """An appeal decided, and what an overturn gave back to the annotator's wallets."""

    appeal: Appeal
    project: Project
    restored: int


def decide_appeal(db: Session, appeal_id: int, user: User, decision: str, note: str, now: dt.datetime) -> Decision:
    """Uphold or overturn an appeal; an overturn reverses the rejection's take-back (never an edit) and, if the
    answer's task is complete and the answer was not settled before the rejection, settles it now."""
    done = reviews.decide(db, appeal_id, user, decision, note, now)
    restored = 0
    if decision == "overturn":
        restored = payments.restore(db, done.project, done.answer, done.appeal.id, now)
        done.appeal.restored = restored
        if done.answer.counted and done.answer.assignment_id is not None:
            if done.task.status == "completed":
                payments.settle(db, done.project, done.task, now)
            elif done.task.status == "retired":  # removed meanwhile: its answers were paid their base, so is this
                payments.settle(db, done.project, done.task, now, bonus=False)
    return Decision(done.appeal, done.project, restored)


def reinstate(db: Session, project_id: int, user: User, annotator_id: int, now: dt.datetime) -> Qualification:
    """Let a disqualified annotator work again (owner or manager)."""
    project = projects.access(db, project_id, user, need="manager").project
    return annotations.reinstate(db, project, annotator_id, now)
