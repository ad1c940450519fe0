"""Projects: create, list with your role, read, change settings, members and invitations, stats."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from annotator import audit
from annotator.api.core import Page, WithFields, no_content, paginate, route
from annotator.api.fields import EmailAddress, In, Money, PageQuery, Ratio, SafeString, StrictInteger, WholeNested
from annotator.api.schemas import UserBrief
from annotator.users.models import User
from annotator.web import db_session, request_now
from incentives import mechanisms, pricing
from tasks import projects, reviews
from tasks.models import AGGREGATIONS, MEMBER_ROLES, PROJECT_STATUSES, ROUTINGS, VISIBILITIES
from tasks.schema import MEDIA_TYPES

bp = Blueprint("projects_api", __name__)
TAG = "projects"


class DynamicOverlapIn(In):
    min_overlap = StrictInteger(required=True, validate=validate.Range(min=1, max=50))
    max_overlap = StrictInteger(required=True, validate=validate.Range(min=1, max=50))
    confidence_target = Ratio(required=True, minimum=0.5, maximum=1.0)


class QualificationIn(In):
    min_gold_accuracy = Ratio(load_default=0.0, minimum=0.0, maximum=1.0)
    warmup_gold = StrictInteger(load_default=0, validate=validate.Range(min=0, max=1000))


class TierIn(In):
    min_accuracy = Ratio(required=True, minimum=0.0, maximum=1.0, metadata={
        "description": "the annotator's project-wide accuracy (GET /projects/{id}/skills, label null) from which "
                       "the tier holds"})
    min_answers = StrictInteger(required=True, validate=validate.Range(min=1, max=1_000_000))
    multiplier = Ratio(required=True, minimum=1.0, maximum=10.0, metadata={
        "description": "base and bonus are paid times this (rounded down to minor units)"})


def _rising(tiers: list[dict]) -> None:
    """Tiers go up: each asks more accuracy (and no fewer answers) than the one before and pays no less."""
    for number, (lower, upper) in enumerate(zip(tiers, tiers[1:]), start=2):
        if not (upper["min_accuracy"] > lower["min_accuracy"] and upper["min_answers"] >= lower["min_answers"]
                and upper["multiplier"] >= lower["multiplier"]):
            raise ValidationError(f"Tier {number} must ask more accuracy, no fewer answers and pay no less than tier "
                                  f"{number - 1}: list tiers from the lowest up.")


class ReviewPolicyIn(In):
    """What goes to the review queue, how long a rejection may be appealed, and what a review pays."""

    sample_rate = Ratio(minimum=0.0, maximum=1.0, metadata={
        "description": "the share of completed tasks drawn at random for review (0: none)"})
    below_agreement = Ratio(allow_none=True, minimum=0.0, maximum=1.0, metadata={
        "description": "every completed task whose answers agree less than this (null: none)"})
    gold_failures = fields.Boolean(truthy={True}, falsy={False}, metadata={"description": "every answer that failed a gold task"})
    first_answers = StrictInteger(validate=validate.Range(min=0, max=1000), metadata={
        "description": "each annotator's first N answers in the project"})
    appeal_days = StrictInteger(validate=validate.Range(min=1, max=365), metadata={
        "description": "how many days an annotator has to appeal a rejection (default 7)"})
    reviewer_pay = Money(maximum=10**9, metadata={
        "description": "paid per review item finished from the queue, in minor units, from the budget (reserved "
                       "when the item is leased, as labelling pay is)"})


class TermsSettingIn(In):
    text = SafeString(required=True, max_length=20_000, multiline=True, metadata={
        "description": "the revenue-sharing terms contributors accept before labelling; a changed text is a new "
                       "version, which they accept again"})


class RewardsIn(In):
    per_annotation = Money(load_default=0, maximum=10**9)
    agreement_bonus = Money(load_default=0, maximum=10**9)
    tiers = fields.List(WholeNested(TierIn), validate=[validate.Length(max=10), _rising], metadata={
        "description": "expert tiers, lowest first: an annotator holding one when a lease is taken is paid at its "
                       "multiplier for that answer ([] or absent: none)"})
    mechanism = fields.String(validate=validate.OneOf(list(mechanisms.REGISTRY)), metadata={
        "description": "what prices the bonus: " + ", ".join(mechanisms.REGISTRY) + " (GET /api/v1/mechanisms). "
        "A new project that names none gets peer_prediction when every answer is one whole-item label, "
        "agreement otherwise (incentives/STUDY.md)"})
    mechanism_params = fields.Dict(metadata={"description": "the mechanism's parameters; the defaults fill in"})


# The label schema is checked by tasks.schema; its shape, for the OpenAPI document.
LABEL_SCHEMA = {"description": (
    '{"tools": [...], "multi_label": bool, "labels": [...], "attributes": [...]}. A label is {"id", "name", '
    '"names"?: {language tag: name, e.g. "zh": "轿车", "pt-BR": "Sedã"}, "aliases"?: [other names search finds], '
    '"description"?, "color"?: "#rrggbb", "children"?: [labels]}; ids are unique across the tree.')}


class ProjectSettings(In):
    """Fields shared by create and patch; the label schema itself is checked by tasks.schema."""

    name = SafeString(max_length=200)
    description = SafeString(max_length=20_000, min_length=0, multiline=True)
    instructions = SafeString(max_length=200_000, min_length=0, multiline=True)
    media_type = fields.String(validate=validate.OneOf(MEDIA_TYPES))
    label_schema = fields.Dict(metadata=LABEL_SCHEMA)
    overlap = StrictInteger(validate=validate.Range(min=1, max=50))
    dynamic_overlap = fields.Nested(DynamicOverlapIn, allow_none=True)
    aggregation = fields.String(validate=validate.OneOf(AGGREGATIONS))
    gold_ratio = Ratio(minimum=0.0, maximum=0.5)
    lease_seconds = StrictInteger(validate=validate.Range(min=30, max=86_400))
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    qualification = fields.Nested(QualificationIn, allow_none=True)
    rewards = fields.Nested(RewardsIn)
    licence = SafeString(max_length=200, min_length=0, metadata={
        "description": "the dataset's licence as exports state it, e.g. CC-BY-4.0"})
    routing = fields.String(validate=validate.OneOf(ROUTINGS), metadata={
        "description": "ring (every annotator walks the tasks in rank order) or skill (an annotator proven in a "
                       "subtree of the taxonomy gets its most unsure tasks first; GET /projects/{id}/skills)"})
    terms = fields.Nested(TermsSettingIn, allow_none=True, metadata={
        "description": "revenue-sharing terms (GET /projects/{id}/terms); null: the platform's default terms"})
    review = fields.Nested(ReviewPolicyIn, allow_none=True, metadata={
        "description": "the review policy (POST /projects/{id}/review/next); a patch changes the keys it names, "
                       "null removes the queue"})


class ProjectIn(ProjectSettings):
    name = SafeString(max_length=200, required=True)
    description = SafeString(max_length=20_000, min_length=0, multiline=True, load_default="")
    instructions = SafeString(max_length=200_000, min_length=0, multiline=True, load_default="")
    media_type = fields.String(required=True, validate=validate.OneOf(MEDIA_TYPES))
    label_schema = fields.Dict(required=True, metadata=LABEL_SCHEMA)
    overlap = StrictInteger(load_default=3, validate=validate.Range(min=1, max=50))
    # Dawid-Skene with a crowd prior: the only one of ours at least as accurate as crowd-kit's Dawid-Skene and majority
    # vote on every crowd bench/truth_bench.py was given (README); existing projects keep theirs.
    aggregation = fields.String(load_default="dawid_skene_prior", validate=validate.OneOf(AGGREGATIONS))
    gold_ratio = Ratio(load_default=0.0, minimum=0.0, maximum=0.5)
    lease_seconds = StrictInteger(load_default=600, validate=validate.Range(min=30, max=86_400))
    visibility = fields.String(load_default="private", validate=validate.OneOf(VISIBILITIES))
    rewards = fields.Nested(RewardsIn, load_default=lambda: {"per_annotation": 0, "agreement_bonus": 0})


class ProjectPatch(ProjectSettings):
    """Only the fields sent change; nested settings (rewards, qualification, ...) merge into the stored ones."""

    status = fields.String(validate=validate.OneOf(PROJECT_STATUSES))

    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)  # no load_default fills in what the client left out


class ProjectOut(Schema):
    id = fields.Integer()
    owner_id = fields.Integer()
    name = fields.String()
    description = fields.String()
    instructions = fields.String()
    media_type = fields.String()
    label_schema = fields.Dict(metadata=LABEL_SCHEMA)
    schema_version = fields.Integer()
    overlap = fields.Integer()
    dynamic_overlap = fields.Dict(allow_none=True)
    aggregation = fields.String()
    gold_ratio = fields.Float()
    lease_seconds = fields.Integer()
    visibility = fields.String()
    qualification = fields.Dict(allow_none=True)
    rewards = fields.Function(lambda project: pricing.shown_rewards(project.rewards), metadata={
        "description": "per_annotation, agreement_bonus, mechanism (always named) and mechanism_params"})
    licence = fields.String()
    routing = fields.String()
    terms = fields.Dict(allow_none=True, metadata={"description": "{version, text}; null: the platform's terms"})
    review = fields.Function(lambda project: reviews.policy_of(project) if project.review is not None else None,
                             allow_none=True, metadata={"description": "the review policy with its defaults; null: "
                                                                       "no queue (appeals within 7 days)"})
    status = fields.String()
    role = fields.String(allow_none=True, metadata={"description": "owner, manager, reviewer, annotator, or "
                                                                   "null for a public project you are not in"})
    open_tasks = fields.Integer(metadata={"description": "tasks still wanting answers (in the project list)"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class MemberIn(In):
    email = SafeString(required=True, max_length=254)
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class MemberOut(Schema):
    user = fields.Nested(UserBrief)
    role = fields.String()
    created_at = fields.AwareDateTime()


class InvitationIn(In):
    email = EmailAddress(required=True)
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class InvitationOut(Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    status = fields.String(metadata={"description": "pending until someone signs up with the address; accepted "
                                                    "at once when the address already has an account"})
    created_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)


class StatsOut(Schema):
    tasks = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    gold = fields.Integer()
    progress = fields.Float()
    annotations = fields.Integer(metadata={"description": "every answer, imported ones included"})
    imported = fields.Integer(metadata={"description": "answers imported from another tool"})
    answered = fields.Integer(metadata={"description": "live non-gold tasks with at least one answer"})


@route(bp, "/projects", methods=["POST"], body=ProjectIn, response=ProjectOut, status=201,
       summary="Create a project; you become its owner", tag=TAG)
def create_project(payload: dict):
    db = db_session()
    project = projects.create_project(db, current_user, payload, request_now())
    pricing.check_rewards(project)
    pricing.with_recommended(project)
    db.flush()
    audit.record(db, current_user.id, "project_created", request_now(), project_id=project.id, target="project",
                 target_id=project.id, name=project.name)
    db.commit()
    return WithFields(project, role="owner")


@route(bp, "/projects", methods=["GET"], query=PageQuery, response=ProjectOut, paged=True,
       summary="Projects you own, are a member of, or that are public", tag=TAG)
def list_projects(args: dict) -> Page:
    db = db_session()
    page = paginate(db, projects.visible_projects_query(current_user), args["page"], args["per_page"])
    roles = projects.roles_for(db, current_user, page.items)
    open_tasks = projects.open_task_counts(db, [p.id for p in page.items])
    return Page([WithFields(p, role=roles[p.id], open_tasks=open_tasks.get(p.id, 0)) for p in page.items],
                page.page, page.per_page, page.total)


@route(bp, "/projects/<int:project_id>", methods=["GET"], response=ProjectOut, summary="A project", tag=TAG)
def get_project(project_id: int):
    seen = projects.access(db_session(), project_id, current_user)
    return WithFields(seen.project, role=seen.role)


@route(bp, "/projects/<int:project_id>", methods=["PATCH"], body=ProjectPatch, response=ProjectOut,
       summary="Change settings (owner or manager); a changed label schema becomes a new version", tag=TAG)
def patch_project(project_id: int, payload: dict):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="manager")
    rewards = payload.get("rewards") or {}
    if "mechanism" in rewards and "mechanism_params" not in rewards:
        rewards["mechanism_params"] = {}  # another mechanism starts from its own defaults
    projects.update_project(db, seen.project, payload, request_now())
    pricing.check_rewards(seen.project, sent=rewards if "rewards" in payload else {})
    audit.record(db, current_user.id, "project_settings_changed", request_now(), project_id=project_id, target="project",
                 target_id=project_id, fields=sorted(payload))
    db.commit()
    return WithFields(seen.project, role=seen.role)


@route(bp, "/projects/<int:project_id>/members", methods=["POST"], body=MemberIn, response=MemberOut, status=201,
       summary="Add a member or change their role (owner)", tag=TAG)
def set_member(project_id: int, payload: dict):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="owner")
    member, _created = projects.set_member(db, seen.project, payload["email"], payload["role"])
    audit.record(db, current_user.id, "member_set", request_now(), project_id=project_id, target="user",
                 target_id=member.user_id, role=payload["role"])
    db.commit()
    return WithFields(member, user=db.get(User, member.user_id))


@route(bp, "/projects/<int:project_id>/members", methods=["GET"], query=PageQuery, response=MemberOut, paged=True,
       summary="The project's members (owner or manager)", tag=TAG)
def list_members(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    page = paginate(db, projects.members_query(project_id), args["page"], args["per_page"])
    return Page([WithFields(m, user=db.get(User, m.user_id)) for m in page.items], page.page,
                page.per_page, page.total)


@route(bp, "/projects/<int:project_id>/members/<int:user_id>", methods=["DELETE"], status=204,
       summary="Remove a member (owner); their submitted answers and earnings stay", tag=TAG)
def remove_member(project_id: int, user_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="owner")
    projects.remove_member(db, seen.project, user_id)
    audit.record(db, current_user.id, "member_removed", request_now(), project_id=project_id, target="user",
                 target_id=user_id)
    db.commit()
    return no_content()


@route(bp, "/projects/<int:project_id>/invitations", methods=["POST"], body=InvitationIn, response=InvitationOut,
       status=201, summary="Invite an e-mail address with a role (owner): a member at once if the address has an "
                           "account, else when someone signs up with it", tag=TAG)
def invite(project_id: int, payload: dict):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="owner")
    invitation = projects.invite(db, seen.project, current_user, payload["email"], payload["role"], request_now())
    audit.record(db, current_user.id, "member_invited", request_now(), project_id=project_id, target="invitation",
                 target_id=invitation.id, role=payload["role"], status=invitation.status)
    db.commit()
    return invitation


@route(bp, "/projects/<int:project_id>/invitations", methods=["GET"], query=PageQuery, response=InvitationOut,
       paged=True, summary="Invitations waiting for a sign-up (owner or manager)", tag=TAG)
def list_invitations(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    return paginate(db, projects.pending_invitations_query(project_id), args["page"], args["per_page"])


@route(bp, "/projects/<int:project_id>/invitations/<int:invitation_id>", methods=["DELETE"], status=204,
       summary="Withdraw a pending invitation (owner)", tag=TAG)
def revoke_invitation(project_id: int, invitation_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="owner")
    projects.revoke_invitation(db, seen.project, invitation_id)
    audit.record(db, current_user.id, "invitation_withdrawn", request_now(), project_id=project_id,
                 target="invitation", target_id=invitation_id)
    db.commit()
    return no_content()


@route(bp, "/projects/<int:project_id>/stats", methods=["GET"], response=StatsOut,
       summary="Task counts by status and progress (owner or manager)", tag=TAG)
def project_stats(project_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="manager")
    return projects.stats(db, seen.project)
