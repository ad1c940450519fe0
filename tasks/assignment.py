"""Handing out work: leases, overlap, exclusions, gold, qualification, skill routing. See tasks/README.md.

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

from sqlalchemy import Connection, Row, bindparam, exists, func, insert, literal_column, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from annotator.db import PLAN_EACH_RUN, write_intent
from annotator.errors import LeaseExpired, NotQualified, NotYourAssignment, ProjectNotActive, RateLimited
from annotator.users.models import User
from tasks import skills
from tasks.models import (RANK_SPACE, STARTED, Annotation, Assignment, Project, Qualification, Review, SubtreeStanding,
                          Task)

# An annotator never gets a task again once they hold, answered, skipped or flagged it.
EXCLUDING = ("leased", "submitted", "skipped", "flagged")


@dataclass(frozen=True)
class Lease:
    """A live lease and what the annotator sees of its task (never whether it is gold)."""

    assignment_id: int
    task_id: int
    expires_at: dt.datetime
    data: dict
    new: bool = False  # claimed by this call (not the caller's live lease handed back again)


# The hot path runs prebuilt Core statements with bound parameters: SQLAlchemy compiles each once per
# process, and no ORM unit of work runs for the rows an annotator's every request touches.
_tasks, _assignments, _users = Task.__table__, Assignment.__table__, User.__table__
_OPEN = _tasks.c.status == literal_column("'open'")  # literal, so SQLite matches the partial indexes
# Room for another answer: the task's own `wanted` (dynamic overlap) or else the project's overlap.
_ROOM = _tasks.c.leased + _tasks.c.submitted < func.coalesce(_tasks.c.wanted, bindparam("overlap"))
# The caller's row, locked (one `next` at a time per person), with how many live leases they hold in other
# projects (the cap on open leases across projects), in one round trip.
_LIVE_ELSEWHERE = (select(func.count()).select_from(_assignments)
                   .where(_assignments.c.user_id == bindparam("user_id"),
                          _assignments.c.status == literal_column("'leased'"),  # literal: a prepared plan may
                          # use the partial index of live leases only when the value is in the statement
                          _assignments.c.expires_at > bindparam("now"),
                          _assignments.c.project_id != bindparam("project_id")).scalar_subquery())
# FOR NO KEY UPDATE: the caller's own submit inserting an answer takes FOR KEY SHARE on this row (its foreign key)
# and must not queue behind it.
_LOCK_USER = select(_users.c.id, _LIVE_ELSEWHERE).where(_users.c.id == bindparam("user_id")).with_for_update(
    of=_users, key_share=True)
# The caller's latest assignment in the project: their live lease if it still lives (one next at a time per
# person means a live lease is always the latest), and otherwise where they are in the rank ring.
_LATEST = (select(_assignments.c.id, _assignments.c.task_id, _assignments.c.status, _assignments.c.expires_at,
                  _tasks.c.rank)
           .join_from(_assignments, _tasks, _tasks.c.id == _assignments.c.task_id)
           .where(_assignments.c.user_id == bindparam("user_id"), _assignments.c.project_id == bindparam("project_id"))
           .order_by(_assignments.c.id.desc()).limit(1))
_TASK_DATA = select(_tasks.c.data).where(_tasks.c.id == bindparam("task_id"))
_NEW_LEASE = insert(_assignments).returning(_assignments.c.id)
_LEASE_TAKEN = update(_tasks).where(_tasks.c.id == bindparam("task_id")).values(leased=_tasks.c.leased + 1)
# PostgreSQL: the lease and its count on the (claimed, so locked) task in one statement, one round trip. Text: a
# Core INSERT with an UPDATE in its WITH would give the UPDATE the INSERT's parameters as SET columns too.
_NEW_LEASE_COUNTED = text("""
WITH taken AS (UPDATE tasks SET leased = leased + 1 WHERE id = :task_id)
INSERT INTO assignments (project_id, task_id, user_id, status, is_gold, expires_at, created_at, tier)
VALUES (:project_id, :task_id, :user_id, :status, :is_gold, :expires_at, :created_at, :tier) RETURNING id""")


def _theirs(statuses: tuple[str, ...] | None):
    """An assignment of this task to the caller (in one of `statuses`, or any)."""
    mine = [_assignments.c.task_id == _tasks.c.id, _assignments.c.user_id == bindparam("user_id")]
    if statuses is not None:
        mine.append(_assignments.c.status.in_([literal_column(f"'{status}'") for status in statuses]))
    return exists().where(*mine)


def _claim_statement(*where, skip_locked: bool = True, order_by: tuple = (_tasks.c.rank, _tasks.c.id)):
    """The first task in rank order (or `order_by`) matching `where`, locked; rows others are claiming are skipped."""
    return (select(_tasks.c.id, _tasks.c.data, _tasks.c.is_gold)
            .where(_tasks.c.project_id == bindparam("project_id"), *where)
            .order_by(*order_by).limit(1).with_for_update(skip_locked=skip_locked)
            .execution_options(**{PLAN_EACH_RUN: True}))  # its plan depends on the caller's history


# Gold tasks are answered by everyone once, never shown twice (not even after a lapsed lease); overlap
# does not limit them.
_CLAIM_GOLD = _claim_statement(_OPEN, _tasks.c.is_gold == True, ~_theirs(None))  # noqa: E712
_STARTED = (text(STARTED), ~_theirs(EXCLUDING), _ROOM)
_FRESH = (_OPEN, _tasks.c.is_gold == False, ~_theirs(EXCLUDING), _ROOM)  # noqa: E712
_AHEAD, _BEHIND = _tasks.c.rank >= bindparam("cursor"), _tasks.c.rank < bindparam("cursor")
# How many started tasks behind the caller a claim looks at. Behind a fast annotator lie their own answered
# tasks still waiting for others; the window keeps them from making every claim slower. Tasks it misses
# are still offered (the fresh scan covers every open task), only not ahead of fresh ones.
STARTED_WINDOW = 100
_window = _tasks.alias("w")
_STARTED_BEHIND = _tasks.c.id.in_(
    select(_window.c.id).where(_window.c.project_id == bindparam("project_id"), text(STARTED),
                               _window.c.rank < bindparam("cursor"),
                               _window.c.leased + _window.c.submitted
                               < func.coalesce(_window.c.wanted, bindparam("overlap")))
    .order_by(_window.c.rank, _window.c.id).limit(STARTED_WINDOW))
# Each annotator walks the ring of ranks from where they are (their latest task): first tasks others have
# started (finish what was begun), ahead of them, then behind them; then fresh tasks ahead, then behind.
# What they answered lies behind them, so the scans ahead never wade through their own history, and
# annotators spread over the tasks instead of queueing on the same rows.
# The locked row's own conditions are repeated outside the window, so PostgreSQL rechecks them on the
# row's latest version when another transaction changed it meanwhile.
_CLAIMS = (_claim_statement(*_STARTED, _AHEAD), _claim_statement(*_STARTED, _STARTED_BEHIND),
           _claim_statement(*_FRESH, _AHEAD), _claim_statement(*_FRESH, _BEHIND))
# Skill routing: the started task with room whose answers point into a subtree the caller is proven in, the most
# unsure first (tasks.skills; route_* kept by each submit). Then the ring, except that started tasks pointing into
# subtrees others are proven in are held back for them (fresh tasks first); offered last, so nobody starves.
_CLAIM_ROUTED = _claim_statement(*_STARTED, _tasks.c.route_label.in_(bindparam("labels", expanding=True)),
                                 order_by=(_tasks.c.route_need.desc(), _tasks.c.rank, _tasks.c.id))
_NOT_HELD = or_(_tasks.c.route_label.is_(None), _tasks.c.route_label.not_in(bindparam("held", expanding=True)))
_ROUTED_CLAIMS = (_claim_statement(*_STARTED, _AHEAD, _NOT_HELD), _claim_statement(*_STARTED, _STARTED_BEHIND, _NOT_HELD),
                  _claim_statement(*_FRESH, _AHEAD, _NOT_HELD), _claim_statement(*_FRESH, _BEHIND, _NOT_HELD),
                  _claim_statement(*_STARTED))
# The last word before a 204 on PostgreSQL: SKIP LOCKED also skips a task whose row a submit or a claim holds
# for a moment, which near the end of a project may be the only one left with room. This one waits for such
# locks (held for milliseconds) and rechecks the row after; two of these may wait on each other
# (_claim_waiting).
_CLAIM_WAITING = _claim_statement(*_FRESH, skip_locked=False)


DEADLOCK = "40P01"


def _claim_waiting(session: Session, params: dict, attempts: int = 3) -> Row | None:
    """_CLAIM_WAITING in a savepoint. Two callers scanning from different cursors may each keep the lock of a
    row they rechecked and passed over while waiting for the other's: PostgreSQL breaks the cycle by failing
    one statement, and rolling back to the savepoint lets go of that caller's locks, so it looks again."""
    for attempt in range(attempts):
        try:
            with session.begin_nested():
                return session.connection().execute(_CLAIM_WAITING, params).first()
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != DEADLOCK or attempt == attempts - 1:
                raise
    return None


