"""Quality: a project's agreement (owners, managers, reviewers) and a task's consensus."""
from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask_login import current_user
from marshmallow import Schema, fields
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from annotator import queue
from annotator.api.core import route
from annotator.db import utcnow
from annotator.web import OrjsonProvider, db_session, runtime
from tasks import projects
from tasks.models import QualityReport, Task
from tasks.quality import consensus as quality_consensus
from tasks.quality import report as quality_report

bp = Blueprint("quality_api", __name__)
TAG = "quality"
WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


class PerAnnotator(Schema):
    user_id = fields.Integer()
    annotations = fields.Integer()
    agreement_with_consensus = fields.Float(allow_none=True)
    gold_accuracy = fields.Float(allow_none=True)
    reliability = fields.Float(allow_none=True)


class AgreementOut(Schema):
    krippendorff_alpha = fields.Float(allow_none=True)
    alpha_interval = fields.List(fields.Float(allow_none=True), allow_none=True,
                                 metadata={"description": "bootstrap 95% interval over tasks, seeded"})
    alpha_distance = fields.String(allow_none=True, metadata={"description": "taxonomy or nominal"})
    nominal_alpha = fields.Float(allow_none=True)
    fleiss_kappa = fields.Float(allow_none=True)
    mean_pairwise_cohen_kappa = fields.Float(allow_none=True)
    per_label = fields.Dict(metadata={"description": "label id -> {alpha, annotations}"})
    confusion = fields.Dict(allow_none=True, metadata={
        "description": "single-label projects: {labels, pairs}, the labels most often in disagreement; pairs[i][j] "
                       "counts pairs of answers to one task giving labels[i] and labels[j] (i == j: agreeing)"})
    per_annotator = fields.List(fields.Nested(PerAnnotator))
    method = fields.String(allow_none=True, metadata={"description": "majority or dawid_skene"})
    annotations = fields.Integer(metadata={"description": "the annotations these numbers cover"})
    tasks = fields.Integer()
    computed_at = fields.String()
    stale = fields.Boolean(metadata={"description": "more annotations have arrived; a recomputation is queued"})
    bbox_f1 = fields.Dict(metadata={"description": "box projects: mean IoU-matched F1 at 0.5 and label alpha"})
    polygon_f1 = fields.Dict()
    keypoint_f1 = fields.Dict()
    span_f1 = fields.Dict()


class ConsensusOut(Schema):
    task_id = fields.Integer()
    result = fields.Dict(allow_none=True)
    confidence = fields.Float(allow_none=True)
    method = fields.String()
    agreement = fields.Float(allow_none=True, metadata={"description": "share of the task's answer pairs that agree"})
    annotations = fields.Integer()


def _json(body: dict, status: int = 200) -> Response:
    return Response(OrjsonProvider.dumps_bytes(body), status=status, mimetype="application/json")


def _queue_recompute(project_id: int) -> None:
    """Ask the quality worker for a fresh report, once: a request already waiting is not queued again."""
    connection = runtime().redis
    job_id = f"quality-{project_id}"
    try:
        if Job.fetch(job_id, connection=connection).get_status() in WAITING:
            return
    except NoSuchJobError:  # never asked for, or its result has expired
        pass
    queue.get_queue(connection, "quality").enqueue_call("tasks.jobs.compute_quality", args=(project_id,),
                                                        job_id=job_id, timeout=3600, result_ttl=600)


@route(bp, "/projects/<int:project_id>/agreement", methods=["GET"], response=AgreementOut,
       summary="Agreement, per label and per annotator (owner, manager, reviewer); undefined values are null. "
               "Small projects are computed now; large ones come from the quality worker (202 until the first "
               "report exists)", tag=TAG)
def agreement(project_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="reviewer").project
    body, count = current_report(db, project)
    if body is None:
        return _json({"status": "computing", "annotations": count}, status=202)
    return _json(body)


def current_report(db, project) -> tuple[dict | None, int]:
    """The project's agreement report (with `stale`) and its answer count: computed now for a small project;
    for a large one the worker's last report, queueing a fresh one when it is out of date (None before the
    first)."""
    signature = quality_consensus.project_signature(db, project.id)
    count = signature.annotations
    if count <= current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"]:
        return {**quality_report.agreement_report(db, project, utcnow()).body, "stale": False}, count
    stored = db.get(QualityReport, project.id)
    if quality_consensus.is_fresh(quality_consensus.report_signature(stored), signature):
        return {**stored.body, "stale": False}, count
    _queue_recompute(project.id)
    return (None if stored is None else {**stored.body, "stale": True}), count


@route(bp, "/tasks/<int:task_id>/consensus", methods=["GET"], response=ConsensusOut,
       summary="The task's inferred answer with its confidence (owner, manager, reviewer)", tag=TAG)
def consensus(task_id: int):
    db = db_session()
    task, seen = projects.staff_row(db, Task, task_id, current_user, "task", need="reviewer")
    limit = current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"]
    entry = quality_consensus.consensus_for(db, seen.project, [task], limit).get(task.id)
    if entry is None:  # no answers yet (or none that can be inferred from)
        entry = quality_consensus.task_consensus(db, seen.project, task)
    return entry.as_dict()
