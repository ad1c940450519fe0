"""Projects: creation, settings, members, who may see and do what, stats.

Visibility: a project exists for you if you own it, are a member, it is public, or
you are an admin. Otherwise it is NotFound, never PermissionDenied, so nobody
learns that another owner's project exists.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from annotator.users.models import User
from tasks.models import TASK_STATUSES, Annotation, Project, ProjectInvitation, ProjectMember, ProjectSchemaVersion, Task
from tasks.schema import GEOMETRY_TOOLS, LabelSchema, parse_label_schema

ROLE_RANK = {"annotator": 1, "reviewer": 2, "manager": 3, "owner": 4}
TOOLS_FOR_MEDIA = {"image": {"classify", *GEOMETRY_TOOLS}, "text": {"classify", "span"}}


@dataclass(frozen=True)
class Access:
    """A project as seen by one user; `role` is None for a non-member of a public project."""

    project: Project
    role: str | None

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role or "", 0) >= ROLE_RANK[role]


def role_of(session: Session, project: Project, user: User) -> str | None:
    if project.owner_id == user.id:
        return "owner"
    return session.scalar(select(ProjectMember.role).where(
        ProjectMember.project_id == project.id, ProjectMember.user_id == user.id))


def takes_part(session: Session, project: Project, user_id: int) -> bool:
    """Whether the person owns or belongs to the project, or has answered in it (a public project's crowd)."""
    if project.owner_id == user_id:
        return True
    member = exists().where(ProjectMember.project_id == project.id, ProjectMember.user_id == user_id)
    answered = exists().where(Annotation.project_id == project.id, Annotation.user_id == user_id)
    return bool(session.scalar(select(or_(member, answered))))


def access(session: Session, project_id: int, user: User, need: str | None = None) -> Access:
    """The project if `user` may see it (else NotFound), checked against the role `need` (else PermissionDenied)."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("No such project.")
    role = role_of(session, project, user)
    if role is None and project.visibility != "public" and not user.is_admin:
        raise NotFound("No such project.")
    seen = Access(project, role)
    if need is not None and not seen.at_least(need):
        raise PermissionDenied(f"Only the project's {'owner' if need == 'owner' else 'owner or managers'} may do this.")
    return seen


def staff_row(session: Session, model: type, row_id: int, user: User, noun: str, *, lock: bool = False,
              need: str = "manager"):
    """A row of a project (task, import, flag) for its owner or managers; NotFound for anyone else.

    Others get NotFound rather than PermissionDenied: they must not learn the row exists.
    """
    row = session.get(model, row_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"No such {noun}.")
    try:
        seen = access(session, row.project_id, user, need=need)
    except PermissionDenied:
        raise NotFound(f"No such {noun}.") from None
    return row, seen


def visible(session: Session, project_id: int, user: User) -> Project:
    """The project if `user` may see it, else NotFound; cheaper than `access` when the role is not needed."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("No such project.")
    if project.visibility == "public" or project.owner_id == user.id or user.is_admin:
        return project
    if role_of(session, project, user) is None:
        raise NotFound("No such project.")
    return project


def visible_projects_query(user: User):
    member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
    statement = select(Project).order_by(Project.id)
    if not user.is_admin:
        statement = statement.where(or_(Project.owner_id == user.id, Project.id.in_(member_of),
                                        Project.visibility == "public"))
    return statement


def open_task_counts(session: Session, project_ids: list[int]) -> dict[int, int]:
    """Open tasks (gold aside) per project, for the projects given; a project with none is absent."""
    if not project_ids:
        return {}
    return dict(session.execute(select(Task.project_id, func.count()).where(
        Task.project_id.in_(project_ids), Task.status == "open", Task.is_gold.is_(False))
        .group_by(Task.project_id)).all())


def members_query(project_id: int) -> Select:
    """The project's members in the order they were added."""
    return select(ProjectMember).where(ProjectMember.project_id == project_id).order_by(ProjectMember.id)


def roles_for(session: Session, user: User, projects: list[Project]) -> dict[int, str | None]:
    ids = [p.id for p in projects]
    members = dict(session.execute(select(ProjectMember.project_id, ProjectMember.role).where(
        ProjectMember.user_id == user.id, ProjectMember.project_id.in_(ids))).all()) if ids else {}
    return {p.id: "owner" if p.owner_id == user.id else members.get(p.id) for p in projects}


def check_schema_for_media(schema: LabelSchema, media_type: str) -> None:
    wrong = [t for t in schema.tools if t not in TOOLS_FOR_MEDIA[media_type]]
    if wrong:
        raise InvalidInput({"label_schema.tools": [
            f"{', '.join(wrong)} cannot be used on {media_type} tasks; use {', '.join(sorted(TOOLS_FOR_MEDIA[media_type]))}."]})


def check_overlap(settings: dict[str, Any]) -> None:
    dynamic, overlap = settings.get("dynamic_overlap"), settings.get("overlap")
    if dynamic and overlap is not None and not dynamic["min_overlap"] <= overlap <= dynamic["max_overlap"]:
        raise InvalidInput({"dynamic_overlap": ["min_overlap <= overlap <= max_overlap must hold."]})


def create_project(session: Session, owner: User, settings: dict[str, Any], now: dt.datetime) -> Project:
    schema = parse_label_schema(settings["label_schema"])
    check_schema_for_media(schema, settings["media_type"])
    check_overlap(settings)
    if settings.get("terms"):  # revenue-sharing terms start at version 1
        settings = {**settings, "terms": {"version": 1, "text": settings["terms"]["text"]}}
    project = Project(owner_id=owner.id, **{**settings, "label_schema": schema.to_dict()}, schema_version=1)
    session.add(project)
    session.flush()
    session.add(ProjectSchemaVersion(project_id=project.id, version=1, label_schema=project.label_schema,
                                     created_at=now))
    return project


MERGED_SETTINGS = ("rewards", "qualification", "dynamic_overlap", "review")
SETTING_DEFAULTS = {"rewards": {"per_annotation": 0, "agreement_bonus": 0},
                    "qualification": {"min_gold_accuracy": 0.0, "warmup_gold": 0}}
DYNAMIC_OVERLAP_KEYS = {"min_overlap", "max_overlap", "confidence_target"}


def _merge_nested(project: Project, changes: dict[str, Any]) -> None:
    """A patch of a nested setting changes only the keys it names; null clears an optional one."""
    for name in MERGED_SETTINGS:
        if changes.get(name) is not None:
            stored = getattr(project, name) or SETTING_DEFAULTS.get(name, {})
            changes[name] = {**stored, **changes[name]}
    dynamic = changes.get("dynamic_overlap")
    if dynamic is not None and set(dynamic) != DYNAMIC_OVERLAP_KEYS:
        raise InvalidInput({"dynamic_overlap": [f"Needs {', '.join(sorted(DYNAMIC_OVERLAP_KEYS))}."]})


def update_project(session: Session, project: Project, changes: dict[str, Any], now: dt.datetime) -> Project:
    """Apply settings; a changed label schema becomes a new numbered version, the old ones are kept."""
    # Lock the row (PostgreSQL) so two concurrent schema changes cannot both take the next version number.
    session.refresh(project, with_for_update=True)
    _merge_nested(project, changes)
    if "terms" in changes:  # a changed text is the next version; contributors accept it again
        terms = changes.pop("terms")
        if terms is None:
            project.terms = None
        elif terms["text"] != (project.terms or {}).get("text"):
            project.terms = {"version": (project.terms or {}).get("version", 0) + 1, "text": terms["text"]}
    media_type = changes.get("media_type", project.media_type)
    if media_type != project.media_type and session.scalar(select(Task.id).where(Task.project_id == project.id).limit(1)):
        raise Conflict("The media type cannot change once the project has tasks.")
    check_overlap({"overlap": changes.get("overlap", project.overlap),
                   "dynamic_overlap": changes.get("dynamic_overlap", project.dynamic_overlap)})
    if "label_schema" in changes:
        schema = parse_label_schema(changes.pop("label_schema"))
        check_schema_for_media(schema, media_type)
        if schema.to_dict() != project.label_schema:
            project.label_schema = schema.to_dict()
            project.schema_version += 1
            session.add(ProjectSchemaVersion(project_id=project.id, version=project.schema_version,
                                             label_schema=project.label_schema, created_at=now))
    elif media_type != project.media_type:
        check_schema_for_media(parse_label_schema(project.label_schema), media_type)
    for name, value in changes.items():
        setattr(project, name, value)
    if "dynamic_overlap" in changes or "overlap" in changes:
        _clamp_wanted(session, project)
    return project


def _clamp_wanted(session: Session, project: Project) -> None:
    """Keep tasks' `wanted` within the settings: cleared without dynamic overlap, at most max_overlap with it."""
    unsure = update(Task).where(Task.project_id == project.id, Task.wanted.is_not(None))
    if not project.dynamic_overlap:
        session.execute(unsure.values(wanted=None).execution_options(synchronize_session=False))
        return
    ceiling = project.dynamic_overlap["max_overlap"]
    session.execute(unsure.where(Task.wanted > ceiling).values(wanted=ceiling)
                    .execution_options(synchronize_session=False))


@dataclass
class _Parsed:
    """One schema version as parsed, and what other modules build from it (tasks.quality's label arrays)."""

    schema: LabelSchema
    derived: dict[Callable[[LabelSchema], Any], Any] = field(default_factory=dict)


# The one cache of label schemas, and of everything built from them: (project, created, version) -> _Parsed.
_SCHEMAS: OrderedDict[tuple, _Parsed] = OrderedDict()
_SCHEMAS_LOCK = threading.Lock()
T = TypeVar("T")


def current_schema(project: Project) -> LabelSchema:
    """The project's label schema, parsed once per version and process (a taxonomy may have thousands of labels).

    A schema change always takes a new version number, so (project, version) names one schema for good.
    """
    return _parsed(project).schema


def derived_from_schema(project: Project, build: Callable[[LabelSchema], T]) -> T:
    """`build(schema)` for the project's current schema, made once per version and process and kept in the
    schema's own cache entry (so there is one cache, and what is built from a schema goes with it)."""
    parsed = _parsed(project)
    with _SCHEMAS_LOCK:
        found = parsed.derived.get(build)
    if found is None:
        found = build(parsed.schema)  # outside the lock: a big taxonomy takes a while, others need not wait
        with _SCHEMAS_LOCK:
            found = parsed.derived.setdefault(build, found)
    return found


def _parsed(project: Project) -> _Parsed:
    key = (project.id, project.created_at, project.schema_version)
    with _SCHEMAS_LOCK:
        if key in _SCHEMAS:
            _SCHEMAS.move_to_end(key)
            return _SCHEMAS[key]
    parsed = _Parsed(parse_label_schema(project.label_schema))
    with _SCHEMAS_LOCK:
        parsed = _SCHEMAS.setdefault(key, parsed)
        while len(_SCHEMAS) > 256:
            _SCHEMAS.popitem(last=False)
    return parsed


def set_member(session: Session, project: Project, email: str, role: str) -> tuple[ProjectMember, bool]:
    """Add `email` with `role`, or change their role; returns the membership and whether it is new."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise InvalidInput({"email": ["No account has this email; ask them to sign up first."]})
    if user.id == project.owner_id:
        raise Conflict("The owner already has every right in the project.")
    query = select(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.user_id == user.id)
    member = session.scalar(query)
    if member is None:
        try:
            with session.begin_nested():  # a concurrent request may add the same member first
                member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
                session.add(member)
            return member, True
        except IntegrityError:
            member = session.scalar(query)
    member.role = role
    session.flush()
    return member, False


def remove_member(session: Session, project: Project, user_id: int) -> None:
    """Take `user_id` out of the project; what they already submitted stays (and stays paid)."""
    member = session.scalar(select(ProjectMember).where(ProjectMember.project_id == project.id,
                                                        ProjectMember.user_id == user_id))
    if member is None:
        raise NotFound("No such member." if user_id != project.owner_id else "The owner cannot be removed.")
    session.delete(member)
    session.flush()


def invite(session: Session, project: Project, inviter: User, email: str, role: str,
           now: dt.datetime) -> ProjectInvitation:
    """Invite `email` with `role`. An address with an account becomes a member at once (the invitation is returned
    already accepted); otherwise the invitation waits for a sign-up with that address. Inviting again changes the
    role of a pending invitation."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and user.id == project.owner_id:
        raise Conflict("The owner already has every right in the project.")
    query = select(ProjectInvitation).where(ProjectInvitation.project_id == project.id,
                                            ProjectInvitation.email == email)
    invitation = session.scalar(query)
    if invitation is None:
        try:
            with session.begin_nested():  # a concurrent request may invite the same address first
                invitation = ProjectInvitation(project_id=project.id, email=email, role=role, invited_by=inviter.id,
                                               created_at=now)
                session.add(invitation)
        except IntegrityError:
            invitation = session.scalar(query)
    invitation.role, invitation.invited_by = role, inviter.id
    if user is not None:
        set_member(session, project, email, role)
        invitation.accepted_at, invitation.user_id = invitation.accepted_at or now, user.id
    session.flush()
    return invitation


def pending_invitations_query(project_id: int) -> Select:
    return (select(ProjectInvitation).where(ProjectInvitation.project_id == project_id,
                                            ProjectInvitation.accepted_at.is_(None))
            .order_by(ProjectInvitation.id))


def revoke_invitation(session: Session, project: Project, invitation_id: int) -> ProjectInvitation:
    invitation = session.get(ProjectInvitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.project_id != project.id:
        raise NotFound("No such invitation.")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted; remove the member instead.")
    session.delete(invitation)
    session.flush()
    return invitation


def accept_invitations(session: Session, user: User, now: dt.datetime) -> list[ProjectInvitation]:
    """Turn the pending invitations for `user`'s address into memberships (at sign-up)."""
    pending = session.scalars(select(ProjectInvitation).where(
        ProjectInvitation.email == user.email, ProjectInvitation.accepted_at.is_(None))
        .order_by(ProjectInvitation.id).with_for_update()).all()
    for invitation in pending:
        project = session.get(Project, invitation.project_id)
        if project.owner_id != user.id:
            set_member(session, project, user.email, invitation.role)
        invitation.accepted_at, invitation.user_id = now, user.id
    session.flush()
    return list(pending)


@dataclass(frozen=True)
class ProjectStats:
    """Task counts by status; `progress` is completed / all live (not retired) non-gold tasks.

    `annotations` counts every answer, `imported` those brought from another tool (no assignment), and
    `answered` the live non-gold tasks with at least one answer of any kind: a project of imported answers
    shows how much of it has answers even though none of its tasks was completed by our own labelling.
    """

    tasks: dict[str, int]
    total: int
    gold: int
    progress: float
    annotations: int = 0
    imported: int = 0
    answered: int = 0


def stats(session: Session, project: Project) -> ProjectStats:
    rows = session.execute(select(Task.status, Task.is_gold, func.count()).where(Task.project_id == project.id)
                           .group_by(Task.status, Task.is_gold)).all()
    by_status = dict.fromkeys(TASK_STATUSES, 0)
    gold = 0
    for status, is_gold, count in rows:
        by_status[status] += count
        gold += count if is_gold else 0
    live = sum(c for s, g, c in rows if not g and s != "retired")
    done = sum(c for s, g, c in rows if not g and s == "completed")
    annotations, imported, answered = session.execute(
        select(func.count(), func.count().filter(Annotation.assignment_id.is_(None)),
               func.count(func.distinct(Annotation.task_id)).filter(Task.status != "retired", Task.is_gold.is_(False)))
        .select_from(Annotation).join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project.id)).one()
    return ProjectStats(by_status, sum(by_status.values()), gold, done / live if live else 0.0,
                        annotations, imported, answered)
