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

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from annotator.users.models import User
from tasks.models import TASK_STATUSES, Project, ProjectMember, ProjectSchemaVersion, Task
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
    project = Project(owner_id=owner.id, **{**settings, "label_schema": schema.to_dict()}, schema_version=1)
    session.add(project)
    session.flush()
    session.add(ProjectSchemaVersion(project_id=project.id, version=1, label_schema=project.label_schema,
                                     created_at=now))
    return project


MERGED_SETTINGS = ("rewards", "qualification", "dynamic_overlap")
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


T = TypeVar("T")


@dataclass
class _Parsed:
    """One cache entry: a parsed schema and what was built from it (e.g. its labels as arrays: `schema_derived`)."""

    schema: LabelSchema
    derived: dict[Callable[[LabelSchema], Any], Any] = field(default_factory=dict)


# The one per-process cache of parsed schemas, least recently used first; derived values live in the same
# entries, so they share its key and are evicted with their schema.
_SCHEMAS: OrderedDict[tuple, _Parsed] = OrderedDict()
_SCHEMAS_LOCK = threading.Lock()
_SCHEMAS_KEPT = 256


def current_schema(project: Project) -> LabelSchema:
    """The project's label schema, parsed once per version and process (a taxonomy may have thousands of labels).

    A schema change always takes a new version number, so (project, version) names one schema for good.
    """
    return _parsed(project).schema


def schema_derived(project: Project, build: Callable[[LabelSchema], T]) -> T:
    """`build(current_schema(project))`, built once per schema version and process and kept beside the schema."""
    entry = _parsed(project)
    with _SCHEMAS_LOCK:
        if build in entry.derived:
            return entry.derived[build]
    value = build(entry.schema)
    with _SCHEMAS_LOCK:
        return entry.derived.setdefault(build, value)


def _parsed(project: Project) -> _Parsed:
    key = (project.id, project.created_at, project.schema_version)
    with _SCHEMAS_LOCK:
        if key in _SCHEMAS:
            _SCHEMAS.move_to_end(key)
            return _SCHEMAS[key]
    entry = _Parsed(parse_label_schema(project.label_schema))
    with _SCHEMAS_LOCK:
        entry = _SCHEMAS.setdefault(key, entry)
        while len(_SCHEMAS) > _SCHEMAS_KEPT:
            _SCHEMAS.popitem(last=False)
    return entry


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


@dataclass(frozen=True)
class ProjectStats:
    """Task counts by status; `progress` is completed / all live (not retired) non-gold tasks."""

    tasks: dict[str, int]
    total: int
    gold: int
    progress: float


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
    return ProjectStats(by_status, sum(by_status.values()), gold, done / live if live else 0.0)
