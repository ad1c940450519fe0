"""Worker-side plumbing for jobs: a database session inside the worker's app context."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from annotator.web import runtime


@contextmanager
def job_session() -> Iterator[Session]:
    """A session that commits when the job's block succeeds and rolls back when it raises."""
    session = runtime().session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def probe(marker: str) -> dict:
    """A job that proves a worker can reach the database: echoes `marker` with the database's answer."""
    with job_session() as session:
        answer = session.execute(text("SELECT 1")).scalar_one()
    return {"marker": marker, "database": "ok" if answer == 1 else "down"}

