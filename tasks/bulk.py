"""Bulk-inserting tasks, skipping duplicates, as fast as each database allows.

PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO
NOTHING RETURNING. COPY streams rows with no SQL to parse, which is several times faster than a
multi-row VALUES statement with thousands of placeholders. SQLite: a multi-row INSERT ... ON
CONFLICT DO NOTHING RETURNING (SQLAlchemy's insertmanyvalues), which is already fast there.
"""
from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from tasks.models import RANK_BITS, Annotation, Task

COLUMNS = ("external_id", "data", "data_hash", "media_sha256", "is_gold", "gold", "rank")
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS task_rows (
    n integer, external_id varchar(200), data json, data_hash varchar(64), media_sha256 varchar(64),
    is_gold boolean, gold json, rank integer
) ON COMMIT DELETE ROWS
"""
_MOVE = """
INSERT INTO tasks (project_id, external_id, data, data_hash, media_sha256, is_gold, gold, rank, status, import_id,
                   created_at)
SELECT :project_id, external_id, data, data_hash, media_sha256, is_gold, gold, rank, 'open', :import_id, :created_at
FROM task_rows ORDER BY n
ON CONFLICT DO NOTHING
RETURNING id, external_id, data_hash
"""


def insert_rows(session: Session, common: dict[str, Any], rows: list[dict[str, Any]]) -> list[Row]:
    """Insert `rows` (COLUMNS each) with `common` (project_id, import_id, created_at); the inserted ids.

    Returns (id, external_id, data_hash) for each row inserted; duplicates of stored tasks are skipped.
    """
    rows = [{**row, "rank": rank_of(row["data_hash"])} for row in rows]
    if session.get_bind().dialect.name == "postgresql":
        return _copy_then_insert(session, common, rows)
    values = [{**common, **row, "status": "open"} for row in rows]
    table = Task.__table__
    statement = insert_skipping_duplicates(session, table).returning(table.c.id, table.c.external_id,
                                                                     table.c.data_hash)
    return list(session.execute(statement, values).all())


def rank_of(data_hash: str) -> int:
    """A task's stable pseudo-random position: the first RANK_BITS bits of its (hex) data hash."""
    return int(data_hash[:RANK_BITS // 4], 16)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _copy_then_insert(session: Session, common: dict[str, Any], rows: list[dict[str, Any]]) -> list[Row]:
    session.execute(text(_STAGING))
    session.execute(text("TRUNCATE task_rows"))  # an earlier import in the same transaction used it
    driver = session.connection().connection.driver_connection  # the same connection, same transaction
    with driver.cursor() as cursor, cursor.copy(f"COPY task_rows (n, {', '.join(COLUMNS)}) FROM STDIN") as copy:
        for n, row in enumerate(rows):
            copy.write_row((n, row["external_id"], _json(row["data"]), row["data_hash"], row["media_sha256"],
                            row["is_gold"], _json(row["gold"]), row["rank"]))
    return list(session.execute(text(_MOVE), common).all())


ANSWER_COLUMNS = ("task_id", "user_id", "result", "lead_time_ms", "created_at")
_ANSWER_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS answer_rows (
    task_id integer, user_id integer, result json, lead_time_ms bigint, created_at timestamptz
) ON COMMIT DELETE ROWS
"""
_ANSWER_MOVE = """
INSERT INTO annotations (project_id, task_id, user_id, assignment_id, result, lead_time_ms, schema_version, counted,
                         created_at)
SELECT :project_id, task_id, user_id, NULL, result, lead_time_ms, :schema_version, true, created_at FROM answer_rows
ON CONFLICT DO NOTHING
RETURNING id
"""


def insert_answers(session: Session, project_id: int, schema_version: int, rows: list[dict[str, Any]]) -> int:
    """Insert imported answers (ANSWER_COLUMNS each; no lease, counted), skipping any the same annotator already
    gave to the task; how many were stored. PostgreSQL: COPY then one INSERT ... SELECT, as for tasks."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_ANSWER_STAGING))
        session.execute(text("TRUNCATE answer_rows"))
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY answer_rows ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") \
                as copy:
            for row in rows:
                copy.write_row((row["task_id"], row["user_id"], _json(row["result"]), row["lead_time_ms"],
                                row["created_at"]))
        return len(session.execute(text(_ANSWER_MOVE), {"project_id": project_id,
                                                        "schema_version": schema_version}).all())
    table = Annotation.__table__
    statement = insert_skipping_duplicates(session, table).returning(table.c.id)
    common = {"project_id": project_id, "assignment_id": None, "schema_version": schema_version, "counted": True,
              "gold_score": None}
    return sum(len(session.execute(statement, [{**common, **row} for row in rows[start:start + 5000]]).all())
               for start in range(0, len(rows), 5000))
