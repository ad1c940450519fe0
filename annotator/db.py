"""The database kernel: declarative Base, engines and sessions. No Flask here.

Times are stored as UTC. SQLite hands back naive datetimes, so `UTCDateTime`
re-attaches the offset and every datetime leaving the database is aware.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import weakref
from typing import Any

import orjson

from sqlalchemy import DateTime, Insert, MetaData, Table, create_engine, event, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

try:
    import fcntl
except ImportError:  # Windows: writers of different processes then meet in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


class Timestamped:
    """created_at/updated_at columns; set by the database clock on insert."""

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now(), nullable=False
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now(), nullable=False
    )


IMMEDIATE = "sqlite_begin_immediate"


def write_intent(session: Session) -> None:
    """Declare, before a transaction's first statement, that it reads in order to write.

    On SQLite the transaction then starts with BEGIN IMMEDIATE, taking the write lock up front, so
    two such transactions run one after the other instead of both reading and one failing to write.
    PostgreSQL needs nothing here: its claims lock rows (FOR UPDATE SKIP LOCKED).
    """
    if not session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={IMMEDIATE: True})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is off: we emit BEGIN ourselves (see _install_writer_queue), which
    # also makes SAVEPOINTs work as documented.
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


BUSY_TIMEOUT_SECONDS = 30


_ALL_QUEUES: weakref.WeakSet = weakref.WeakSet()


class WriterQueue:
    """The writers of one SQLite database, let in one at a time and handed over at once.

    SQLite makes a writer that finds the lock taken sleep and retry (1, 2, 5, 10 ... 100 ms), so with a
    dozen writers waiting, many sleep on long after the lock is free: tail latencies of hundreds of
    milliseconds, and a process whose threads pass the lock among themselves starves the others. Writers
    (BEGIN IMMEDIATE) queue here instead: on a thread lock within the process, then on an exclusive
    flock of a file beside the database across processes (gunicorn workers, RQ). The kernel wakes the
    next waiter the moment the last writer's COMMIT or ROLLBACK has run, and frees the lock of a
    process that dies.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._reset()
        _ALL_QUEUES.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DB-API connection inside
        self._fd: int | None = None

    def enter(self, dbapi_connection: Any) -> None:
        if not self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked (no turn to write within the busy timeout)")
        try:
            if self._path is not None and fcntl is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._holder = id(dbapi_connection)

    def leave(self, dbapi_connection: Any) -> None:
        if self._holder is None or self._holder != id(dbapi_connection):
            return
        self._holder = None
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


_WRITER_QUEUES: dict[str, WriterQueue] = {}
_WRITER_QUEUES_LOCK = threading.Lock()


def _forget_writer_queues() -> None:
    # A forked child (an RQ work horse) must not share its parent's lock file description (flock would let
    # both in) nor inherit a thread lock some other thread of the parent held at the fork: every queue,
    # including those engines made before the fork hold, starts afresh (its file is opened again on use).
    for writers in list(_ALL_QUEUES):
        writers._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writer_queues)


def writer_queue(database: str | None) -> WriterQueue:
    """The process's one queue for a database file (engines on the same file share it); a new one in memory."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return WriterQueue(None)
    path = os.path.abspath(database)
    with _WRITER_QUEUES_LOCK:
        if path not in _WRITER_QUEUES:
            _WRITER_QUEUES[path] = WriterQueue(path + "-writer.lock")
        return _WRITER_QUEUES[path]


def _install_writer_queue(engine: Engine) -> None:
    writers = writer_queue(engine.url.database)
    dialect = engine.dialect

    def begin(connection: Any) -> None:
        if not connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        writers.enter(dbapi_connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(dbapi_connection)
            raise

    def after(method: Any, closing: bool = False) -> Any:
        def run(connection: Any, *args: Any, **kwargs: Any) -> Any:
            raw = getattr(connection, "dbapi_connection", connection)  # SQLAlchemy passes its proxy or the raw one
            try:
                return method(connection, *args, **kwargs)
            finally:
                if closing or not raw.in_transaction:  # a failed COMMIT keeps the turn until the rollback
                    writers.leave(raw)
        return run

    event.listen(engine, "begin", begin)
    # The turn passes on only once COMMIT or ROLLBACK has run, so the next writer never meets SQLite's lock.
    dialect.do_commit = after(dialect.do_commit)
    dialect.do_rollback = after(dialect.do_rollback)
    dialect.do_close = after(dialect.do_close, closing=True)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout. JSON columns use orjson."""
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _install_writer_queue(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "do_execute", _plan_each_run)
    return engine


# An execution option for statements whose best plan depends on their parameters. psycopg prepares a statement
# after 5 runs, and PostgreSQL may then switch to a generic plan that ignores them: for the task claim's anti-join
# that plan grew with an annotator's history (150 ms after 100 answers). Such a statement is sent unprepared, so
# each run is planned with its real values. Every other statement keeps its prepared plan: planning is most of
# what PostgreSQL spends on the labelling path's short statements (0.1-0.3 ms each against 0.02-0.1 ms running).
PLAN_EACH_RUN = "plan_each_run"


def _plan_each_run(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
    if context is not None and context.execution_options.get(PLAN_EACH_RUN):
        cursor.execute(statement, parameters, prepare=False)
        return True
    return None


def refresh_statistics(session: Session, *tables: Table) -> None:
    """After a bulk load, let PostgreSQL's planner see the new rows now rather than at autovacuum's next round.

    Plans made on stale statistics can be a hundred times slower (a sequential scan inside the claim's
    anti-join); runs in its own short transaction after the load committed. SQLite keeps no statistics.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"ANALYZE {', '.join(table.name for table in tables)}"))
    session.commit()


def insert_skipping_duplicates(session: Session, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: rows that would break any unique index are skipped, atomically."""
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    name = session.get_bind().dialect.name
    if name not in dialects:
        raise NotImplementedError(f"no insert-skipping-duplicates for {name}")
    return dialects[name](table).on_conflict_do_nothing()


# Namespaces of the two-key advisory locks (the first key); the second is the object's id.
SETTLEMENT_LOCK = 21


def advisory_lock(session: Session, namespace: int, key: int) -> None:
    """A lock on (namespace, key) until the transaction ends, held by one transaction at a time: PostgreSQL's
    pg_advisory_xact_lock. SQLite runs one writing transaction at a time already, so there it is nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"), {"namespace": namespace, "key": key})


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
