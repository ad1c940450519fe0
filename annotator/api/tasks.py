"""Tasks: bulk import (JSON array, NDJSON or CSV), listing, one task."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotator import audit
from annotator.api.core import Page, WithFields, project_rows, read_body, route
from annotator.api.fields import PageQuery
from annotator.db import refresh_statistics
from annotator.errors import NotFound, UnsupportedMediaType
from annotator.web import db_session, request_now
from tasks import assignment, importing, projects
from tasks.models import TASK_STATUSES, Task
from tasks.quality.consensus import consensus_for

bp = Blueprint("tasks_api", __name__)
TAG = "tasks"
ACCEPTED = {"application/json"} | importing.NDJSON_MIMETYPES | importing.CSV_MIMETYPES
ROW_DOC = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {
    "data": {"type": "object"}, "external_id": {"type": "string"}, "gold": {"type": "object"}}}


class TaskListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))


class ImportedOut(Schema):
    created = fields.Integer()
    duplicates = fields.Integer()
    task_ids = fields.List(fields.Integer())


class TaskOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    external_id = fields.String(allow_none=True)
    data = fields.Dict()
    status = fields.String()
    is_gold = fields.Boolean()
    gold = fields.Dict(allow_none=True)
    created_at = fields.AwareDateTime()


class TaskListed(TaskOut):
    annotations = fields.Integer(attribute="submitted", metadata={"description": "answers submitted"})
    consensus = fields.Dict(allow_none=True, metadata={
        "description": "{result, confidence, method, agreement, annotations} as GET /tasks/{id}/consensus, or null"})


@route(bp, "/projects/<int:project_id>/tasks", methods=["POST"], response=ImportedOut, status=201,
       summary="Import up to 10,000 tasks, all or nothing; duplicates are counted and skipped", tag=TAG,
       raw_body={"application/json": {"schema": {"type": "array", "items": ROW_DOC}},
                 "application/x-ndjson": {"schema": {"type": "string"}},
                 "text/csv": {"schema": {"type": "string"}}})
def import_tasks(project_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="manager")
    if request.mimetype not in ACCEPTED:
        raise UnsupportedMediaType("Send a JSON array (application/json), NDJSON (application/x-ndjson) "
                                   "or CSV with a header row (text/csv).")
    rows = importing.parse_rows(read_body(), request.mimetype)
    prepared = importing.prepare(db, seen.project, rows)
    summary = importing.insert_tasks(db, seen.project, prepared, request_now())
    audit.record(db, current_user.id, "tasks_imported", request_now(), project_id=project_id, created=summary.created,
                 duplicates=summary.duplicates)
    db.commit()
    if summary.created >= importing.ANALYZE_AFTER:
        refresh_statistics(db, Task.__table__)
    return summary


@route(bp, "/projects/<int:project_id>/tasks", methods=["GET"], query=TaskListQuery, response=TaskListed, paged=True,
       summary="The project's tasks with their answer counts and consensus (owner or manager)", tag=TAG)
def list_tasks(project_id: int, args: dict) -> Page:
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    page = project_rows(db, Task, project_id, args)
    found = consensus_for(db, project, page.items, current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"])
    return Page([WithFields(task, consensus=found[task.id].as_dict(with_task_id=False) if task.id in found else None)
                 for task in page.items], page.page, page.per_page, page.total)


class TaskForHolder(Schema):
    """A task as its lease holder sees it: nothing that tells gold from the rest."""

    id = fields.Integer()
    project_id = fields.Integer()
    data = fields.Dict()


@route(bp, "/tasks/<int:task_id>", methods=["GET"], response=TaskOut,
       summary="One task (owner or manager; the annotator holding its lease sees id and data)", tag=TAG)
def get_task(task_id: int):
    db = db_session()
    try:
        return projects.staff_row(db, Task, task_id, current_user, "task")[0]
    except NotFound:
        task = assignment.leased_task(db, task_id, current_user.id)
        if task is None:  # nobody else may learn the task exists
            raise
        return TaskForHolder().dump(task)
