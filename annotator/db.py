"""The database kernel: declarative Base, engines and sessions. No Flask here.

Times are stored as UTC. SQLite hands back naive datetimes, so `UTCDateTime`
re-attaches the offset and every datetime leaving the database is aware.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from sqlalchemy import DateTime, Insert, MetaData, Table, create_engine, event, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

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
    # pysqlite's own transaction handling is off: we emit BEGIN ourselves (see _sqlite_begin), which
    # also makes SAVEPOINTs work as documented.
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # psycopg prepares a statement after 5 runs, and PostgreSQL may then switch to a generic plan that
        # ignores the parameters. For the claim's anti-join that plan grew with an annotator's history
        # (150 ms after 100 answers); planning each run with its real values keeps it at a millisecond.
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
    return create_engine(url, **kwargs)


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


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
