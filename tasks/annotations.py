"""Submit, skip, flag; the moderation queue; qualification bookkeeping. Flushes, never commits."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from annotator.errors import AssignmentClosed, Conflict, LeaseExpired, NotFound, NotYourAssignment, TaskCompleted
from annotator.users.models import User
from tasks import gold as gold_scoring
from tasks import skills
from tasks.assignment import uses_gold
from tasks.models import (Annotation, AnnotationRevision, Appeal, Assignment, Flag, Media, Project, Qualification, Review,
                          SubtreeStanding, Task)
from tasks.projects import current_schema
from tasks.quality.consensus import project_threshold
from tasks.quality.scores import answer_confidence, answer_consensus
from tasks.results import TaskContext, validate_result
from tasks.schema import LabelSchema

CLOSED = {"submitted": "already submitted", "skipped": "skipped", "flagged": "flagged",
          "released": "released because the task was removed"}


def _ensure_open(assignment: Assignment) -> None:
    if assignment.status in CLOSED:
        raise AssignmentClosed(f"This assignment was {CLOSED[assignment.status]}.")


def _release(assignment: Assignment, task: Task, status: str, now: dt.datetime) -> None:
    if assignment.status == "leased":
        task.leased -= 1
    assignment.status, assignment.finished_at = status, now


@dataclass(frozen=True)
class Held:
    """An assignment and its task, both locked, as the submit path reads them."""

    id: int
    project_id: int
    task_id: int
    user_id: int
    status: str
    expires_at: dt.datetime
    task_status: str
    is_gold: bool
    gold: dict | None
    data: dict
    media_sha256: str | None
    leased: int
    submitted: int
    wanted: int | None

    def room(self, project: Project) -> int:
        """How many answers the task takes: its own `wanted` under dynamic overlap, else the project's overlap."""
        return self.wanted if self.wanted is not None else project.overlap


@dataclass(frozen=True)
class Saved:
    id: int
    task_id: int
    assignment_id: int
    result: dict
    lead_time_ms: int | None
    schema_version: int
    created_at: dt.datetime
    counted: bool = True     # False while the annotator is disqualified
    completed: bool = False  # this answer completed its task
    gold: bool = False


# Submitting is every annotator's other hot call: prebuilt Core statements, no ORM unit of work.
_tasks, _assignments, _annotations = Task.__table__, Assignment.__table__, Annotation.__table__
# One statement locks both rows, assignment then task (the lock order everywhere), at their latest versions, and
# brings their project into the session (not locked).
_HELD = (select(Project, _assignments.c.id, _assignments.c.project_id, _assignments.c.task_id,
                _assignments.c.user_id, _assignments.c.status, _assignments.c.expires_at,
                _tasks.c.status.label("task_status"), _tasks.c.is_gold, _tasks.c.gold, _tasks.c.data,
                _tasks.c.media_sha256, _tasks.c.leased, _tasks.c.submitted, _tasks.c.wanted)
         .join_from(_assignments, _tasks, _tasks.c.id == _assignments.c.task_id)
         .join(Project, Project.id == _assignments.c.project_id)
         .where(_assignments.c.id == bindparam("assignment_id")).with_for_update(of=[_assignments, _tasks]))
_NEW_ANNOTATION = insert(_annotations).returning(_annotations.c.id)
_ASSIGNMENT_DONE = (update(_assignments).where(_assignments.c.id == bindparam("assignment_id"))
                    .values(status="submitted", finished_at=bindparam("now")))
_TASK_COUNTED = (update(_tasks).where(_tasks.c.id == bindparam("task_id"))
                 .values(leased=bindparam("leased"), submitted=bindparam("submitted"), status=bindparam("status"),
                         wanted=bindparam("wanted")))
_TASK_ROUTED = (update(_tasks).where(_tasks.c.id == bindparam("task_id"))
                .values(route_label=bindparam("route_label"), route_need=bindparam("route_need")))
# PostgreSQL, a plain answer (not gold, no dynamic overlap): the answer, its lease closed and its task counted in one
# statement, one round trip (both rows are locked by _HELD). Text: Core puts an INSERT's parameters into the SET
# clauses of UPDATEs in its WITH.
_ANSWER_COUNTED = text("""
WITH done AS (UPDATE assignments SET status = 'submitted', finished_at = :now WHERE id = :assignment_id),
counted AS (UPDATE tasks SET leased = :leased, submitted = :submitted, status = :task_status, wanted = :wanted,
                             route_label = COALESCE(:route_label, route_label),
                             route_need = COALESCE(:route_need, route_need)
            WHERE id = :task_id)
INSERT INTO annotations (project_id, task_id, user_id, assignment_id, result, lead_time_ms, schema_version, counted,
                         gold_score, created_at)
VALUES (:project_id, :task_id, :user_id, :assignment_id, :result, :lead_time_ms, :schema_version, :counted,
        :gold_score, :created_at) RETURNING id""").bindparams(bindparam("result", type_=_annotations.c.result.type))