def next_task(session: Session, project: Project, user: User, now: dt.datetime,
              rng: random.Random | None = None, *, max_open_leases: int | None = None,
              tier: int = 0) -> Lease | None:
    """The caller's live lease in the project, or a new one (recording the expert `tier` they hold now); None when
    nothing is left for them. A new one is refused (429) when the caller already holds `max_open_leases` live
    leases in other projects."""
    write_intent(session)
    if project.status != "active":
        raise ProjectNotActive(f"The project is {project.status}; it hands out no tasks.")
    connection = session.connection()
    params = {"user_id": user.id, "project_id": project.id, "now": now}
    # One `next` at a time per person (PostgreSQL; SQLite is serialised already), so two quick calls
    # cannot both miss the live lease and claim two tasks. The lookup after it sees what they committed.
    elsewhere = connection.execute(_LOCK_USER, params).one()[1]
    latest = connection.execute(_LATEST, params).first()
    if latest is not None and latest.status == "leased" and latest.expires_at > now:
        data = connection.execute(_TASK_DATA, {"task_id": latest.task_id}).scalar_one()
        return Lease(latest.id, latest.task_id, latest.expires_at, data)
    if max_open_leases is not None and elsewhere >= max_open_leases:
        raise RateLimited(60, f"You hold {elsewhere} open leases; answer, skip or let one lapse before taking more.")
    standing = check_qualified(session, project, user)
    rng = rng or random.Random()
    cursor = latest.rank if latest is not None else _offset(project.id, user.id)
    labels, held = skills.routes(session, project, user.id) if project.routing == "skill" else ([], [])
    params.update(overlap=project.overlap, cursor=cursor, labels=labels, held=held)
    task = _choose(connection, project, standing, rng, params)
    # Lapsed leases still hold their places until reclaimed: when that leaves nothing for this caller,
    # reclaim now and look again (the periodic reaper frees the rest), so a closed tab never blocks work.
    if task is None and reclaim_expired(session, now, project_id=project.id):
        task = _choose(connection, project, standing, rng, params)
    if task is None and connection.dialect.name == "postgresql":
        task = _claim_waiting(session, params)
    if task is None:
        return None
    expires_at = now + dt.timedelta(seconds=project.lease_seconds)
    lease = {"project_id": project.id, "task_id": task.id, "user_id": user.id, "status": "leased",
             "is_gold": task.is_gold, "created_at": now, "expires_at": expires_at, "tier": tier or None}
    if connection.dialect.name == "postgresql":
        assignment_id = connection.execute(_NEW_LEASE_COUNTED, lease).scalar_one()
    else:
        assignment_id = connection.execute(_NEW_LEASE, lease).scalar_one()
        connection.execute(_LEASE_TAKEN, {"task_id": task.id})
    return Lease(assignment_id, task.id, expires_at, task.data, new=True)


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


