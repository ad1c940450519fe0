"""Accounts for administrators (the user directory, deactivate, reactivate, the administrator's right) and the
audit log (owners see their projects', admins everything, with names; both can download it as CSV)."""
from __future__ import annotations

import csv
import io

import orjson

from flask import Blueprint, Response
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from annotator import audit
from annotator.api.core import Page, WithFields, paginate, route
from annotator.api.fields import PageQuery, SafeString
from annotator.api.schemas import UserOut
from annotator.errors import NotFound, PermissionDenied
from annotator.users.models import User
from annotator.web import db_session, request_now
from annotator.workflows import accounts
from tasks import projects
from tasks.models import Project

bp = Blueprint("admin_api", __name__)
TAG = "audit"
ACCOUNTS = "accounts"


class AuditOut(Schema):
    id = fields.Integer()
    created_at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    project_id = fields.Integer(allow_none=True)
    target = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    details = fields.Dict()


class AdminAuditOut(AuditOut):
    """An audit event with the names an administrator reads it by."""

    actor_email = fields.String(allow_none=True)
    target_email = fields.String(allow_none=True, metadata={"description": "when the target is a user"})
    project_name = fields.String(allow_none=True, metadata={"description": "null once the project is gone"})


class AccountOut(UserOut):
    is_active = fields.Boolean()
    last_active_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "when they last took a task or did something the audit log records; null if never"})


class UserQuery(PageQuery):
    q = SafeString(max_length=100, min_length=0, load_default="",
                   metadata={"description": "a piece of the e-mail or display name, any case"})
    status = fields.String(validate=validate.OneOf(accounts.STATUSES))


def _admin() -> None:
    if not current_user.is_admin:
        raise PermissionDenied("Only an administrator may do this.")


def _account(user: User) -> WithFields:
    return WithFields(user, last_active_at=accounts.last_active(db_session(), [user.id]).get(user.id))


@route(bp, "/admin/users", methods=["GET"], query=UserQuery, response=AccountOut, paged=True,
       summary="Every account, newest first, searched by e-mail or name and filtered by status (admins)", tag=ACCOUNTS)
def users(args: dict) -> Page:
    _admin()
    db = db_session()
    found = paginate(db, accounts.directory(args["q"], args.get("status")), args["page"], args["per_page"])
    seen = accounts.last_active(db, [user.id for user in found.items])
    return Page([WithFields(u, last_active_at=seen.get(u.id)) for u in found.items], found.page, found.per_page,
                found.total)


# Each change an administrator makes to an account, by the audit action it records.
_CHANGES = {
    "account_deactivated": lambda db, user_id: accounts.set_active(db, current_user, user_id, False, request_now()),
    "account_activated": lambda db, user_id: accounts.set_active(db, current_user, user_id, True, request_now()),
    "admin_granted": lambda db, user_id: accounts.set_admin(db, current_user, user_id, True),
    "admin_revoked": lambda db, user_id: accounts.set_admin(db, current_user, user_id, False),
}


def _change(user_id: int, action: str) -> WithFields:
    """Make the change, audit-log it when it changed something (asking for what already is records nothing),
    commit, and answer with the account as it now is."""
    _admin()
    db = db_session()
    user, changed = _CHANGES[action](db, user_id)
    if changed:
        audit.record(db, current_user.id, action, request_now(), target="user", target_id=user.id)
    db.commit()
    return _account(user)


@route(bp, "/admin/users/<int:user_id>/deactivate", methods=["POST"], response=AccountOut,
       summary="Deactivate an account (admins): its sessions end and its API tokens are revoked at once; 409 "
               "for your own or the last administrator's", tag=ACCOUNTS)
def deactivate(user_id: int):
    return _change(user_id, "account_deactivated")


@route(bp, "/admin/users/<int:user_id>/activate", methods=["POST"], response=AccountOut,
       summary="Reactivate an account (admins); the user signs in again and makes new tokens", tag=ACCOUNTS)
def activate(user_id: int):
    return _change(user_id, "account_activated")


@route(bp, "/admin/users/<int:user_id>/admin", methods=["POST"], response=AccountOut,
       summary="Make an account an administrator (admins)", tag=ACCOUNTS)
def grant_admin(user_id: int):
    return _change(user_id, "admin_granted")


@route(bp, "/admin/users/<int:user_id>/admin", methods=["DELETE"], response=AccountOut,
       summary="Take back an administrator's right (admins); 409 for your own or the last administrator's",
       tag=ACCOUNTS)
def revoke_admin(user_id: int):
    return _change(user_id, "admin_revoked")


def _project_events(project_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user)
    if not current_user.is_admin and seen.role != "owner":
        raise NotFound("No such project.") if seen.role is None else PermissionDenied(
            "Only the project's owner may read its audit log.")
    return audit.events_query(project_id)


@route(bp, "/projects/<int:project_id>/audit", methods=["GET"], query=PageQuery, response=AuditOut, paged=True,
       summary="The project's audit log, newest first (owner, admins)", tag=TAG)
def project_audit(project_id: int, args: dict) -> Page:
    return paginate(db_session(), _project_events(project_id), args["page"], args["per_page"])


@route(bp, "/admin/audit", methods=["GET"], query=PageQuery, response=AdminAuditOut, paged=True,
       summary="The whole audit log, newest first, with the actor's e-mail and the project's name (admins)", tag=TAG)
def all_audit(args: dict) -> Page:
    _admin()
    db = db_session()
    found = paginate(db, audit.events_query(), args["page"], args["per_page"])
    return Page(_named(db, found.items), found.page, found.per_page, found.total)


def _named(db, events: list) -> list[WithFields]:
    """The events with the e-mails of the people and the names of the projects they name (two queries)."""
    people = {e.actor_id for e in events} | {e.target_id for e in events if e.target == "user"}
    emails = dict(db.execute(select(User.id, User.email).where(User.id.in_(people - {None}))).all())
    names = dict(db.execute(select(Project.id, Project.name).where(
        Project.id.in_({e.project_id for e in events} - {None}))).all())
    return [WithFields(e, actor_email=emails.get(e.actor_id), project_name=names.get(e.project_id),
                       target_email=emails.get(e.target_id) if e.target == "user" else None) for e in events]


def _csv(statement, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "created_at", "actor_id", "action", "project_id", "target", "target_id", "details"])
    for event in audit.oldest_first(db_session(), statement):
        writer.writerow([event.id, event.created_at.isoformat(), event.actor_id, event.action, event.project_id,
                         event.target, event.target_id, _neutral(orjson.dumps(event.details or {}).decode())])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _neutral(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is kept as text."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


@route(bp, "/projects/<int:project_id>/audit.csv", methods=["GET"], summary="The project's audit log as CSV",
       tag=TAG)
def project_audit_csv(project_id: int):
    return _csv(_project_events(project_id), f"audit-project-{project_id}.csv")


@route(bp, "/admin/audit.csv", methods=["GET"], summary="The whole audit log as CSV (admins)", tag=TAG)
def all_audit_csv():
    _admin()
    return _csv(audit.events_query(), "audit.csv")