_COUNTED_RESULTS = select(_annotations.c.result).where(_annotations.c.task_id == bindparam("task_id"),
                                                      _annotations.c.counted.is_(True))


def held_for_submit(session: Session, assignment_id: int) -> tuple[Held, Project] | None:
    """The assignment and its task, locked, and their project, read in the same round trip (the submit needs no
    other while it holds the task's row). The project stays in the session while the caller keeps it."""
    row = session.execute(_HELD, {"assignment_id": assignment_id}).first()
    if row is None:
        return None
    held = dict(row._mapping)
    return Held(**{key: value for key, value in held.items() if key != "Project"}), held["Project"]


def submit(session: Session, project: Project, held: Held, user: User, result: Any, lead_time_ms: int | None,
           now: dt.datetime) -> Saved:
    """Record the annotation for a held (or lapsed but still placeable) lease."""
    if held.user_id != user.id:
        raise NotYourAssignment("This assignment belongs to someone else.")
    if held.status in CLOSED:
        raise AssignmentClosed(f"This assignment was {CLOSED[held.status]}.")
    leased = held.leased
    if held.status == "expired" or held.expires_at <= now:
        leased = _accept_late(project, held, now)
    if not held.is_gold and held.submitted >= held.room(project):  # overlap may have been lowered meanwhile
        raise Conflict("The task already has all the answers it needs.")
    schema = current_schema(project)
    clean = validate_result(schema, result, _context(session, project, held.data, held.media_sha256))
    standing = session.get(Qualification, (project.id, user.id)) if uses_gold(project) else None
    counted = not (standing is not None and standing.disqualified) and not (
        uses_gold(project) and not held.is_gold and _in_subtree_lost(session, project, user, schema, clean))
    gold_score = gold_scoring.score(schema, clean, held.gold or {}) if held.is_gold else None
    connection = session.connection()
    answer = {"project_id": project.id, "task_id": held.task_id, "user_id": user.id, "assignment_id": held.id,
              "result": clean, "lead_time_ms": lead_time_ms, "schema_version": project.schema_version,
              "counted": counted, "gold_score": gold_score,
              "created_at": now}
    submitted = held.submitted + 1
    status, wanted = held.task_status, held.wanted
    if connection.dialect.name == "postgresql" and not held.is_gold and not _reads_answers(project, schema):
        route = {"route_label": None, "route_need": None}  # kept as they are
        if status == "open":
            done, wanted = _enough(connection, project, schema, held, submitted)
            status = "completed" if done else status
            if _routed(project, schema):  # where the answers point, this one included, in the same statement
                results = connection.execute(_COUNTED_RESULTS, {"task_id": held.task_id}).scalars().all()
                route = _route_of(project, schema, [*results, *([clean] if counted else [])])
        annotation_id = _answer_once(connection, _ANSWER_COUNTED, {
            **answer, "now": now, "leased": leased - 1, "submitted": submitted, "task_status": status,
            "wanted": wanted, **route})
    else:
        annotation_id, status = _record(session, connection, project, schema, held, user, answer, leased, now)
    return Saved(annotation_id, held.task_id, held.id, clean, lead_time_ms, project.schema_version, now,
                 counted=counted, completed=status == "completed" and held.task_status != "completed", gold=held.is_gold)


def _record(session: Session, connection: Connection, project: Project, schema: LabelSchema, held: Held, user: User,
            answer: dict, leased: int, now: dt.datetime) -> tuple[int, str]:
    """The answer, its lease closed and its task counted, statement by statement (gold, dynamic overlap, SQLite);
    returns the answer's id and the task's status after it."""
    annotation_id = _answer_once(connection, _NEW_ANNOTATION, answer)
    connection.execute(_ASSIGNMENT_DONE, {"assignment_id": held.id, "now": now})
    submitted = held.submitted + 1
    status, wanted = held.task_status, held.wanted
    if held.is_gold and (held.gold or {}).get("scope"):
        _record_scoped_gold(session, project, user, held.gold["scope"], answer["gold_score"])
    elif held.is_gold:
        _record_gold(session, project, user, answer["gold_score"])
    elif status == "open":
        done, wanted = _enough(connection, project, schema, held, submitted)
        status = "completed" if done else status
        if _routed(project, schema):
            _route(connection, project, schema, held.task_id)
    connection.execute(_TASK_COUNTED, {"task_id": held.task_id, "leased": leased - 1, "submitted": submitted,
                                       "status": status, "wanted": wanted})
    return annotation_id, status


