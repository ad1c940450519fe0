"""Labelling: next task, heartbeat, submit, skip, flag; the moderation queue; reinstating annotators."""
from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from annotator import audit, ratelimit
from annotator.api import idempotency
from annotator.api.core import Page, WithFields, no_content, project_rows, route
from annotator.api.fields import In, PageQuery, SafeString, StrictInteger
from annotator.db import utcnow
from annotator.errors import BudgetExhausted, NotFound, PermissionDenied, RateLimited
from annotator.web import OrjsonProvider, db_session
from incentives import payments
from tasks import annotations, assignment, projects, reviews
from tasks.models import FLAG_REASONS, FLAG_STATUSES, Assignment, Flag, Project, Task

bp = Blueprint("labelling_api", __name__)
TAG = "labelling"


class AssignmentOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    expires_at = fields.AwareDateTime()


class TaskForAnnotator(Schema):
    """What an annotator sees of a task: never whether it is gold."""

    id = fields.Integer()
    data = fields.Dict()


class LeaseOut(Schema):
    assignment = fields.Nested(AssignmentOut)
    task = fields.Nested(TaskForAnnotator)


class AnnotationIn(In):
    result = fields.Raw(required=True, metadata={"description": "validated against the project's label schema"})
    lead_time_ms = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=7 * 86_400_000))


class AnnotationOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    assignment_id = fields.Integer()
    result = fields.Dict()
    lead_time_ms = fields.Integer(allow_none=True)
    schema_version = fields.Integer()
    created_at = fields.AwareDateTime()


_ANNOTATION_OUT = AnnotationOut()


class SkipIn(In):
    reason = SafeString(max_length=500, min_length=0, multiline=True, load_default=None)


class FlagIn(In):
    reason = fields.String(required=True, validate=validate.OneOf(FLAG_REASONS))
    note = SafeString(max_length=2000, min_length=0, multiline=True, load_default="")


class ReviewIn(In):
    verdict = fields.String(required=True, validate=validate.OneOf(tuple(reviews.VERDICTS)))
    note = SafeString(max_length=2000, min_length=0, multiline=True, load_default="")


class ReviewOut(Schema):
    id = fields.Integer()
    annotation_id = fields.Integer()
    reviewer_id = fields.Integer()
    verdict = fields.String(metadata={"description": "accepted or rejected"})
    note = fields.String()
    taken_back = fields.Integer(metadata={"description": "what a rejection took back from the annotator's wallet"})
    created_at = fields.AwareDateTime()


class TaskAnswerOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    user_id = fields.Integer()
    result = fields.Dict()
    lead_time_ms = fields.Integer(allow_none=True)
    schema_version = fields.Integer()
    counted = fields.Boolean(metadata={"description": "false while its annotator was disqualified"})
    gold_score = fields.Float(allow_none=True)
    verdict = fields.String(allow_none=True, metadata={"description": "accepted, rejected, or null before review"})
    created_at = fields.AwareDateTime()


class FlagOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    task_id = fields.Integer()
    user_id = fields.Integer()
    reason = fields.String()
    note = fields.String()
    status = fields.String()
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class FlagQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(FLAG_STATUSES))


class ResolveIn(In):
    action = fields.String(required=True, validate=validate.OneOf(("keep", "remove")))


class StandingOut(Schema):
    user_id = fields.Integer()
    gold_answered = fields.Integer()
    disqualified = fields.Boolean()
    reinstated_at = fields.AwareDateTime(allow_none=True)


def _assignment(assignment_id: int) -> tuple[Assignment, Project]:
    """The caller's assignment and its project: 404 if unknown or in a project they cannot see."""
    db = db_session()
    found = db.get(Assignment, assignment_id, with_for_update=True)
    if found is None:
        raise NotFound("No such assignment.")
    project = projects.visible(db, found.project_id, current_user)
    return assignment.owned_assignment(db, found, current_user), project


