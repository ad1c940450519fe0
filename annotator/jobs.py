"""RQ entry points that wire two domains: dataset exports (the task data and, for each answer, what the ledger
paid it; tasks never imports incentives) and the worker's probe. Jobs take ids and are safe to run twice."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from annotator import queue
from annotator.db import utcnow
from annotator.runtime import job_session, runtime
from annotator.workflows import simulations
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


def run_simulation(simulation_id: int) -> None:
    """Run a simulated crowd under every reward mechanism (annotator.workflows.simulations)."""
    simulations.run(runtime().session_factory, simulation_id, utcnow)


def reclaim_stale_exports() -> list[int]:
    """Re-queue exports whose worker died mid-way (no heartbeat for exports.STALE_AFTER), or mark them failed
    after exports.MAX_ATTEMPTS, and exports queued long ago whose job is no longer waiting in RQ; runs every
    minute. Returns the exports re-queued."""
    with job_session() as session:
        now = utcnow()
        return _sweep(exports.long_queued(session, now), exports.stale(session, now), exports.MAX_ATTEMPTS,
                      lambda row: queue.enqueue_export(session, row.id, row.attempts), "writing", now)


def requeue_lost_imports() -> list[int]:
    """Queue again imports still queued a minute after they were asked for whose job is not waiting in RQ (Redis
    was down when they were committed), and running imports whose worker died (no heartbeat for
    image_import.STALE_AFTER; failed after MAX_ATTEMPTS); runs every minute. Returns the imports re-queued."""
    with job_session() as session:
        now = utcnow()
        return _sweep(image_import.long_queued(session, now), image_import.stale(session, now),
                      image_import.MAX_ATTEMPTS, lambda row: queue.enqueue_import(session, row.id, row.attempts),
                      "importing", now)


def _sweep(waiting: list, stale: list, max_attempts: int, enqueue: Callable[[Any], bool], doing: str,
           now: dt.datetime) -> list[int]:
    """The one outbox rule for rows with a job (exports, imports): a queued row whose job is not waiting is queued
    again; a running row whose worker stopped beating is queued again under a new job id, or failed after
    `max_attempts`. Returns the ids queued."""
    requeued = [row.id for row in waiting if enqueue(row)]
    for row in stale:
        if row.attempts >= max_attempts:
            row.status, row.error, row.finished_at = "failed", f"the worker {doing} it stopped, too many times", now
            continue
        row.status, row.progress = "queued", 0.0
        enqueue(row)
        requeued.append(row.id)
    return requeued


def probe(marker: str) -> dict:
    """A job that proves a worker can reach the database: echoes `marker` with the database's answer."""
    with job_session() as session:
        answer = session.execute(text("SELECT 1")).scalar_one()
    return {"marker": marker, "database": "ok" if answer == 1 else "down"}
