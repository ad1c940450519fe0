"""Accounts for administrators (deactivate, reactivate) and the audit log (owners see their projects', admins
everything; both can download it as CSV)."""
from __future__ import annotations

import csv
import io

import orjson

from flask import Blueprint, Response
from flask_login import current_user
from marshmallow import Schema, fields

from annotator import audit
from annotator.api.core import Page, paginate, route
from annotator.api.fields import PageQuery
from annotator.api.schemas import UserOut
from annotator.errors import NotFound, PermissionDenied
from annotator.users import service
from annotator.users.models import User
from annotator.web import db_session, request_now
from tasks import projects

bp = Blueprint("admin_api", __name__)
TAG = "audit"


class AuditOut(Schema):
    id = fields.Integer()
    created_at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    project_id = fields.Integer(allow_none=True)
    target = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    details = fields.Dict()


def _admin() -> None:
    if not current_user.is_admin:
        raise PermissionDenied("Only an administrator may do this.")


def _set_active(user_id: int, active: bool) -> User:
    _admin()
    db = db_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == current_user.id:
        raise PermissionDenied("You cannot deactivate or reactivate yourself.")
    service.set_active(db, user, active, request_now())
    audit.record(db, current_user.id, "account_activated" if active else "account_deactivated", request_now(),
                 target="user", target_id=user.id)
    db.commit()
    return user


@route(bp, "/admin/users/<int:user_id>/deactivate", methods=["POST"], response=UserOut,
       summary="Deactivate an account (admins): its sessions and API tokens stop working at once", tag=TAG)
def deactivate(user_id: int):
    return _set_active(user_id, False)


@route(bp, "/admin/users/<int:user_id>/activate", methods=["POST"], response=UserOut,
       summary="Reactivate an account (admins); the user signs in again", tag=TAG)
def activate(user_id: int):
    return _set_active(user_id, True)


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


@route(bp, "/admin/audit", methods=["GET"], query=PageQuery, response=AuditOut, paged=True,
       summary="The whole audit log, newest first (admins)", tag=TAG)
def all_audit(args: dict) -> Page:
    _admin()
    return paginate(db_session(), audit.events_query(), args["page"], args["per_page"])


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
