"""GET /media/<sha256> and its thumbnail: only for people allowed to see a task that uses the image."""
from __future__ import annotations

from flask import Blueprint, Response, send_file
from flask_login import current_user
from sqlalchemy import select

from annotator.errors import NotAuthenticated, NotFound
from annotator.web import db_session, runtime
from tasks import projects
from tasks.models import Media, Project, Task
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
    project_ids = db.scalars(select(Task.project_id).where(Task.media_sha256 == sha256).distinct().limit(50))
    for project in db.scalars(select(Project).where(Project.id.in_(list(project_ids)))):
        role = projects.role_of(db, project, current_user)
        # Owners, managers and reviewers see every task; annotators see the tasks leased to them (assignment).
        if projects.ROLE_RANK.get(role or "", 0) >= projects.ROLE_RANK["reviewer"] or current_user.is_admin:
            return media
    raise NotFound("No such image.")


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