def _answer_once(connection: Connection, statement, params: dict) -> int:
    """Run the statement inserting the answer; the unique (task, user) index backs the exclusion rules."""
    try:
        return connection.execute(statement, params).scalar_one()
    except IntegrityError:
        raise Conflict("You have already annotated this task.") from None  # the request's transaction is dropped


def _reads_answers(project: Project, schema: LabelSchema) -> bool:
    """Whether a submit reads the task's answers to decide it is complete (dynamic overlap on a classification)."""
    return bool(project.dynamic_overlap) and "classify" in schema.tools


def _routed(project: Project, schema: LabelSchema) -> bool:
    return project.routing == "skill" and "classify" in schema.tools and not schema.multi_label


def _route(connection: Connection, project: Project, schema: LabelSchema, task_id: int) -> None:
    """Skill routing: the label the task's counted answers point to and how unsure they are, 1 - share x n/(n+1)
    for n answers whose majority (backing off along the taxonomy) holds `share`: a split pair 0.67, one answer
    0.5, two that agree 0.33, three that agree 0.25."""
    results = connection.execute(_COUNTED_RESULTS, {"task_id": task_id}).scalars().all()
    connection.execute(_TASK_ROUTED, {"task_id": task_id, **_route_of(project, schema, results)})


def _route_of(project: Project, schema: LabelSchema, results: list[dict]) -> dict:
    label, share = answer_consensus(schema, results, project_threshold(project))
    return {"route_label": label, "route_need": round(1 - share * len(results) / (len(results) + 1), 6)}


def _enough(connection: Connection, project: Project, schema: LabelSchema, held: Held,
            submitted: int) -> tuple[bool, int | None]:
    """Whether the task has the answers it needs now, and how many it wants.

    Without dynamic overlap: `overlap` answers. With it (classification only): done as soon as it has
    `min_overlap` answers whose consensus reaches `confidence_target` (majority share, backing off along the
    taxonomy); still unsure at `overlap`, it wants up to `max_overlap` and is done there whatever the answers.
    """
    dynamic = project.dynamic_overlap
    if not dynamic or "classify" not in schema.tools:
        return submitted >= held.room(project), held.wanted
    results = connection.execute(_COUNTED_RESULTS, {"task_id": held.task_id}).scalars().all()
    confidence = answer_confidence(schema, results, dynamic["confidence_target"])
    # Only counted answers vouch for the consensus (not those of a disqualified annotator).
    if len(results) >= dynamic["min_overlap"] and confidence >= dynamic["confidence_target"]:
        return True, held.wanted
    wanted, room = held.wanted, held.room(project)
    if submitted >= room and room < dynamic["max_overlap"]:
        wanted = room = dynamic["max_overlap"]  # unsure at overlap: ask more annotators
    return submitted >= room, wanted


def check_result(session: Session, project: Project, task: Task, result: Any) -> dict:
    """A result for the task checked as a submit checks it (InvalidInput naming the field under `result`)."""
    return validate_result(current_schema(project), result, _context(session, project, task.data, task.media_sha256))


def _context(session: Session, project: Project, data: dict, media_sha256: str | None) -> TaskContext:
    if project.media_type == "text":
        return TaskContext("text", text_length=len(data.get("text", "")))
    media = session.get(Media, media_sha256)
    return TaskContext("image", width=media.width, height=media.height)


def _accept_late(project: Project, held: Held, now: dt.datetime) -> int:
    """A lapsed lease is accepted while the task still has room for this answer; returns the task's leases.

    Not yet reclaimed, the lease still holds its place. Reclaimed, it must find a free place again:
    then it takes one back (and the submit closes it) so the counters stay exact.
    """
    if held.task_status != "open":
        raise LeaseExpired("Your lease expired and the task is no longer open.")
    if held.status == "leased":
        return held.leased
    if not held.is_gold and held.leased + held.submitted >= held.room(project):
        raise LeaseExpired("Your lease expired and the task has been given to others.")
    return held.leased + 1


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


# Scoped gold answers in a subtree before its standing can be lost there.
SUBTREE_MIN_GOLD = 3


def _record_scoped_gold(session: Session, project: Project, user: User, scope: str, credit: float) -> None:
    """A gold answer scoped to a subtree moves the annotator's standing there, never the project's: below the
    project's min_gold_accuracy over at least SUBTREE_MIN_GOLD of them, they are disqualified in that subtree."""
    table = SubtreeStanding.__table__
    session.execute(insert_skipping_duplicates(session, table).values(
        project_id=project.id, user_id=user.id, label=scope, gold_answered=0, gold_credit=0.0, disqualified=False))
    standing = session.get(SubtreeStanding, (project.id, user.id, scope), with_for_update=True,
                           populate_existing=True)
    standing.gold_answered += 1
    standing.gold_credit += credit
    bar = (project.qualification or {}).get("min_gold_accuracy", 0.0)
    if standing.gold_answered >= SUBTREE_MIN_GOLD and standing.gold_credit / standing.gold_answered < bar:
        standing.disqualified = True


