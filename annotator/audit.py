"""The audit log: who did what, when, for every owner, admin and money action. Append-only (the database refuses
UPDATE and DELETE on it, as on the ledger), written in the same transaction as the action it records, readable
by the project's owner and by admins, exportable as CSV."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Select, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from annotator.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_project", "project_id", "id"),
                      Index("ix_audit_events_actor", "actor_id", "created_at"))  # the admin page's "last active"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    project_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # no FK: the log outlives what it names
    target: Mapped[str | None] = mapped_column(String(30), nullable=True)
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


def record(session: Session, actor_id: int | None, action: str, moment: dt.datetime, *, project_id: int | None = None,
           target: str | None = None, target_id: int | None = None, **details: Any) -> AuditEvent:
    """Add one event to the session: it commits, or rolls back, with the action it records."""
    row = AuditEvent(created_at=moment, actor_id=actor_id, action=action, project_id=project_id, target=target,
                     target_id=target_id, details=details)
    session.add(row)
    return row


def events_query(project_id: int | None = None) -> Select:
    """The audit events, newest first: one project's, or (None) all of them."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    return statement if project_id is None else statement.where(AuditEvent.project_id == project_id)


def oldest_first(session: Session, statement: Select) -> Iterator[AuditEvent]:
    """The events of `statement` oldest first, for a file a reader scans top to bottom."""
    return iter(session.scalars(statement.order_by(None).order_by(AuditEvent.id)))


def append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["""CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'the audit log is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql""",
                "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"]
    return ["CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END",
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END"]


@event.listens_for(AuditEvent.__table__, "after_create")
def _install_append_only(target, connection, **_kw) -> None:  # tables made by create_all (tests)
    for statement in append_only_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)
