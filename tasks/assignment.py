"""Handing out work: leases, overlap, exclusions, gold, qualification. See tasks/README.md.

Concurrency: on PostgreSQL the claim locks the chosen task row with FOR UPDATE SKIP LOCKED, so
annotators asking at the same moment take different rows instead of waiting on each other; on
SQLite the whole claim runs under BEGIN IMMEDIATE (`write_intent`), one at a time. Either way the
counters on the task move in the same transaction as the assignment rows they count.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session

from annotator.db import write_intent
from annotator.errors import LeaseExpired, NotQualified, NotYourAssignment, ProjectNotActive
from annotator.users.models import User
from tasks.models import STARTED, Assignment, Project, Qualification, Task

# An annotator never gets a task again once they hold, answered, skipped or flagged it.
EXCLUDING = ("leased", "submitted", "skipped", "flagged")
RANK_SPACE = 1 << 28


@dataclass(frozen=True)
class Lease:
    assignment: Assignment
    task: Task


def next_task(session: Session, project: Project, user: User, now: dt.datetime,
              rng: random.Random | None = None) -> Lease | None:
    """The caller's live lease in the project, or a new one; None when nothing is left for them."""
    write_intent(session)
    if project.status != "active":
        raise ProjectNotActive(f"The project is {project.status}; it hands out no tasks.")
    # One `next` at a time per person (PostgreSQL; SQLite is serialised already), so two quick calls
    # cannot both miss the live lease and claim two tasks.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    live = session.scalar(select(Assignment).where(
        Assignment.project_id == project.id, Assignment.user_id == user.id, Assignment.status == "leased",
        Assignment.expires_at > now))
    if live is not None:
        return Lease(live, session.get(Task, live.task_id))
    standing = check_qualified(session, project, user)
    rng = rng or random.Random()
    task = _choose(session, project, user, standing, rng)
    # Lapsed leases still hold their places until reclaimed: when that leaves nothing for this caller,
    # reclaim now and look again (the periodic reaper frees the rest), so a closed tab never blocks work.
    if task is None and reclaim_expired(session, now, project_id=project.id):
        task = _choose(session, project, user, standing, rng)
    if task is None:
        return None
    assignment = Assignment(project_id=project.id, task_id=task.id, user_id=user.id, status="leased",
                            is_gold=task.is_gold, created_at=now,
                            expires_at=now + dt.timedelta(seconds=project.lease_seconds))
    session.add(assignment)
    task.leased += 1
    session.flush()
    return Lease(assignment, task)


def reclaim_expired(session: Session, now: dt.datetime, project_id: int | None = None) -> int:
    """Expire leases past their time and give their places back; returns how many.

    Rows another transaction is reclaiming are skipped (SKIP LOCKED), so two callers never count
    one lease twice and never wait on each other.
    """
    query = select(Assignment.id, Assignment.task_id).where(Assignment.status == "leased",
                                                            Assignment.expires_at <= now)
    if project_id is not None:
        query = query.where(Assignment.project_id == project_id)
    expired = session.execute(query.order_by(Assignment.id).with_for_update(skip_locked=True)).all()
    if not expired:
        return 0
    session.execute(update(Assignment).where(Assignment.id.in_([row.id for row in expired]))
                    .values(status="expired", finished_at=now).execution_options(synchronize_session=False))
    for task_id, count in sorted(Counter(row.task_id for row in expired).items()):
        session.execute(update(Task).where(Task.id == task_id).values(leased=Task.leased - count)
                        .execution_options(synchronize_session=False))
    session.expire_all()
    return len(expired)


def uses_gold(project: Project) -> bool:
    settings = project.qualification or {}
    return project.gold_ratio > 0 or settings.get("warmup_gold", 0) > 0 or settings.get("min_gold_accuracy", 0) > 0


