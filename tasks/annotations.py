"""Submit, skip, flag; the moderation queue; qualification bookkeeping. Flushes, never commits."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from annotator.errors import AssignmentClosed, Conflict, LeaseExpired, NotFound
from annotator.users.models import User
from tasks import gold as gold_scoring
from tasks.assignment import uses_gold
from tasks.models import Annotation, Assignment, Flag, Media, Project, Qualification, Task
from tasks.schema import TaskContext, parse_label_schema, validate_result

CLOSED = {"submitted": "already submitted", "skipped": "skipped", "flagged": "flagged",
          "released": "released because the task was removed"}


def task_context(session: Session, project: Project, task: Task) -> TaskContext:
    if project.media_type == "text":
        return TaskContext("text", text_length=len(task.data.get("text", "")))
    media = session.get(Media, task.media_sha256)
    return TaskContext("image", width=media.width, height=media.height)


def _ensure_open(assignment: Assignment) -> None:
    if assignment.status in CLOSED:
        raise AssignmentClosed(f"This assignment was {CLOSED[assignment.status]}.")


def _release(assignment: Assignment, task: Task, status: str, now: dt.datetime) -> None:
    if assignment.status == "leased":
        task.leased -= 1
    assignment.status, assignment.finished_at = status, now


def submit(session: Session, project: Project, assignment: Assignment, user: User, result: Any,
           lead_time_ms: int | None, now: dt.datetime) -> Annotation:
    """Record the annotation for a held (or lapsed but still placeable) lease."""
    _ensure_open(assignment)
    task = session.get(Task, assignment.task_id, with_for_update=True)
    if assignment.status == "expired" or assignment.expires_at <= now:
        _accept_late(project, assignment, task, now)
    if not task.is_gold and task.submitted >= project.overlap:  # overlap may have been lowered meanwhile
        raise Conflict("The task already has all the answers it needs.")
    schema = parse_label_schema(project.label_schema)
    clean = validate_result(schema, result, task_context(session, project, task))
    standing = session.get(Qualification, (project.id, user.id)) if uses_gold(project) else None
    annotation = Annotation(project_id=project.id, task_id=task.id, user_id=user.id, assignment_id=assignment.id,
                            result=clean, lead_time_ms=lead_time_ms, schema_version=project.schema_version,
                            counted=not (standing is not None and standing.disqualified), created_at=now)
    session.add(annotation)
    try:
        session.flush()  # the unique (task, user) index backs the exclusion rules
    except IntegrityError:
        raise Conflict("You have already annotated this task.") from None  # the request's transaction is dropped
    _release(assignment, task, "submitted", now)
    task.submitted += 1
    if task.is_gold:
        annotation.gold_score = gold_scoring.score(schema, clean, task.gold or {})
        _record_gold(session, project, user, annotation.gold_score)
    elif task.submitted >= project.overlap and task.status == "open":
        task.status = "completed"
    session.flush()
    return annotation


def _accept_late(project: Project, assignment: Assignment, task: Task, now: dt.datetime) -> None:
    """A lapsed lease is accepted while the task still has room for this answer.

    Not yet reclaimed, the lease still holds its place. Reclaimed, it must find a free place again:
    then it takes one back (and the submit closes it) so the counters stay exact.
    """
    if task.status != "open":
        raise LeaseExpired("Your lease expired and the task is no longer open.")
    if assignment.status == "leased":
        return
    full = not task.is_gold and task.leased + task.submitted >= project.overlap
    if task.status != "open" or full:
        raise LeaseExpired("Your lease expired and the task has been given to others.")
    assignment.status = "leased"
    task.leased += 1


def _standing_locked(session: Session, project_id: int, user_id: int) -> Qualification:
    """The annotator's standing row, created if missing, locked and freshly read (never a stale copy)."""
    table = Qualification.__table__
    session.execute(insert_skipping_duplicates(session, table).values(
        project_id=project_id, user_id=user_id, gold_answered=0, gold_credit=0.0, disqualified=False))
    return session.get(Qualification, (project_id, user_id), with_for_update=True, populate_existing=True)


def _record_gold(session: Session, project: Project, user: User, credit: float) -> None:
    standing = _standing_locked(session, project.id, user.id)
    standing.gold_answered += 1
    standing.gold_credit += credit
    settings = project.qualification or {}
    bar, warmup = settings.get("min_gold_accuracy", 0.0), settings.get("warmup_gold", 0)
    if standing.gold_answered >= max(warmup, 1) and standing.gold_credit / standing.gold_answered < bar:
        standing.disqualified = True


def skip(session: Session, assignment: Assignment, reason: str | None, now: dt.datetime) -> Assignment:
    _ensure_open(assignment)
    task = session.get(Task, assignment.task_id, with_for_update=True)
    _release(assignment, task, "skipped", now)
    assignment.reason = reason
    return assignment


def flag(session: Session, assignment: Assignment, user: User, reason: str, note: str, now: dt.datetime) -> Flag:
    """Report a task; it is withheld from everyone until an owner resolves the flag."""
    _ensure_open(assignment)
    task = session.get(Task, assignment.task_id, with_for_update=True)
    _release(assignment, task, "flagged", now)
    if task.status == "open":
        task.status = "withheld"
    report = Flag(project_id=assignment.project_id, task_id=task.id, user_id=user.id, reason=reason, note=note,
                  status="open", created_at=now)
    session.add(report)
    session.flush()
    return report


def resolve_flag(session: Session, report: Flag, action: str, resolver: User, project: Project,
                 now: dt.datetime) -> Flag:
    """`keep` returns the task to the pool; `remove` retires it and releases every lease on it."""
    if report.status != "open":
        raise Conflict(f"This flag was already resolved ({report.status}).")
    # Lock order everywhere is assignment, then task: take the task's live leases first.
    session.execute(select(Assignment.id).where(Assignment.task_id == report.task_id, Assignment.status == "leased")
                    .order_by(Assignment.id).with_for_update())
    task = session.get(Task, report.task_id, with_for_update=True)
    report.status = "kept" if action == "keep" else "removed"
    report.resolved_by, report.resolved_at = resolver.id, now
    if action == "remove":
        session.execute(update(Assignment).where(Assignment.task_id == task.id, Assignment.status == "leased")
                        .values(status="released", finished_at=now).execution_options(synchronize_session=False))
        task.leased, task.status = 0, "retired"
    elif task.status == "withheld" and not _other_open_flags(session, report):
        done = not task.is_gold and task.submitted >= project.overlap
        task.status = "completed" if done else "open"
    session.flush()
    session.expire_all()
    return report


def _other_open_flags(session: Session, report: Flag) -> bool:
    return session.scalar(select(Flag.id).where(Flag.task_id == report.task_id, Flag.status == "open",
                                                Flag.id != report.id).limit(1)) is not None


def reinstate(session: Session, project: Project, user_id: int, now: dt.datetime) -> Qualification:
    """Let a disqualified annotator work again; their annotations made meanwhile count from now on."""
    standing = session.get(Qualification, (project.id, user_id), with_for_update=True, populate_existing=True)
    if standing is None or not standing.disqualified:
        raise NotFound("This annotator is not disqualified in this project.")
    standing.disqualified, standing.reinstated_at = False, now
    standing.gold_answered, standing.gold_credit = 0, 0.0  # a fresh start against the bar
    session.execute(update(Annotation).where(Annotation.project_id == project.id, Annotation.user_id == user_id,
                                             Annotation.counted.is_(False)).values(counted=True)
                    .execution_options(synchronize_session=False))
    return standing
