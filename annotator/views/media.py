"""GET /media/<sha256> and its thumbnail: only for people allowed to see a task that uses the image."""
from __future__ import annotations

from flask import Blueprint, Response, send_file
from flask_login import current_user
from sqlalchemy import or_, select

from annotator.errors import NotAuthenticated, NotFound
from annotator.web import db_session
from annotator.runtime import runtime
from tasks.models import Assignment, Media, Project, ProjectMember, Task
from tasks.storage import media_key, thumbnail_key

bp = Blueprint("media", __name__)
YEAR = 365 * 24 * 3600
SERVABLE = {"image/jpeg", "image/png"}  # never HTML or SVG, whatever was uploaded


def _may_see(sha256: str) -> Media:
    if not current_user.is_authenticated:
        raise NotAuthenticated("Sign in to see this image.")
    db = db_session()
    media = db.get(Media, sha256)
    if media is None or media.content_type not in SERVABLE:
        raise NotFound("No such image.")
    if current_user.is_admin or db.scalar(_visible_use(sha256, current_user.id)) is not None:
        return media
    raise NotFound("No such image.")


def _visible_use(sha256: str, user_id: int):
    """A task using the image that the user may see: in a project where they are owner, manager or
    reviewer, or one leased to them (or that they answered)."""
    staff = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id,
                                                   ProjectMember.role.in_(("reviewer", "manager")))
    theirs = select(Assignment.task_id).where(Assignment.user_id == user_id,
                                              Assignment.status.in_(("leased", "submitted")))
    return (select(Task.id).join(Project, Project.id == Task.project_id)
            .where(Task.media_sha256 == sha256,
                   or_(Project.owner_id == user_id, Project.id.in_(staff), Task.id.in_(theirs))).limit(1))


def _send(key: str, content_type: str) -> Response:
    storage = runtime().storage
    path = storage.local_path(key)
    if path is None or not path.exists():
        raise NotFound("No such image.")
    response = send_file(path, mimetype=content_type, conditional=True, etag=True, max_age=YEAR)
    # Access-controlled: private caches only; the content never changes for its address.
    response.headers["Cache-Control"] = f"private, max-age={YEAR}, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/media/<string(length=64):sha256>")
def media(sha256: str):
    found = _may_see(sha256.lower())
    return _send(media_key(found.sha256), found.content_type)


@bp.get("/media/<string(length=64):sha256>/thumbnail")
def thumbnail(sha256: str):
    found = _may_see(sha256.lower())
    return _send(thumbnail_key(found.sha256), "image/jpeg")