def _in_subtree_lost(session: Session, project: Project, user: User, schema: LabelSchema, result: dict) -> bool:
    """Whether the answer names a label inside a subtree the annotator is disqualified in (it then does not count,
    and is not paid: the rest of their work in the project is)."""
    return _names_lost(session, project, user.id, schema, result)


def in_lost_subtree(session: Session, project: Project, user_id: int, result: dict) -> bool:
    """_in_subtree_lost for an answer already given (an overturned rejection counting again)."""
    return uses_gold(project) and _names_lost(session, project, user_id, current_schema(project), result)


def _names_lost(session: Session, project: Project, user_id: int, schema: LabelSchema, result: dict) -> bool:
    lost = skills.lost_subtrees(session, project.id, user_id)
    return bool(lost) and any(not set(lost).isdisjoint(schema.labels[label].path)
                              for label in result.get("labels") or [] if label in schema.labels)


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
        done = not task.is_gold and task.submitted >= (task.wanted if task.wanted is not None else project.overlap)
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
    rejected = select(Review.annotation_id).where(Review.project_id == project.id, Review.verdict == "rejected")
    session.execute(update(Annotation).where(Annotation.project_id == project.id, Annotation.user_id == user_id,
                                             Annotation.counted.is_(False), Annotation.id.not_in(rejected))
                    .values(counted=True)
                    .execution_options(synchronize_session=False))
    return standing


def mine(user: User, project_id: int | None = None, verdict: str | None = None):
    """The caller's answers, newest first, with their task's status and data and their review (verdict, note,
    when, the project's review policy for the appeal window) and appeal if any (for `GET /me/annotations`)."""
    query = (select(Annotation.id, Annotation.project_id, Annotation.task_id, Annotation.result, Annotation.lead_time_ms,
                    Annotation.schema_version, Annotation.created_at, Task.status.label("task_status"),
                    Task.is_gold.label("gold"), Task.data.label("task_data"), Review.id.label("review_id"),
                    Review.verdict, Review.note.label("review_note"), Review.created_at.label("reviewed_at"),
                    Project.review.label("review_policy"), Appeal.id.label("appeal_id"),
                    Appeal.status.label("appeal_status"))
             .join(Task, Task.id == Annotation.task_id).join(Project, Project.id == Annotation.project_id)
             .outerjoin(Review, Review.annotation_id == Annotation.id)
             .outerjoin(Appeal, Appeal.review_id == Review.id)
             .where(Annotation.user_id == user.id).order_by(Annotation.id.desc()))
    if verdict is not None:
        query = query.where(Review.verdict == verdict)
    return query if project_id is None else query.where(Annotation.project_id == project_id)


def revise(session: Session, annotation_id: int, user: User, result: Any, lead_time_ms: int | None,
           now: dt.datetime) -> Annotation:
    """The author replaces their answer while its task is not complete: validated as a submit is, the earlier
    version kept (AnnotationRevision), nothing about pay changed (the credit was for the work, the settlement
    will score this version). The task row is locked first, as a completing submit locks it, so a revision
    and the submit that completes the task happen one after the other. Others: 404; a complete task: 409
    task_completed; a gold task (its score decides qualification) or a reviewed answer: 409."""
    answer = session.get(Annotation, annotation_id)
    if answer is None or answer.user_id != user.id:
        raise NotFound("No such annotation.")
    task = session.get(Task, answer.task_id, with_for_update=True, populate_existing=True)
    if task.status == "completed":
        raise TaskCompleted("The task is complete, so its answers are final; once review exists, appeal instead.")
    if task.status != "open":
        raise Conflict(f"The task is {task.status}; its answers are final.")
    if task.is_gold:
        raise Conflict("Answers to gold tasks are final: their score decides who qualifies.")
    if session.scalar(select(Review.id).where(Review.annotation_id == answer.id)) is not None:
        raise Conflict("A reviewer has judged this answer; it is final.")
    project = session.get(Project, answer.project_id)
    schema = current_schema(project)
    clean = validate_result(schema, result, _context(session, project, task.data, task.media_sha256))
    session.add(AnnotationRevision(annotation_id=answer.id, result=answer.result, lead_time_ms=answer.lead_time_ms,
                                   schema_version=answer.schema_version, created_at=now))
    answer.result, answer.schema_version = clean, project.schema_version
    if lead_time_ms is not None:
        answer.lead_time_ms = lead_time_ms
    session.flush()
    return answer
