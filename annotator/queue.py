"""RQ wiring: the queues, enqueue-after-commit, one deterministic enqueue_* per job, the periodic jobs.

Every job is enqueued here and only here, after the transaction that wrote its rows commits, under a job id
made from those rows (so a second request for the same work finds the first instead of queueing twice).
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue, Retry
from rq.cron import CronScheduler
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from annotator.runtime import runtime

# One queue per kind of work, so a flood of exports cannot starve imports.
QUEUE_NAMES = ("default", "imports", "exports", "quality", "simulations")

# Jobs run on a schedule by `annotator cron`: (dotted function path, queue, interval in seconds).
# Each is idempotent, so a second scheduler by mistake only repeats harmless work.
PERIODIC_JOBS: list[tuple[str, str, int]] = [
    ("tasks.jobs.reclaim_expired_leases", "default", 60),
    ("tasks.jobs.refresh_quality", "quality", 60),
    ("incentives.jobs.release_lapsed_reservations", "default", 60),
    ("annotator.jobs.reclaim_stale_exports", "default", 60),
    ("annotator.jobs.requeue_lost_imports", "default", 60),
]
WAITING = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})

_PENDING = "annotator.jobs_after_commit"
log = logging.getLogger(__name__)


def get_queue(connection: redis.Redis, name: str = "default") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)


def cron_scheduler(connection: redis.Redis) -> CronScheduler:
    """RQ's cron scheduler with PERIODIC_JOBS registered; `.start()` runs it."""
    scheduler = CronScheduler(connection=connection, name="annotator")
    for path, queue_name, interval in PERIODIC_JOBS:
        module, _, name = path.rpartition(".")
        scheduler.register(getattr(importlib.import_module(module), name), queue_name, interval=interval)
    return scheduler


# One enqueue per job --------------------------------------------------------------------------------------------

def enqueue_import(session: Session, import_id: int, attempt: int = 0) -> bool:
    """Import the files of an import once `session` commits (RQ retries it twice); False when its job is already
    waiting. `attempt` is the import's attempts so far: one re-queued after its worker died gets a new job id."""
    job_id = f"import-{import_id}" if attempt == 0 else f"import-{import_id}-{attempt}"
    if _waiting(job_id):
        return False
    enqueue_after_commit(session, "imports", "tasks.jobs.run_import", (import_id,), job_id=job_id,
                         retry=Retry(max=2, interval=[10, 60]), timeout=6 * 3600)
    return True


def enqueue_export(session: Session, export_id: int, attempt: int) -> bool:
    """Write an export once `session` commits (RQ retries it twice); False when its job is already waiting.
    `attempt` is the export's attempts so far: an export re-queued after its worker died gets a new job id, so
    the dead worker's job cannot be mistaken for the new one."""
    job_id = f"export-{export_id}-{attempt}"
    if _waiting(job_id):
        return False
    enqueue_after_commit(session, "exports", "annotator.jobs.run_export", (export_id,), job_id=job_id,
                         retry=Retry(max=2, interval=[10, 60]), timeout=6 * 3600, result_ttl=3600)
    return True


def enqueue_quality(session: Session, project_id: int) -> None:
    """Recompute a large project's quality report once `session` commits; a request already waiting is not
    queued again."""
    job_id = f"quality-{project_id}"
    if _waiting(job_id):
        return
    enqueue_after_commit(session, "quality", "tasks.jobs.compute_quality", (project_id,), job_id=job_id,
                         timeout=3600, result_ttl=600)


def enqueue_simulation(session: Session, simulation_id: int) -> None:
    """Run a simulation once `session` commits."""
    enqueue_after_commit(session, "simulations", "annotator.jobs.run_simulation", (simulation_id,),
                         job_id=f"simulation-{simulation_id}", timeout=3600, result_ttl=600)


def _waiting(job_id: str) -> bool:
    """Whether the job is queued, running, deferred or scheduled in RQ now."""
    try:
        return Job.fetch(job_id, connection=runtime().redis).get_status() in WAITING
    except NoSuchJobError:  # never queued, or its result has expired
        return False
    except redis.RedisError:  # Redis is down: the enqueue after commit fails quietly, and the sweep retries it
        return False


# The outbox: jobs wait for their transaction -----------------------------------------------------------------

def enqueue_after_commit(session: Session, queue_name: str, func: Callable | str, args: tuple = (),
                         **options: Any) -> None:
    """Enqueue `func(*args)` on the named queue once `session` commits; forget it if the session rolls back.

    Jobs take ids of rows this transaction writes, so they must not start before those rows are visible.
    `options` (job_id, retry, timeout, ...) are those of RQ's `Queue.enqueue_call`.
    """
    target = get_queue(runtime().redis, queue_name)  # now: the runtime is that of this request or job
    if not session.in_transaction():
        session.begin()  # so that a rollback, even with no SQL run yet, discards the job
    session.info.setdefault(_PENDING, []).append((target, func, tuple(args), options))


def install_after_commit(factory: sessionmaker) -> None:
    """Hook enqueue_after_commit into every session that `factory` makes."""
    event.listen(factory, "after_commit", _flush_pending)
    event.listen(factory, "after_soft_rollback", _drop_pending)


def _flush_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for target, func, args, options in pending:
        try:
            target.enqueue_call(func, args=args, **options)
        except redis.RedisError:
            # The rows are committed; the job's row stays `queued`, for a requeue once Redis is back.
            log.exception("could not enqueue %s%r on %s", func, args, target.name)


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # only the outermost rollback discards
        session.info.pop(_PENDING, None)
