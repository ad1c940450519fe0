"""Import jobs: upload images, .zip archives of images, Label Studio exports; follow the job's progress. Answers
from elsewhere, with their annotators."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from marshmallow import Schema, fields

from annotator import audit
from annotator.api.core import Page, Reply, WithFields, project_rows, read_body, route
from annotator.api.fields import In, PageQuery
from annotator.errors import InvalidInput, NotFound, PermissionDenied, UnsupportedMediaType
from annotator.runtime import runtime
from annotator.web import db_session, request_now
from annotator.workflows import datasets
from tasks import answer_import, importing, projects
from tasks.models import Import

bp = Blueprint("imports_api", __name__)
TAG = "imports"
GOLD_OPTIONS = ("gold", "ignore")


class ImportOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, finished or failed"})
    progress = fields.Float()
    files = fields.List(fields.Dict(), metadata={"description": "each upload's name and size"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    rejected = fields.List(fields.Dict(), metadata={"description": "each refused file with the reason"})
    near_duplicates = fields.List(fields.Dict())
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


@route(bp, "/projects/<int:project_id>/imports", methods=["POST"], response=ImportOut, status=202,
       summary="Upload files to import (images, .zip of images, Label Studio JSON); runs as a job", tag=TAG,
       raw_body={"multipart/form-data": {"schema": {"type": "object", "properties": {
           "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
           "label_studio_annotations": {"type": "string", "enum": list(GOLD_OPTIONS)}}}}})
def create_import(project_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="manager")
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Upload files as multipart/form-data in the `files` field.")
    uploads = request.files.getlist("files") + request.files.getlist("file")
    gold = request.form.get("label_studio_annotations", "gold")
    if gold not in GOLD_OPTIONS:
        raise InvalidInput({"label_studio_annotations": [f"Must be one of: {', '.join(GOLD_OPTIONS)}."]})
    if not uploads:
        raise InvalidInput({"files": ["Upload at least one file in the `files` field."]})
    job = datasets.start_import(db, runtime().storage, seen.project, current_user, uploads,
                                {"label_studio_annotations": gold})
    audit.record(db, current_user.id, "import_started", request_now(), project_id=project_id, target="import",
                 target_id=job.id, files=[f["name"] for f in job.files][:50])
    db.commit()
    return shown(job)


@route(bp, "/projects/<int:project_id>/imports", methods=["GET"], query=PageQuery, response=ImportOut, paged=True,
       summary="The project's imports, newest first, with status and progress (owner or manager)", tag=TAG)
def list_imports(project_id: int, args: dict) -> Page:
    db = db_session()
    projects.access(db, project_id, current_user, need="manager")
    page = project_rows(db, Import, project_id, args, newest_first=True)
    return Page([shown(job) for job in page.items], page.page, page.per_page, page.total)


def shown(job: Import) -> WithFields:
    """An import as shown: the storage keys of its uploads stay inside."""
    return WithFields(job, files=[{"name": f["name"], "size": f["size"]} for f in job.files])


@route(bp, "/imports/<int:import_id>", methods=["GET"], response=ImportOut,
       summary="An import job: status, progress, counts, rejected files with reasons", tag=TAG)
def get_import(import_id: int):
    job, _seen = projects.staff_row(db_session(), Import, import_id, current_user, "import")
    return shown(job)


ANSWER_TYPES = {"application/json"} | importing.NDJSON_MIMETYPES | importing.CSV_MIMETYPES
SYNC_ANSWERS = 10_000  # more answers than this are imported by a job (202) with progress


class AnswersImportQuery(In):
    create_tasks = fields.Boolean(load_default=False, metadata={
        "description": "create the tasks the file names that do not exist (from the row's data when given)"})


class AnswersImportedOut(Schema):
    created = fields.Integer(metadata={"description": "answers stored"})
    duplicates = fields.Integer(metadata={"description": "answers already stored (the same file again)"})
    tasks_created = fields.Integer()
    annotators = fields.Integer(metadata={"description": "distinct annotators in the file"})
    annotators_created = fields.Integer(metadata={"description": "external contributors new to the project"})


@route(bp, "/projects/<int:project_id>/answers/import", methods=["POST"], query=AnswersImportQuery,
       response=AnswersImportedOut, status=201, tag=TAG,
       summary="Import answers given elsewhere, with their annotators (owner; 404 for anyone else): CSV "
               "external_id,annotator,label (or result), NDJSON or JSON rows {external_id, annotator, result, "
               "created_at?, lead_time_ms?, data?}, or a Label Studio export with several annotators per task. "
               "All or nothing (422 naming row and field); the same answers again add nothing; never paid. Over "
               f"{SYNC_ANSWERS:,} answers: 202 and an import job (GET /imports/{{id}})",
       raw_body={"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}},
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}})
def import_answers(project_id: int, args: dict):
    db = db_session()
    try:
        seen = projects.access(db, project_id, current_user, need="owner")
    except PermissionDenied:
        raise NotFound("No such project.") from None
    if request.mimetype not in ANSWER_TYPES:
        raise UnsupportedMediaType("Send CSV (text/csv) with a header row, NDJSON (application/x-ndjson) or JSON "
                                   "(application/json: rows, or a Label Studio export).")
    body = read_body()
    rows = answer_import.parse(body, request.mimetype, projects.current_schema(seen.project))
    now = request_now()
    if len(rows) > SYNC_ANSWERS:
        job = datasets.start_answer_import(db, runtime().storage, seen.project, current_user, body, request.mimetype,
                                           args["create_tasks"])
        audit.record(db, current_user.id, "answers_import_started", now, project_id=project_id, target="import",
                     target_id=job.id, rows=len(rows))
        db.commit()
        return Reply(ImportOut().dump(shown(job)), 202)
    summary = answer_import.import_answers(db, seen.project, rows, create_tasks=args["create_tasks"], now=now)
    audit.record(db, current_user.id, "answers_imported", now, project_id=project_id, created=summary.created,
                 duplicates=summary.duplicates, tasks_created=summary.tasks_created, annotators=summary.annotators)
    db.commit()
    return summary