def check_qualified(session: Session, project: Project, user: User) -> Qualification | None:
    if not uses_gold(project):
        return None  # without gold nobody can be disqualified: no need to look
    standing = session.get(Qualification, (project.id, user.id))
    if standing is not None and standing.disqualified:
        bar = (project.qualification or {}).get("min_gold_accuracy", 0.0)
        accuracy = standing.gold_credit / standing.gold_answered if standing.gold_answered else 0.0
        raise NotQualified(f"Your gold accuracy is {accuracy:.2f}; this project asks for {bar:.2f}. "
                           "The owner can reinstate you.", accuracy=round(accuracy, 4), required=bar)
    return standing


def _choose(session: Session, project: Project, user: User, standing: Qualification | None,
            rng: random.Random) -> Task | None:
    if _wants_gold(session, project, user, standing, rng):
        gold = _claim(session, _gold(project, user))
        if gold is not None:
            return gold
    offset = _offset(project.id, user.id)
    for query in (_started(project, user), _fresh(project, user).where(Task.rank >= offset),
                  _fresh(project, user).where(Task.rank < offset)):
        task = _claim(session, query)
        if task is not None:
            return task
    return None


def _claim(session: Session, query) -> Task | None:
    return session.scalars(query.limit(1).with_for_update(skip_locked=True)).first()


def _not_yet_theirs(user: User):
    return ~exists().where(Assignment.task_id == Task.id, Assignment.user_id == user.id,
                           Assignment.status.in_(EXCLUDING))


def _open(project: Project, user: User, gold: bool):
    return select(Task).where(Task.project_id == project.id, Task.status == "open", Task.is_gold == gold,
                              _not_yet_theirs(user))


def _started(project: Project, user: User):
    """Tasks others have begun and that still have room: finish what was started."""
    return (select(Task).where(Task.project_id == project.id, text(STARTED), _not_yet_theirs(user),
                               Task.leased + Task.submitted < project.overlap)
            .order_by(Task.rank, Task.id))


def _fresh(project: Project, user: User):
    return (_open(project, user, False).where(Task.leased + Task.submitted < project.overlap)
            .order_by(Task.rank, Task.id))


def _gold(project: Project, user: User):
    # Gold tasks are answered by everyone once, never shown twice (not even after a lapsed lease);
    # overlap does not limit them.
    ever = ~exists().where(Assignment.task_id == Task.id, Assignment.user_id == user.id)
    return (select(Task).where(Task.project_id == project.id, Task.status == "open", Task.is_gold == True,  # noqa: E712
                               ever).order_by(Task.rank, Task.id))


def _offset(project_id: int, user_id: int) -> int:
    """Where this annotator starts in the project's rank ring, so annotators spread over the tasks."""
    digest = hashlib.sha256(f"{project_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % RANK_SPACE


def _wants_gold(session: Session, project: Project, user: User, standing: Qualification | None,
                rng: random.Random) -> bool:
    warmup = (project.qualification or {}).get("warmup_gold", 0)
    answered = standing.gold_answered if standing is not None else 0
    return answered < warmup or rng.random() < project.gold_ratio


def owned_assignment(session: Session, assignment: Assignment, user: User) -> Assignment:
    """The (locked) assignment if it is the user's; NotYourAssignment if it is someone else's."""
    if assignment.user_id != user.id:
        raise NotYourAssignment("This assignment belongs to someone else.")
    return assignment


def heartbeat(session: Session, assignment: Assignment, project: Project, now: dt.datetime) -> Assignment:
    """Keep a live lease alive for another `lease_seconds`."""
    if assignment.status != "leased" or assignment.expires_at <= now:
        raise LeaseExpired("The lease has expired; ask for the next task.")
    assignment.expires_at = now + dt.timedelta(seconds=project.lease_seconds)
    return assignment


def recount(session: Session, task_id: int) -> tuple[int, int]:
    """The task's (leased, submitted) recomputed from the assignment rows, to check the cached counters."""
    rows = session.execute(select(Assignment.status, Assignment.id).where(Assignment.task_id == task_id)).all()
    statuses = Counter(status for status, _ in rows)
    return statuses["leased"], statuses["submitted"]
