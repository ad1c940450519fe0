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
from tasks.models import RANK_BITS, Task

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
