"""Tasks: bulk import (JSON array, NDJSON or CSV), the browser's filtered listing, one task, the ledger lines it
caused."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotator import audit
from annotator.api.core import Page, WithFields, paginate, read_body, route
from annotator.api.fields import PageQuery
from annotator.api.schemas import UserBrief
from annotator.users import service
from annotator.db import refresh_statistics
from annotator.errors import NotFound, UnsupportedMediaType
from annotator.web import db_session, request_now
from tasks import assignment, browse, importing, projects
from tasks.models import TASK_STATUSES, Task
from tasks.quality.consensus import consensus_for
from incentives import budgets

bp = Blueprint("tasks_api", __name__)
TAG = "tasks"
ACCEPTED = {"application/json"} | importing.NDJSON_MIMETYPES | importing.CSV_MIMETYPES
ROW_DOC = {"type": "object", "required": ["data"], "additionalProperties": False, "properties": {
    "data": {"type": "object"}, "external_id": {"type": "string"}, "gold": {"type": "object"},
    "gold_scope": {"type": "string", "description": "with gold: the label whose subtree this gold qualifies for (an "
                   "annotator failing it is disqualified in that subtree only)"}}}


def _share(description: str) -> fields.Float:
    return fields.Float(allow_nan=False, validate=validate.Range(min=0.0, max=1.0), metadata={"description": description})


class TaskListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))
    gold = fields.Boolean(metadata={"description": "true: gold tasks only; false: the rest"})
    annotator_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "tasks this user answered"})
    flagged = fields.String(validate=validate.OneOf(browse.FLAGGED), metadata={
        "description": "open: with an open flag; any: ever flagged; none: never flagged"})
    min_confidence = _share("consensus confidence at least this (a task without a consensus never matches a range)")
    max_confidence = _share("consensus confidence at most this")
    min_agreement = _share("agreement among the task's answers at least this")
    max_agreement = _share("agreement among the task's answers at most this")


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
    annotations = fields.Integer(attribute="answers", metadata={
        "description": "answers, imported ones included (`submitted` counts those given here, which fill the overlap)"})
    submitted = fields.Integer(metadata={"description": "answers given here, towards the project's overlap"})
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
       summary="The project's tasks with their answer counts and consensus, filtered (owner, manager or reviewer)",
       tag=TAG)
def list_tasks(project_id: int, args: dict) -> Page:
    db = db_session()
    project = projects.access(db, project_id, current_user, need="reviewer").project
    limit = current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"]
    page = paginate(db, browse.tasks_query(db, project, browse.Filters.of(args), limit), args["page"],
                    args["per_page"])
    found = consensus_for(db, project, page.items, limit)
    answers = browse.answer_counts(db, [task.id for task in page.items])
    return Page([WithFields(task, consensus=found[task.id].as_dict(with_task_id=False) if task.id in found else None,
                            answers=answers.get(task.id, 0)) for task in page.items], page.page, page.per_page,
                page.total)


class TaskForHolder(Schema):
    """A task as its lease holder sees it: nothing that tells gold from the rest."""

    id = fields.Integer()
    project_id = fields.Integer()
    data = fields.Dict()


@route(bp, "/tasks/<int:task_id>", methods=["GET"], response=TaskOut,
       summary="One task (owner, manager or reviewer; the annotator holding its lease sees id and data)", tag=TAG)
def get_task(task_id: int):
    db = db_session()
    try:
        return projects.staff_row(db, Task, task_id, current_user, "task", need="reviewer")[0]
    except NotFound:
        task = assignment.leased_task(db, task_id, current_user.id)
        if task is None:  # nobody else may learn the task exists
            raise
        return TaskForHolder().dump(task)


class LedgerLineOut(Schema):
    account = fields.String(metadata={"description": "the account's kind: project_budget, wallet_pending, ..."})
    user = fields.Nested(UserBrief, allow_none=True, metadata={"description": "the holder of a wallet; null for "
                                                                             "the project's and platform's accounts"})
    amount = fields.Integer(metadata={"description": "signed, in minor units"})


class TaskLedgerOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    memo = fields.String()
    annotation_id = fields.Integer(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    details = fields.Dict()
    created_at = fields.AwareDateTime()
    lines = fields.List(fields.Nested(LedgerLineOut))


@route(bp, "/tasks/<int:task_id>/ledger", methods=["GET"], query=PageQuery, response=TaskLedgerOut, paged=True,
       summary="The ledger transactions the task caused, oldest first, with their legs (owner or manager)", tag=TAG)
def task_ledger(task_id: int, args: dict) -> Page:
    db = db_session()
    task, _seen = projects.staff_row(db, Task, task_id, current_user, "task")
    found = budgets.task_ledger(db, task.project_id, task.id)
    start = (args["page"] - 1) * args["per_page"]
    shown = found[start:start + args["per_page"]]
    people = service.users_by_id(db, {line["user_id"] for row in shown for line in row["lines"]})
    for row in shown:
        for line in row["lines"]:
            line["user"] = people.get(line.pop("user_id"))
    return Page(shown, args["page"], args["per_page"], len(found))
