"""Review: the review queue and its leases, appeals and their decisions, reviewers measured.

(A verdict itself is POST /annotations/{id}/review, in labelling.py beside the answers it judges.)
"""
from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from annotator import audit
from annotator.api.core import Page, WithFields, no_content, paginate, route
from annotator.api.fields import In, PageQuery, SafeString
from annotator.api.schemas import UserBrief
from annotator.users import service
from annotator.web import db_session, request_now
from annotator.workflows import moderation
from annotator.workflows import quality as quality_flow
from tasks import projects, reviews
from tasks.models import Annotation, Appeal, Project, Review, ReviewLease

bp = Blueprint("reviews_api", __name__)
TAG = "review"


class ReviewLeaseOut(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    expires_at = fields.AwareDateTime()
    status = fields.String()


class ReviewAnswerOut(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    user_id = fields.Integer()
    user = fields.Nested(UserBrief)
    result = fields.Dict()
    counted = fields.Boolean()
    gold_score = fields.Float(allow_none=True)
    lead_time_ms = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    review_id = fields.Integer(allow_none=True)
    verdict = fields.String(allow_none=True, metadata={"description": "null while it waits for a verdict"})


class ReviewTaskOut(Schema):
    id = fields.Integer()
    external_id = fields.String(allow_none=True)
    data = fields.Dict()
    status = fields.String()
    is_gold = fields.Boolean()
    gold = fields.Dict(allow_none=True, metadata={"description": "the gold answer, on a gold task"})


class ReviewItemOut(Schema):
    review_lease = fields.Nested(ReviewLeaseOut)
    task = fields.Nested(ReviewTaskOut)
    answers = fields.List(fields.Nested(ReviewAnswerOut), metadata={
        "description": "the answers to judge (the one answer an answer-level item names, else all the task's)"})
    consensus = fields.Dict(allow_none=True, metadata={"description": "as GET /tasks/{id}/consensus shows it"})
    reason = fields.String(metadata={"description": "why it is in the queue: " + ", ".join(reviews.REASONS)})
    agreement = fields.Float(allow_none=True, metadata={"description": "the task's agreement when it was picked"})
    annotation_id = fields.Integer(allow_none=True, metadata={"description": "the one answer an item names"})


@route(bp, "/projects/<int:project_id>/review/next", methods=["POST"], response=ReviewItemOut,
       summary="The next item of the review queue with a lease (the same one while your lease lives): a task with "
               "its answers, its consensus and why it was picked, never one with your own answers; 204 when none is "
               "left or the project has no review policy (reviewer and up)", tag=TAG)
def next_review(project_id: int):
    db, now = db_session(), request_now()
    leased = moderation.next_review(db, project_id, current_user, now)
    if leased is None:
        db.commit()
        return no_content()
    limit = current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"]
    project = projects.access(db, project_id, current_user, need="reviewer").project
    consensus = None
    if any(answer.counted for answer, _review in leased.answers) or leased.task.submitted:
        consensus = quality_flow.task_consensus(db, project, leased.task, on_request_limit=limit).as_dict(
            with_task_id=False)
    people = service.users_by_id(db, {answer.user_id for answer, _review in leased.answers})
    answers = [WithFields(answer, user=people.get(answer.user_id), review_id=review.id if review else None,
                          verdict=review.verdict if review else None) for answer, review in leased.answers]
    if leased.new:
        audit.record(db, current_user.id, "review_leased", now, project_id=project.id, target="review_item",
                     target_id=leased.item.id, review_lease_id=leased.lease.id, reason=leased.item.reason)
    db.commit()
    return {"review_lease": leased.lease, "task": leased.task, "answers": answers, "consensus": consensus,
            "reason": leased.item.reason, "agreement": leased.item.agreement,
            "annotation_id": leased.item.annotation_id}


@route(bp, "/review-leases/<int:lease_id>/heartbeat", methods=["POST"], response=ReviewLeaseOut,
       summary="Keep your review lease for another lease_seconds (409 lease_expired once it lapsed)", tag=TAG)
def heartbeat(lease_id: int):
    db, now = db_session(), request_now()
    lease = reviews.heartbeat(db, lease_id, current_user, now, _project_of_lease(db, lease_id))
    db.commit()
    return lease


@route(bp, "/review-leases/<int:lease_id>/release", methods=["POST"], response=ReviewLeaseOut,
       summary="Give the item back to the queue (its reviewer pay reservation goes back to the budget)", tag=TAG)
def release(lease_id: int):
    db, now = db_session(), request_now()
    lease = moderation.release_review(db, lease_id, current_user, now)
    db.commit()
    return lease


def _project_of_lease(db, lease_id: int) -> Project | None:
    lease = db.get(ReviewLease, lease_id)
    return db.get(Project, lease.project_id) if lease is not None else None


class AppealIn(In):
    reason = SafeString(required=True, max_length=4000, multiline=True, metadata={
        "description": "why the rejection was wrong"})


class DecideIn(In):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(reviews.DECISIONS)))
    note = SafeString(max_length=4000, min_length=0, multiline=True, load_default="")


class AppealOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    review_id = fields.Integer()
    annotation_id = fields.Integer()
    user_id = fields.Integer()
    reason = fields.String()
    status = fields.String(metadata={"description": "open, upheld or overturned"})
    decided_by = fields.Integer(allow_none=True)
    note = fields.String()
    restored = fields.Integer(metadata={"description": "what an overturn gave back to the annotator's wallets"})
    decided_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    task_id = fields.Integer(metadata={"description": "the answer's task"})
    result = fields.Dict(metadata={"description": "the answer as its author gave it"})
    user = fields.Nested(UserBrief, metadata={"description": "the answer's author"})
    reviewer_id = fields.Integer(metadata={"description": "who rejected it"})
    review_note = fields.String(metadata={"description": "why it was rejected"})


class AppealQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(("open", *reviews.DECISIONS.values())))
    project_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "your appeals in one project (GET /me/appeals)"})


def _with_context(db, page: Page) -> Page:
    """The page's appeals with their answer (task, result, author) and the rejection (reviewer, reason)."""
    answers = {a.id: a for a in db.scalars(select(Annotation).where(
        Annotation.id.in_([appeal.annotation_id for appeal in page.items])))}
    rejections = {r.id: r for r in db.scalars(select(Review).where(
        Review.id.in_([appeal.review_id for appeal in page.items])))}
    people = service.users_by_id(db, {appeal.user_id for appeal in page.items})
    return Page([WithFields(appeal, task_id=answers[appeal.annotation_id].task_id,
                             result=answers[appeal.annotation_id].result, user=people.get(appeal.user_id),
                             reviewer_id=rejections[appeal.review_id].reviewer_id,
                             review_note=rejections[appeal.review_id].note) for appeal in page.items],
                page.page, page.per_page, page.total)


@route(bp, "/reviews/<int:review_id>/appeal", methods=["POST"], body=AppealIn, response=AppealOut, status=201,
       summary="Appeal a rejection of your answer, once, within the project's appeal_days (404 for anyone but the "
               "answer's author; 409 after the window or a second time)", tag=TAG)
def appeal(review_id: int, payload: dict):
    db, now = db_session(), request_now()
    made = reviews.appeal(db, review_id, current_user, payload["reason"], now)
    audit.record(db, current_user.id, "appeal_made", now, project_id=made.project_id, target="appeal",
                 target_id=made.id, review_id=review_id, annotation_id=made.annotation_id)
    db.commit()
    return made


@route(bp, "/appeals/<int:appeal_id>/decide", methods=["POST"], body=DecideIn, response=AppealOut,
       summary="Uphold or overturn an appeal, once (a reviewer or manager of the project who is neither the "
               "rejection's reviewer nor the author: 403 for them). An overturn restores what the rejection took "
               "back by a reversing transaction and puts the answer back in agreement", tag=TAG)
def decide(appeal_id: int, payload: dict):
    db, now = db_session(), request_now()
    done = moderation.decide_appeal(db, appeal_id, current_user, payload["decision"], payload["note"], now)
    audit.record(db, current_user.id, "appeal_decided", now, project_id=done.project.id, target="appeal",
                 target_id=appeal_id, decision=done.appeal.status, restored=done.restored,
                 annotation_id=done.appeal.annotation_id)
    db.commit()
    return done.appeal


@route(bp, "/projects/<int:project_id>/appeals", methods=["GET"], query=AppealQuery, response=AppealOut, paged=True,
       summary="The project's appeals, newest first (reviewer and up)", tag=TAG)
def project_appeals(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="reviewer")
    return _with_context(db, paginate(db, reviews.appeals_query(project_id=project_id, status=args["status"]),
                                      args["page"], args["per_page"]))


@route(bp, "/me/appeals", methods=["GET"], query=AppealQuery, response=AppealOut, paged=True,
       summary="Your appeals, newest first", tag=TAG)
def my_appeals(args: dict) -> Page:
    db = db_session()
    return _with_context(db, paginate(db, reviews.appeals_query(project_id=args["project_id"], user_id=current_user.id,
                                                                status=args["status"]), args["page"], args["per_page"]))


class ReviewerOut(Schema):
    user = fields.Nested(UserBrief)
    reviews = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer(metadata={"description": "rejections, those later overturned included"})
    fixed = fields.Integer()
    overturned = fields.Integer(metadata={"description": "their rejections an appeal overturned"})
    upheld = fields.Integer(metadata={"description": "their rejections an appeal upheld"})
    gold_checked = fields.Integer(metadata={"description": "verdicts on gold answers"})
    gold_agreeing = fields.Integer(metadata={"description": "of those, the ones the gold answer agrees with"})
    median_seconds = fields.Float(allow_none=True, metadata={"description": "from taking a review lease to a verdict"})


class ReviewSummaryOut(Schema):
    policy = fields.Dict(allow_none=True, metadata={"description": "the project's review policy (null: none)"})
    queue = fields.Dict(metadata={"description": "review items by status: queued, leased, done, passed"})
    reasons = fields.Dict(metadata={"description": "items in the queue by why they were picked"})
    open_appeals = fields.Integer()
    reviewers = fields.List(fields.Nested(ReviewerOut))


@route(bp, "/projects/<int:project_id>/review", methods=["GET"], response=ReviewSummaryOut,
       summary="The review queue in numbers, open appeals, and each reviewer measured: verdicts, accuracy against "
               "gold and against appeals, time per review (owner or manager)", tag=TAG)
def summary(project_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    queue, reasons = reviews.queue_counts(db, project.id, request_now())
    appeals = db.scalar(select(func.count()).where(Appeal.project_id == project.id, Appeal.status == "open")) or 0
    stats = reviews.reviewer_stats(db, project)
    people = service.users_by_id(db, {s.user_id for s in stats})
    return {"policy": reviews.policy_of(project) if project.review is not None else None, "queue": queue,
            "reasons": reasons, "open_appeals": appeals,
            "reviewers": [WithFields(s, user=people.get(s.user_id)) for s in stats]}