def _reserve(db, project: Project, assignment_id: int, now) -> None:
    """Reserve the new lease's most; with the budget short, first take back what ended leases still hold."""
    try:
        payments.reserve(db, project, assignment_id, now)  # refuses before writing anything: no savepoint needed
    except BudgetExhausted:
        if not payments.release_lapsed(db, now, project_id=project.id):
            raise
        payments.reserve(db, project, assignment_id, now)


def _pay(db, project: Project, saved: annotations.Saved, now) -> None:
    """Credit a counted answer (or give back the lease's reservation) and settle a task it completed."""
    payments.pay_for_answer(db, project, current_user, saved.id, saved.assignment_id, saved.task_id, now,
                            counted=saved.counted, completes=saved.completed or saved.gold)


@route(bp, "/projects/<int:project_id>/next", methods=["POST"], response=LeaseOut,
       summary="Your next task with a lease (the same one while your lease lives); 204 when none is left", tag=TAG)
def next_task(project_id: int):
    ratelimit.limit("labelling", str(current_user.id))
    db = db_session()
    project = projects.visible(db, project_id, current_user)
    if project.visibility != "public" and projects.role_of(db, project, current_user) is None:
        # An administrator sees every project, but labels (and spends the budget of) private ones only as a member.
        raise PermissionDenied("Only the project's members label a private project.")
    _open_leases_allowed(db, project, utcnow())
    now = utcnow()
    lease = assignment.next_task(db, project, current_user, now)
    if lease is not None and lease.new:
        _reserve(db, project, lease.assignment_id, now)
    db.commit()
    if lease is None:
        return no_content()
    return {"assignment": {"id": lease.assignment_id, "task_id": lease.task_id, "expires_at": lease.expires_at},
            "task": {"id": lease.task_id, "data": lease.data}}


def _open_leases_allowed(db, project, now) -> None:
    """One annotator holds at most ANNOTATOR_MAX_OPEN_LEASES live leases across projects (one per project is the
    rule within a project): asking a new project for work beyond that is 429 until one is answered or lapses."""
    live = db.execute(select(Assignment.project_id).where(
        Assignment.user_id == current_user.id, Assignment.status == "leased", Assignment.expires_at > now)).scalars().all()
    if project.id not in live and len(live) >= current_app.config["ANNOTATOR_MAX_OPEN_LEASES"]:
        raise RateLimited(60, f"You hold {len(live)} open leases; answer, skip or let one lapse before taking more.")


@route(bp, "/assignments/<int:assignment_id>/heartbeat", methods=["POST"], response=AssignmentOut,
       summary="Keep your lease alive", tag=TAG)
def heartbeat(assignment_id: int):
    ratelimit.limit("labelling", str(current_user.id))
    held, project = _assignment(assignment_id)
    assignment.heartbeat(db_session(), held, project, utcnow())
    db_session().commit()
    return held


@route(bp, "/assignments/<int:assignment_id>/annotation", methods=["POST"], body=AnnotationIn,
       response=AnnotationOut, status=201, idempotent=True, summary="Submit your answer", tag=TAG)
