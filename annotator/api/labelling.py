"""Labelling: next task, heartbeat, submit, skip, flag; the moderation queue; reinstating annotators."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from annotator import audit, ratelimit
from annotator.api.core import Page, WithFields, no_content, project_rows, route
from annotator.api.fields import In, PageQuery, SafeString, StrictInteger
from annotator.api.schemas import UserBrief
from annotator.users import service
from annotator.errors import NotFound
from annotator.web import db_session, request_now
from annotator.workflows import labelling, moderation
from tasks import annotations, projects, reviews
from tasks.models import FLAG_REASONS, FLAG_STATUSES, Annotation, Flag, Task

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


class MyAnswerOut(AnnotationOut):
    """An answer as its author lists it (no assignment id: the lease is over)."""

    project_id = fields.Integer()
    task_status = fields.String()
    revisable = fields.Function(lambda row: row.task_status == "open" and not row.gold and row.verdict is None,
                                metadata={"description": "whether PUT /annotations/{id} may still change it (its task "
                                                         "is not complete and no reviewer has judged it)"})
    task_data = fields.Dict(metadata={"description": "the task's data (its text, or its image's URL)"})
    review_id = fields.Integer(allow_none=True, metadata={"description": "its review (POST /reviews/{id}/appeal)"})
    verdict = fields.String(allow_none=True, metadata={"description": "accepted, rejected, fixed, overturned; null "
                                                                      "before review"})
    review_note = fields.String(allow_none=True, metadata={"description": "the reviewer's reason"})
    reviewed_at = fields.AwareDateTime(allow_none=True)
    appeal_until = fields.Function(
        lambda row: _appeal_until(row), allow_none=True,
        metadata={"description": "until when a rejection may be appealed (null for anything else or once appealed)"})
    appeal_id = fields.Integer(allow_none=True)
    appeal_status = fields.String(allow_none=True, metadata={"description": "open, upheld or overturned"})


def _appeal_until(row) -> str | None:
    if row.verdict != "rejected" or row.appeal_id is not None:
        return None
    days = {**reviews.POLICY_DEFAULTS, **(row.review_policy or {})}["appeal_days"]
    return (row.reviewed_at + dt.timedelta(days=days)).isoformat()


class MyAnswersQuery(PageQuery):
    project_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    verdict = fields.String(load_default=None, validate=validate.OneOf(tuple(reviews.VERDICTS.values()) + (
        "overturned",)), metadata={"description": "only answers with this review verdict (e.g. rejected)"})


class SkipIn(In):
    reason = SafeString(max_length=500, min_length=0, multiline=True, load_default=None)


class FlagIn(In):
    reason = fields.String(required=True, validate=validate.OneOf(FLAG_REASONS))
    note = SafeString(max_length=2000, min_length=0, multiline=True, load_default="")


class ReviewIn(In):
    verdict = fields.String(required=True, validate=validate.OneOf(tuple(reviews.VERDICTS)))
    note = SafeString(max_length=2000, min_length=0, multiline=True, load_default="", metadata={
        "description": "why: required for a rejection (the annotator sees it and may appeal)"})
    result = fields.Raw(metadata={"description": "the corrected result, required with verdict fix (validated as "
                                                 "an answer is) and allowed with nothing else"})

    @validates_schema
    def _consistent(self, data: dict, **_kwargs) -> None:
        if data.get("verdict") == "reject" and not data.get("note", "").strip():
            raise ValidationError("A rejection needs a reason the annotator can read.", "note")
        if data.get("verdict") == "fix" and "result" not in data:
            raise ValidationError("A fix needs the corrected result.", "result")
        if data.get("verdict") != "fix" and "result" in data:
            raise ValidationError("Only a fix carries a result.", "result")


class ReviewOut(Schema):
    id = fields.Integer()
    annotation_id = fields.Integer()
    reviewer_id = fields.Integer()
    verdict = fields.String(metadata={"description": "accepted, rejected, fixed, or overturned (a rejection an "
                                                     "appeal overturned)"})
    note = fields.String()
    result = fields.Dict(allow_none=True, metadata={"description": "a fix's corrected result"})
    review_lease_id = fields.Integer(allow_none=True, metadata={"description": "the review lease it was given under"})
    taken_back = fields.Integer(metadata={"description": "what a rejection took back from the annotator's wallet"})
    reviewer_paid = fields.Integer(metadata={"description": "what finishing a leased review item paid the reviewer"})
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
    user = fields.Nested(UserBrief, metadata={"description": "who answered"})


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
    task_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "the flags of one task"})


class ResolveIn(In):
    action = fields.String(required=True, validate=validate.OneOf(("keep", "remove")))


class StandingOut(Schema):
    user_id = fields.Integer()
    gold_answered = fields.Integer()
    disqualified = fields.Boolean()
    reinstated_at = fields.AwareDateTime(allow_none=True)


@route(bp, "/projects/<int:project_id>/next", methods=["POST"], response=LeaseOut,
       summary="Your next task with a lease (the same one while your lease lives); 204 when none is left", tag=TAG)
def next_task(project_id: int):
    ratelimit.limit("labelling", str(current_user.id))
    db = db_session()
    lease = labelling.take_next(db, project_id, current_user, request_now(),
                                max_open_leases=current_app.config["ANNOTATOR_MAX_OPEN_LEASES"])
    db.commit()
    if lease is None:
        return no_content()
    return {"assignment": {"id": lease.assignment_id, "task_id": lease.task_id, "expires_at": lease.expires_at},
            "task": {"id": lease.task_id, "data": lease.data}}


@route(bp, "/assignments/<int:assignment_id>/heartbeat", methods=["POST"], response=AssignmentOut,
       summary="Keep your lease alive", tag=TAG)
def heartbeat(assignment_id: int):
    ratelimit.limit("labelling", str(current_user.id))
    kept = labelling.heartbeat(db_session(), assignment_id, current_user, request_now())
    db_session().commit()
    return kept


@route(bp, "/assignments/<int:assignment_id>/annotation", methods=["POST"], body=AnnotationIn,
       response=AnnotationOut, status=201, idempotent=True, summary="Submit your answer", tag=TAG)
def submit(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    return labelling.submit(db_session(), assignment_id, current_user, payload["result"], payload["lead_time_ms"],
                            request_now())  # the route records the reply for its Idempotency-Key and commits


@route(bp, "/me/annotations", methods=["GET"], query=MyAnswersQuery, response=MyAnswerOut, paged=True,
       summary="Your answers, newest first (in one project with project_id)", tag=TAG)
def my_annotations(args: dict) -> Page:
    db, query = db_session(), annotations.mine(current_user, args["project_id"], args["verdict"])
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.execute(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).all()
    return Page(list(rows), args["page"], args["per_page"], total)


@route(bp, "/annotations/<int:annotation_id>", methods=["GET"], response=MyAnswerOut,
       summary="One of your answers with its task's data, to revise it (the author; others 404)", tag=TAG)
def my_annotation(annotation_id: int):
    row = db_session().execute(annotations.mine(current_user).where(Annotation.id == annotation_id)).first()
    if row is None:
        raise NotFound("No such annotation.")
    return row


@route(bp, "/annotations/<int:annotation_id>", methods=["PUT"], body=AnnotationIn, response=AnnotationOut,
       summary="Revise your answer while its task is not complete (the earlier version is kept; pay unchanged); "
               "409 task_completed after", tag=TAG)
def revise_annotation(annotation_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    db, now = db_session(), request_now()
    revised = annotations.revise(db, annotation_id, current_user, payload["result"], payload["lead_time_ms"], now)
    db.commit()
    return revised


@route(bp, "/assignments/<int:assignment_id>/skip", methods=["POST"], body=SkipIn, response=AssignmentOut,
       summary="Skip the task; it is not offered to you again", tag=TAG)
def skip(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    skipped = labelling.skip(db_session(), assignment_id, current_user, payload["reason"], request_now())
    db_session().commit()
    return skipped


@route(bp, "/assignments/<int:assignment_id>/flag", methods=["POST"], body=FlagIn, response=FlagOut,
       summary="Report the task; it is withheld until an owner resolves the flag", tag=TAG)
def flag(assignment_id: int, payload: dict):
    ratelimit.limit("labelling", str(current_user.id))
    report = labelling.flag(db_session(), assignment_id, current_user, payload["reason"], payload["note"],
                            request_now())
    db_session().commit()
    return report


@route(bp, "/tasks/<int:task_id>/annotations", methods=["GET"], query=PageQuery, response=TaskAnswerOut, paged=True,
       summary="The task's answers with their review verdicts, oldest first (owner, manager or reviewer)", tag=TAG)
def task_answers(task_id: int, args: dict) -> Page:
    db = db_session()
    task, _seen = projects.staff_row(db, Task, task_id, current_user, "task", need="reviewer")
    rows, total = reviews.answers_page(db, task, args["page"], args["per_page"])
    people = service.users_by_id(db, {answer.user_id for answer, _verdict in rows})
    return Page([WithFields(answer, verdict=verdict, user=people.get(answer.user_id)) for answer, verdict in rows],
                args["page"], args["per_page"], total)


@route(bp, "/annotations/<int:annotation_id>/review", methods=["POST"], body=ReviewIn, response=ReviewOut,
       status=201, summary="Accept, reject (with a reason) or fix (with the corrected result) an answer, once (owner, "
                           "manager or reviewer; not your own). A rejection takes back what the answer earned, settled "
                           "or pending (409 insufficient_funds if already paid out), takes the answer out of "
                           "agreement and consensus and may reopen its task; the annotator may appeal it. A fix "
                           "becomes the task's reviewed result",
       tag=TAG)
def review(annotation_id: int, payload: dict):
    db, now = db_session(), request_now()
    done = moderation.review(db, annotation_id, current_user, payload["verdict"], payload["note"], now,
                             payload.get("result"))
    audit.record(db, current_user.id, "answer_reviewed", now, project_id=done.project.id, target="annotation",
                 target_id=annotation_id, verdict=done.review.verdict, taken_back=done.taken_back,
                 review_lease_id=done.review.review_lease_id, reviewer_paid=done.reviewer_paid)
    db.commit()
    return WithFields(done.review, taken_back=done.taken_back, reviewer_paid=done.reviewer_paid)


@route(bp, "/projects/<int:project_id>/flags", methods=["GET"], query=FlagQuery, response=FlagOut, paged=True,
       summary="The moderation queue (owner or manager)", tag=TAG)
def list_flags(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    return project_rows(db, Flag, project_id, args)


@route(bp, "/flags/<int:flag_id>/resolve", methods=["POST"], body=ResolveIn, response=FlagOut,
       summary="Keep the task (back to the pool) or remove it (retired, leases released)", tag=TAG)
def resolve(flag_id: int, payload: dict):
    db, now = db_session(), request_now()
    done = moderation.resolve_flag(db, flag_id, current_user, payload["action"], now)
    audit.record(db, current_user.id, "flag_resolved", now, project_id=done.project.id, target="flag",
                 target_id=flag_id, decision=payload["action"], task_id=done.flag.task_id)
    db.commit()
    return done.flag


@route(bp, "/projects/<int:project_id>/annotators/<int:user_id>/reinstate", methods=["POST"], response=StandingOut,
       summary="Let a disqualified annotator work again (owner or manager)", tag=TAG)
def reinstate(project_id: int, user_id: int):
    db, now = db_session(), request_now()
    standing = moderation.reinstate(db, project_id, current_user, user_id, now)
    audit.record(db, current_user.id, "annotator_reinstated", now, project_id=project_id, target="user",
                 target_id=user_id)
    db.commit()
    return standing
