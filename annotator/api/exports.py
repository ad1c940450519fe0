"""Dataset exports: ask for one (the exports worker writes it), follow its progress, download it."""
from __future__ import annotations

from flask import Blueprint, Response, send_file, url_for
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotator import audit
from annotator.api.core import Page, WithFields, project_rows, route
from annotator.api.fields import In, PageQuery
from annotator.errors import Conflict, NotFound
from annotator.runtime import runtime
from annotator.web import db_session, request_now
from annotator.workflows import datasets
from tasks import exports, projects
from tasks.formats.base import INCLUDES
from tasks.models import Export

bp = Blueprint("exports_api", __name__)
TAG = "exports"


class ExportIn(In):
    format = fields.String(required=True, validate=validate.OneOf(tuple(exports.FORMATS)))
    include = fields.String(load_default="consensus", validate=validate.OneOf(INCLUDES), metadata={
        "description": "consensus: each task's inferred answer; all: every answer too"})


class ExportOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    format = fields.String()
    include = fields.String()
    status = fields.String(metadata={"description": "queued, running, completed or failed"})
    progress = fields.Float()
    rows = fields.Integer()
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)
    card_url = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


def shown(export: Export) -> WithFields:
    done = export.status == "completed"
    return WithFields(export, download_url=url_for("api.exports_api.download", export_id=export.id) if done else None,
                      card_url=url_for("api.exports_api.card", export_id=export.id) if done else None)


def _export(export_id: int) -> Export:
    """The export, for its project's owner and managers; NotFound for anyone else."""
    found, _seen = projects.staff_row(db_session(), Export, export_id, current_user, "export")
    return found


@route(bp, "/projects/<int:project_id>/exports", methods=["POST"], body=ExportIn, response=ExportOut, status=202,
       summary="Export the dataset (owner or manager); the same project, format and data returns the export "
               "already made or under way", tag=TAG)
def create_export(project_id: int, payload: dict):
    db, now = db_session(), request_now()
    project = projects.access(db, project_id, current_user, need="manager").project
    export = datasets.request_export(db, project, current_user, payload["format"], payload["include"], now)
    audit.record(db, current_user.id, "export_requested", now, project_id=project_id, target="export",
                 target_id=export.id, format=export.format, include=export.include)
    db.commit()
    return shown(export)


@route(bp, "/projects/<int:project_id>/exports", methods=["GET"], query=PageQuery, response=ExportOut, paged=True,
       summary="The project's exports, newest first (owner or manager)", tag=TAG)
def list_exports(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    page = project_rows(db, Export, project_id, args, newest_first=True)
    return Page([shown(e) for e in page.items], page.page, page.per_page, page.total)


@route(bp, "/exports/<int:export_id>", methods=["GET"], response=ExportOut,
       summary="An export's status, progress 0..1, rows, size and SHA-256 (owner or manager)", tag=TAG)
def get_export(export_id: int):
    return shown(_export(export_id))


def _stored(export: Export, key: str, filename: str, mimetype: str) -> Response:
    if export.status != "completed":
        raise Conflict(f"The export is {export.status}; download it once it is completed.")
    storage = runtime().storage
    path = storage.local_path(key)
    if path is None or not path.exists():
        raise NotFound("The export's file is no longer in storage.")
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=filename, conditional=True,
                         etag=export.sha256 or True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@route(bp, "/exports/<int:export_id>/download", methods=["GET"],
       summary="The export's file (owner or manager); 409 until it is completed", tag=TAG)
def download(export_id: int):
    export = _export(export_id)
    writer = exports.writer_class(export.format)
    return _stored(export, export.storage_key or "", export.filename or "export", writer.content_type)


@route(bp, "/exports/<int:export_id>/card", methods=["GET"],
       summary="The export's dataset card: project, schema, counts, agreement, aggregation, licence (owner or "
               "manager)", tag=TAG)
def card(export_id: int):
    export = _export(export_id)
    return _stored(export, f"exports/{export.id}/dataset_card.json", "dataset_card.json", "application/json")
