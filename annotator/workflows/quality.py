"""Quality: a project's current agreement report and a task's consensus, computed now for small projects and
by the quality worker for large ones."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from annotator import queue
from tasks import quality_service
from tasks.models import Project, QualityReport, Task


def current_report(db: Session, project: Project, now: dt.datetime, *,
                   on_request_limit: int) -> tuple[dict | None, int]:
    """The project's agreement report (with `stale`) and its answer count: computed now for a project of up to
    `on_request_limit` answers; for a larger one the worker's last report, queueing a fresh one when it is out
    of date (None before the first): the caller commits, even on a read, to send that job."""
    signature = quality_service.annotation_signature(db, project.id)
    count = signature[0]
    if count <= on_request_limit:
        body, _consensus = quality_service.split_report(quality_service.agreement_report(db, project, now))
        return {**body, "stale": False}, count
    stored = db.get(QualityReport, project.id)
    if quality_service.is_fresh(stored, signature):
        return {**stored.body, "stale": False}, count
    queue.enqueue_quality(db, project.id)  # sent when the caller commits (nothing else is written)
    return (None if stored is None else {**stored.body, "stale": True}), count


def task_consensus(db: Session, project: Project, task: Task, now: dt.datetime, *, on_request_limit: int) -> dict:
    """The task's inferred answer with its confidence."""
    entry = quality_service.consensus_for(db, project, [task], on_request_limit, now).get(task.id)
    if entry is None:  # no answers yet (or none that can be inferred from)
        return quality_service.task_consensus(db, project, task)
    return {"task_id": task.id, **entry}