def _choose(connection: Connection, project: Project, standing: Qualification | None, rng: random.Random,
            params: dict) -> Row | None:
    if _wants_gold(connection, project, standing, rng, params["user_id"]):
        gold = connection.execute(_CLAIM_GOLD, params).first()
        if gold is not None:
            return gold
    if params["labels"]:  # skill routing, for an annotator proven somewhere: their subtrees' unsure tasks first
        task = connection.execute(_CLAIM_ROUTED, params).first()
        if task is not None:
            return task
    for statement in _ROUTED_CLAIMS if params["held"] else _CLAIMS:
        task = connection.execute(statement, params).first()
        if task is not None:
            return task
    return None


def _offset(project_id: int, user_id: int) -> int:
    """Where an annotator starts in the project's rank ring, so annotators spread over the tasks."""
    digest = hashlib.sha256(f"{project_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % RANK_SPACE


def _wants_gold(connection: Connection, project: Project, standing: Qualification | None, rng: random.Random,
                user_id: int) -> bool:
    """Gold during the warm-up (gold scoped to subtrees counts toward it too), then at the project's gold ratio."""
    warmup = (project.qualification or {}).get("warmup_gold", 0)
    answered = standing.gold_answered if standing is not None else 0
    if answered < warmup:
        answered += connection.execute(_SCOPED_GOLD, {"project_id": project.id, "user_id": user_id}).scalar_one()
    return answered < warmup or rng.random() < project.gold_ratio


_standings = SubtreeStanding.__table__
_SCOPED_GOLD = select(func.coalesce(func.sum(_standings.c.gold_answered), 0)).where(
    _standings.c.project_id == bindparam("project_id"), _standings.c.user_id == bindparam("user_id"))


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
    """The task's (leased, submitted) recomputed from the assignment rows, to check the cached counters: a rejected
    answer has left the count (tasks.reviews)."""
    rows = session.execute(select(Assignment.status, Assignment.id).where(Assignment.task_id == task_id)).all()
    statuses = Counter(status for status, _ in rows)
    rejected = session.scalar(select(func.count()).select_from(Review).join(
        Annotation, Annotation.id == Review.annotation_id).where(
        Annotation.task_id == task_id, Annotation.assignment_id.is_not(None), Review.verdict == "rejected")) or 0
    return statuses["leased"], statuses["submitted"] - rejected


def leased_task(session: Session, task_id: int, user_id: int) -> Task | None:
    """The task, if `user_id` holds a lease on it now."""
    return session.scalar(select(Task).join(Assignment, Assignment.task_id == Task.id).where(
        Task.id == task_id, Assignment.user_id == user_id, Assignment.status == "leased"))
