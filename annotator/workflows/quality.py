"""Quality: a project's current agreement report, a task's consensus and the annotators' skills, computed now
for small projects and by the quality worker for large ones."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from annotator import queue
from tasks import skills
from tasks.models import Project, QualityReport, Task
from tasks.quality import consensus, report


def current_report(db: Session, project: Project, now: dt.datetime, *,
                   on_request_limit: int) -> tuple[dict | None, int]:
    """The project's agreement report (with `stale`) and its answer count: computed now for a project of up to
    `on_request_limit` answers; for a larger one the worker's last report, queueing a fresh one when it is out
    of date (None before the first): the caller commits, even on a read, to send that job."""
    signature = consensus.project_signature(db, project.id)
    count = signature.annotations
    if count <= on_request_limit:
        return {**report.agreement_report(db, project, now).body, "stale": False}, count
    stored = db.get(QualityReport, project.id)
    if consensus.is_fresh(consensus.report_signature(stored), signature):
        return {**stored.body, "stale": False}, count
    queue.enqueue_quality(db, project.id)  # sent when the caller commits (nothing else is written)
    return (None if stored is None else {**stored.body, "stale": True}), count


def task_consensus(db: Session, project: Project, task: Task, *, on_request_limit: int) -> consensus.Consensus:
    """The task's inferred answer with its confidence (computed, or the worker's if still fresh)."""
    found = consensus.consensus_for(db, project, [task], on_request_limit).get(task.id)
    if found is None:  # no answers yet (or none that can be inferred from)
        found = consensus.task_consensus(db, project, task)
    return found


def current_skills(db: Session, project: Project, *, on_request_limit: int,
                   user_id: int | None = None) -> tuple[list[skills.Estimate], bool]:
    """The project's skills (one annotator's with `user_id`) and whether they are out of date: computed now for a
    small project; a large one's from the quality worker, queueing a fresh computation when out of date (the
    caller commits, even on a read, to send that job)."""
    found, stale = skills.current(db, project, on_request_limit=on_request_limit, user_id=user_id)
    if stale:
        queue.enqueue_quality(db, project.id)
    return found, stale
