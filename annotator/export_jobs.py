"""RQ entry points for dataset exports. They live in the app layer, not in tasks/jobs.py, because they wire
two domains: the task data and, for each answer, what the ledger paid it (tasks never imports incentives)."""
from __future__ import annotations

import logging
import uuid

from flask import current_app
from rq import Retry
from sqlalchemy.orm import Session

from annotator import queue
from annotator.db import utcnow
from annotator.jobs import job_session
from annotator.web import runtime
from incentives.budgets import earned_by_annotation
from tasks import exports

log = logging.getLogger(__name__)


def run_export(export_id: int) -> dict | None:
    """Write an export (RQ retries it; a second run of a completed one does nothing)."""
    rt = runtime()
    config = current_app.config
    try:
        return exports.run(rt.session_factory, rt.storage, export_id, secret=config["SECRET_KEY"].encode(),
                           credits=earned_by_annotation, on_request_limit=config["ANNOTATOR_QUALITY_ON_REQUEST"],
                           now=utcnow)
    except Exception as error:
        log.exception("export %s failed", export_id)
        exports.mark_failed(rt.session_factory, export_id, f"{type(error).__name__}: {error}", utcnow())
        raise


def reclaim_stale_exports() -> list[int]:
    """Re-queue exports whose worker died mid-way (no heartbeat for exports.STALE_AFTER), or mark them failed
    after exports.MAX_ATTEMPTS; runs every minute. Returns the exports re-queued."""
    requeued = []
    with job_session() as session:
        for export in exports.stale(session, utcnow()):
            if export.attempts >= exports.MAX_ATTEMPTS:
                export.status, export.error = "failed", "the worker writing it stopped, too many times"
                export.finished_at = utcnow()
                continue
            export.status, export.progress = "queued", 0.0
            enqueue_export(session, export.id)
            requeued.append(export.id)
    return requeued


def enqueue_export(session: Session, export_id: int) -> None:
    """Queue the export's job once `session` commits (retried twice by RQ if it raises)."""
    queue.enqueue_after_commit(session, queue.get_queue(runtime().redis, "exports"), "annotator.export_jobs.run_export",
                               args=(export_id,), job_id=f"export-{export_id}-{uuid.uuid4().hex[:8]}",
                               retry=Retry(max=2, interval=[10, 60]), timeout=6 * 3600, result_ttl=3600)
