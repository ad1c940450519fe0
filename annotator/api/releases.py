"""Data contribution: dataset releases with their contribution shares, revenue split through the ledger, your
contributions, and a project's revenue-sharing terms (incentives/contributions.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotator import audit
from annotator.api import idempotency
from annotator.api.core import Page, WithFields, route
from annotator.api.fields import In, Money, PageQuery, SafeString, StrictInteger
from annotator.errors import InvalidInput, NotFound, PermissionDenied
from annotator.users import service
from annotator.web import db_session, request_now
from incentives import contributions, ledger
from incentives.models import Revenue
from tasks import projects
from tasks.models import Release

bp = Blueprint("releases_api", __name__)
TAG = "releases"


class ReleaseIn(In):
    export_id = StrictInteger(required=True, validate=validate.Range(min=1))
    name = SafeString(required=True, max_length=200)


class UserBriefOut(Schema):
    id = fields.Integer()
    display_name = fields.String()


class ShareOut(Schema):
    user_id = fields.Integer()
    user = fields.Nested(UserBriefOut, allow_none=True)
    share = fields.Integer(metadata={"description": "parts of share_scale; the shares add up to it exactly"})
    weight = fields.Float(metadata={"description": "the contribution the share was computed from (bits)"})
    answers = fields.Integer(metadata={"description": "answers that agreed with the released result"})
    fixes = fields.Integer(metadata={"description": "reviewers' fixes"})
    terms_version = fields.Integer(allow_none=True, metadata={"description": "the terms it was made under (0: the "
                                                                             "platform's)"})
    reason = fields.String(allow_none=True, metadata={"description": "why a share is 0: terms_not_accepted, "
                                                                     "no_agreeing_answers, rejected (every answer)"})


class ReleaseOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    export_id = fields.Integer()
    name = fields.String()
    sha256 = fields.String()
    size_bytes = fields.Integer()
    licence = fields.String()
    terms_version = fields.Integer()
    share_scale = fields.Integer()
    card = fields.Dict(metadata={"description": "the dataset card, contributors listed pseudonymously with shares"})
    contributions = fields.List(fields.Nested(ShareOut))
    revenue = fields.Integer(metadata={"description": "what its revenue has brought in all"})
    created_at = fields.AwareDateTime()


def _release_out(db, release: Release) -> WithFields:
    rows = contributions.shares_of(db, release.id)
    people = service.users_by_id(db, {row.user_id for row in rows})
    total = sum(r.amount for r in db.query(Revenue).filter(Revenue.release_id == release.id))
    return WithFields(release, contributions=[WithFields(row, user=people.get(row.user_id)) for row in rows],
                      revenue=total)


@route(bp, "/projects/<int:project_id>/releases", methods=["POST"], body=ReleaseIn, response=ReleaseOut, status=201,
       summary="Freeze a completed export as a named, immutable dataset release with each contributor's share "
               "(owner; 404 for another project's export; 409 while it is not completed, when the data changed since, "
               "or for a name already used)", tag=TAG)
def make_release(project_id: int, payload: dict):
    db, now = db_session(), request_now()
    project = _owned(db, project_id)
    release = contributions.make_release(db, project, current_user, payload["export_id"], payload["name"], now,
                                         current_app.config["SECRET_KEY"].encode())
    audit.record(db, current_user.id, "release_made", now, project_id=project.id, target="release",
                 target_id=release.id, name=release.name, export_id=release.export_id)
    db.commit()
    return _release_out(db, release)


def _owned(db, project_id: int):
    try:
        return projects.access(db, project_id, current_user, need="owner").project
    except PermissionDenied:
        raise NotFound("No such project.") from None


@route(bp, "/projects/<int:project_id>/releases", methods=["GET"], query=PageQuery, response=ReleaseOut, paged=True,
       summary="The project's releases, newest first, with their shares and revenue (owner)", tag=TAG)
def list_releases(project_id: int, args: dict) -> Page:
    db = db_session()
    project = _owned(db, project_id)
    query = db.query(Release).filter(Release.project_id == project.id).order_by(Release.id.desc())
    total = query.count()
    items = query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"]).all()
    return Page([_release_out(db, release) for release in items], args["page"], args["per_page"], total)


@route(bp, "/releases/<int:release_id>", methods=["GET"], response=ReleaseOut,
       summary="A release with its shares, card and revenue (its project's owner)", tag=TAG)
def get_release(release_id: int):
    db = db_session()
    release, _project = contributions.release_for(db, release_id, current_user)
    return _release_out(db, release)


class RevenueIn(In):
    amount = Money(required=True, minimum=1, metadata={"description": "minor units, a whole number from 1"})
    memo = SafeString(max_length=500, min_length=0, load_default="")


class PaidOut(Schema):
    user_id = fields.Integer()
    amount = fields.Integer()


class RevenueOut(Schema):
    id = fields.Integer()
    release_id = fields.Integer()
    amount = fields.Integer()
    fee = fields.Integer()
    memo = fields.String()
    transaction_id = fields.Integer()
    paid = fields.List(fields.Nested(PaidOut), metadata={"description": "each contributor's part: with the fee they "
                                                                        "add up to the amount exactly"})
    created_at = fields.AwareDateTime()


@route(bp, "/releases/<int:release_id>/revenue", methods=["POST"], body=RevenueIn, response=RevenueOut, status=201,
       idempotent=True, summary="Record income for a release (its owner or an administrator; Idempotency-Key "
                                "required): the platform's fee, then the rest to contributors' wallets by their "
                                "shares, exactly, in one ledger transaction", tag=TAG)
def record_revenue(release_id: int, payload: dict):
    if not request.headers.get(idempotency.HEADER):
        raise InvalidInput({idempotency.HEADER: ["Send an Idempotency-Key: income is recorded once per key."]})
    db, now = db_session(), request_now()
    release, project = contributions.release_for(db, release_id, current_user, money=True)
    done = contributions.record_revenue(db, release, current_user, payload["amount"], payload["memo"],
                                        int(current_app.config["ANNOTATOR_PLATFORM_FEE_BPS"]), now)
    ledger.apply_late(db)
    audit.record(db, current_user.id, "revenue_recorded", now, project_id=project.id, target="release",
                 target_id=release.id, amount=payload["amount"], fee=done.revenue.fee, revenue_id=done.revenue.id)
    return WithFields(done.revenue, paid=[{"user_id": user_id, "amount": amount}
                                          for user_id, amount in sorted(done.paid.items())])


@route(bp, "/releases/<int:release_id>/revenue", methods=["GET"], query=PageQuery, response=RevenueOut, paged=True,
       summary="A release's revenue, newest first (its owner or an administrator)", tag=TAG)
def list_revenue(release_id: int, args: dict) -> Page:
    db = db_session()
    release, _project = contributions.release_for(db, release_id, current_user, money=True)
    query = db.query(Revenue).filter(Revenue.release_id == release.id).order_by(Revenue.id.desc())
    total = query.count()
    rows = query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"]).all()
    return Page([WithFields(row, paid=contributions.paid_by(db, row)) for row in rows], args["page"],
                args["per_page"], total)


class ContributionOut(Schema):
    release_id = fields.Integer()
    project_id = fields.Integer()
    project_name = fields.String()
    name = fields.String()
    share = fields.Integer()
    share_scale = fields.Integer()
    earned = fields.Integer(metadata={"description": "what the release's revenue has paid you"})
    answers = fields.Integer()
    fixes = fields.Integer()
    reason = fields.String(allow_none=True)
    terms_version = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


@route(bp, "/me/contributions", methods=["GET"], response=ContributionOut, paged=True,
       summary="The releases you contributed to, newest first, with your share and what each has paid you", tag=TAG)
def my_contributions():
    rows = contributions.mine(db_session(), current_user)
    return Page(rows, 1, max(len(rows), 1), len(rows))


class TermsIn(In):
    version = StrictInteger(required=True, validate=validate.Range(min=1))


class TermsOut(Schema):
    version = fields.Integer(metadata={"description": "0: the platform's default terms (accepted at sign-up)"})
    text = fields.String()
    accepted = fields.Boolean(metadata={"description": "whether you accepted this version"})


@route(bp, "/projects/<int:project_id>/terms", methods=["GET"], response=TermsOut,
       summary="The project's revenue-sharing terms and whether you accepted them", tag=TAG)
def get_terms(project_id: int):
    db = db_session()
    project = projects.visible(db, project_id, current_user)
    version = contributions.terms_version(project)
    return {"version": version, "text": (project.terms or {}).get("text", contributions.PLATFORM_TERMS),
            "accepted": not version or bool(contributions.accepted(db, project.id, {current_user.id}, version))}


@route(bp, "/projects/<int:project_id>/terms/accept", methods=["POST"], body=TermsIn, response=TermsOut,
       summary="Accept the project's current revenue-sharing terms (409 for another version)", tag=TAG)
def accept_terms(project_id: int, payload: dict):
    db, now = db_session(), request_now()
    contributions.accept_terms(db, project_id, current_user, payload["version"], now)
    audit.record(db, current_user.id, "terms_accepted", now, project_id=project_id, target="project",
                 target_id=project_id, version=payload["version"])
    db.commit()
    project = projects.visible(db, project_id, current_user)
    return {"version": payload["version"], "text": project.terms["text"], "accepted": True}
