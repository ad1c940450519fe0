"""RQ entry points that wire two domains: dataset exports (the task data and, for each answer, what the ledger
paid it; tasks never imports incentives) and the worker's probe. Jobs take ids and are safe to run twice."""
from __future__ import annotations

import logging

from sqlalchemy import text

from annotator import queue
from annotator.db import utcnow
from annotator.runtime import job_session, runtime
from incentives.budgets import earned_by_annotation
from tasks import exports, image_import

log = logging.getLogger(__name__)


def run_export(export_id: int) -> dict | None:
    """Write an export (RQ retries it; a second run of a completed one does nothing)."""
    rt = runtime()
    settings = rt.settings
    try:
        return exports.run(rt.session_factory, rt.storage, export_id, secret=settings["SECRET_KEY"].encode(),
                           credits=earned_by_annotation, on_request_limit=settings["ANNOTATOR_QUALITY_ON_REQUEST"],
                           now=utcnow)
    except Exception as error:
        log.exception("export %s failed", export_id)
        exports.mark_failed(rt.session_factory, export_id, f"{type(error).__name__}: {error}", utcnow())
        raise


def reclaim_stale_exports() -> list[int]:
    """Re-queue exports whose worker died mid-way (no heartbeat for exports.STALE_AFTER), or mark them failed
    after exports.MAX_ATTEMPTS, and exports queued long ago whose job is no longer waiting in RQ; runs every
    minute. Returns the exports re-queued."""
    requeued = []
    with job_session() as session:
        now = utcnow()
        for export in exports.long_queued(session, now):
            if queue.enqueue_export(session, export.id, export.attempts):
                requeued.append(export.id)
        for export in exports.stale(session, now):
            if export.attempts >= exports.MAX_ATTEMPTS:
                export.status, export.error = "failed", "the worker writing it stopped, too many times"
                export.finished_at = now
                continue
            export.status, export.progress = "queued", 0.0
            queue.enqueue_export(session, export.id, export.attempts)
            requeued.append(export.id)
    return requeued


def requeue_lost_imports() -> list[int]:
    """Queue again imports still queued a minute after they were asked for whose job is not waiting in RQ (Redis
    was down when they were committed), and running imports whose worker died (no heartbeat for
    image_import.STALE_AFTER; failed after MAX_ATTEMPTS); runs every minute. Returns the imports re-queued."""
    with job_session() as session:
        now = utcnow()
        requeued = [job.id for job in image_import.long_queued(session, now)
                    if queue.enqueue_import(session, job.id, attempt=job.attempts)]
        for job in image_import.stale(session, now):
            if job.attempts >= image_import.MAX_ATTEMPTS:
                job.status, job.error = "failed", "the worker importing it stopped, too many times"
                job.finished_at = now
                continue
            job.status, job.progress = "queued", 0.0
            queue.enqueue_import(session, job.id, attempt=job.attempts)
            requeued.append(job.id)
    return requeued


def probe(marker: str) -> dict:
    """A job that proves a worker can reach the database: echoes `marker` with the database's answer."""
    with job_session() as session:
        answer = session.execute(text("SELECT 1")).scalar_one()
    return {"marker": marker, "database": "ok" if answer == 1 else "down"}