def submit(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    db = db_session()
    held = annotations.held_for_submit(db, assignment_id)
    if held is None:
        raise NotFound("No such assignment.")
    project = projects.visible(db, held.project_id, current_user)
    now = utcnow()
    saved = annotations.submit(db, project, held, current_user, payload["result"], payload["lead_time_ms"], now)
    _pay(db, project, saved, now)
    body = _ANNOTATION_OUT.dump(saved)
    idempotency.remember(201, body)
    db.commit()
    return Response(OrjsonProvider.dumps_bytes(body), status=201, mimetype="application/json")


@route(bp, "/assignments/<int:assignment_id>/skip", methods=["POST"], body=SkipIn, response=AssignmentOut,
       summary="Skip the task; it is not offered to you again", tag=TAG)
def skip(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    held, project = _assignment(assignment_id)
    annotations.skip(db_session(), held, payload["reason"], utcnow())
    payments.release(db_session(), project, held.id, utcnow(), "skipped")
    db_session().commit()
    return held


@route(bp, "/assignments/<int:assignment_id>/flag", methods=["POST"], body=FlagIn, response=FlagOut,
       summary="Report the task; it is withheld until an owner resolves the flag", tag=TAG)
def flag(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    held, project = _assignment(assignment_id)
    report = annotations.flag(db_session(), held, current_user, payload["reason"], payload["note"], utcnow())
    payments.release(db_session(), project, held.id, utcnow(), "flagged")
    db_session().commit()
    return report


@route(bp, "/tasks/<int:task_id>/annotations", methods=["GET"], query=PageQuery, response=TaskAnswerOut, paged=True,
       summary="The task's answers with their review verdicts, oldest first (owner, manager or reviewer)", tag=TAG)
def task_answers(task_id: int, args: dict) -> Page:
    db = db_session()
    task, _seen = projects.staff_row(db, Task, task_id, current_user, "task", need="reviewer")
    rows, total = reviews.answers_page(db, task, args["page"], args["per_page"])
    return Page([WithFields(answer, verdict=verdict) for answer, verdict in rows], args["page"], args["per_page"],
                total)


@route(bp, "/annotations/<int:annotation_id>/review", methods=["POST"], body=ReviewIn, response=ReviewOut,
       status=201, summary="Accept or reject an answer (owner, manager or reviewer; final). A rejection takes back "
                           "what the answer earned, settled or pending (409 insufficient_funds if already paid out)",
       tag=TAG)
def review(annotation_id: int, payload: dict):
    db = db_session()
    now = utcnow()
    made, answer, project = reviews.review(db, annotation_id, current_user, payload["verdict"], payload["note"], now)
    taken = payments.claw_back(db, project, answer, now) if made.verdict == "rejected" else 0
    audit.record(db, current_user.id, "answer_reviewed", now, project_id=project.id, target="annotation",
                 target_id=annotation_id, verdict=made.verdict, taken_back=taken)
    db.commit()
    return Response(OrjsonProvider.dumps_bytes(ReviewOut().dump(WithFields(made, taken_back=taken))), status=201,
                    mimetype="application/json")


@route(bp, "/projects/<int:project_id>/flags", methods=["GET"], query=FlagQuery, response=FlagOut, paged=True,
       summary="The moderation queue (owner or manager)", tag=TAG)
def list_flags(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    return project_rows(db, Flag, project_id, args)


@route(bp, "/flags/<int:flag_id>/resolve", methods=["POST"], body=ResolveIn, response=FlagOut,
       summary="Keep the task (back to the pool) or remove it (retired, leases released)", tag=TAG)
def resolve(flag_id: int, payload: dict):
    db = db_session()
    # Locked: of two resolutions at once, the second sees the first.
    report, seen = projects.staff_row(db, Flag, flag_id, current_user, "flag", lock=True)
    annotations.resolve_flag(db, report, payload["action"], current_user, seen.project, utcnow())
    if payload["action"] == "remove":
        payments.release_lapsed(db, utcnow(), project_id=seen.project.id)  # the leases it released
        # Answers already given to the withdrawn task are paid their base (their bonus returns to the budget).
        payments.settle(db, seen.project, db.get(Task, report.task_id), utcnow(), bonus=False)
    audit.record(db, current_user.id, "flag_resolved", utcnow(), project_id=seen.project.id, target="flag",
                 target_id=flag_id, decision=payload["action"], task_id=report.task_id)
    db.commit()
    return report


@route(bp, "/projects/<int:project_id>/annotators/<int:user_id>/reinstate", methods=["POST"], response=StandingOut,
       summary="Let a disqualified annotator work again (owner or manager)", tag=TAG)
def reinstate(project_id: int, user_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    standing = annotations.reinstate(db, project, user_id, utcnow())
    audit.record(db, current_user.id, "annotator_reinstated", utcnow(), project_id=project_id, target="user",
                 target_id=user_id)
    db.commit()
    return standing
