"""The ledger's tables: accounts, transactions and their entries (append-only), payouts."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, event, func, text
from sqlalchemy.orm import Mapped, mapped_column

from annotator.db import Base, UTCDateTime

# What an account holds, and whether its balance may go below zero.
ACCOUNT_KINDS = {
    "project_budget": False,     # an owner's deposits not yet committed to work
    "project_reserve": False,    # the most live leases could cost
    "wallet_pending": False,     # a contributor's credits awaiting their task's settlement
    "wallet_available": False,   # a contributor's settled credits, payable
    "payouts_in_flight": False,  # requested payouts awaiting an admin
    "outside_world": True,       # where deposits come from and payouts go, one per counterparty (the depositor,
                                 # the payee; older postings: one shared): together, minus the money inside
    "platform_fees": False,
}


class Account(Base):
    """One balance: a project's budget or reserve, a contributor's wallet, the outside world, ...

    `balance` caches the sum of the account's entries, kept in the same transaction as the entries;
    `annotator ledger verify` recomputes it.
    """

    __tablename__ = "ledger_accounts"
    # One account per (kind, project, user, currency). NULLs never collide in a plain unique index, so the
    # index is over coalesce(.., 0): two transactions making a contributor's wallet at once make one.
    __table_args__ = (Index("uq_ledger_accounts_holder", "kind", func.coalesce(text("project_id"), 0),
                            func.coalesce(text("user_id"), 0), "currency", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    balance: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class LedgerTransaction(Base):
    """A balanced set of entries, posted once: its idempotency key makes a retry return the first posting."""

    __tablename__ = "ledger_transactions"
    # The task viewer lists the lines a task caused.
    __table_args__ = (Index("ix_ledger_transactions_task", "project_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    memo: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Why: the rule version and the numbers it used, so each wallet line can explain itself.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=True,
                                                    unique=True)  # reversed at most once
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    annotation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # The lease whose reservation this moves: what is left reserved for it is the sum of its reserve entries.
    assignment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # A review lease's reservation, pay and release (reviewer pay, tasks.reviews): like assignment_id for labelling.
    review_lease_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Payout(Base):
    """A contributor's request to be paid: its money waits in payouts in flight until an admin decides."""

    __tablename__ = "payouts"
    __table_args__ = (Index("ix_payouts_user", "user_id", "id"), Index("ix_payouts_status", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # pending, approved, rejected
    # The posting that moved the money into flight (one payout per posting: a retried request finds it).
    requested_by_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False,
                                                             unique=True)
    decided_by_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"),
                                                                  nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Entry(Base):
    """One leg of a transaction: a signed amount in minor units (cents, fen) on one account."""

    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("amount <> 0", name="nonzero"), Index("ix_ledger_entries_account", "account_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)


# Append-only, enforced by the database as well as the code: entries and transactions refuse UPDATE and
# DELETE (a correction is a reversing transaction). Installed by migration 0007 and, for tables made by
# create_all (tests), by these DDL events.
APPEND_ONLY_TABLES = ("ledger_entries", "ledger_transactions")
POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'the ledger is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
END;
$$ LANGUAGE plpgsql
"""


def append_only_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [POSTGRESQL_FUNCTION,
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"]
    return [f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE on {table} refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: DELETE on {table} refused'); END"]


def _install_append_only(target, connection, **_kw) -> None:
    for statement in append_only_ddl(target.name, connection.dialect.name):
        connection.exec_driver_sql(statement)


for _table in (Entry.__table__, LedgerTransaction.__table__):
    event.listen(_table, "after_create", _install_append_only)


class Simulation(Base):
    """A simulated crowd priced under every reward mechanism (incentives.simulate), run by the RQ worker for
    whoever asked: its parameters, status, progress 0..1 and result. No money moves."""

    __tablename__ = "simulations"
    __table_args__ = (Index("ix_simulations_created_by", "created_by", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")  # running, completed, failed
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Deposit(Base):
    """Money an owner says they paid into a project's budget: `pending` until an administrator (or a payment
    provider's signed notification) confirms it, only then posted to the ledger (`transaction_id`); or
    `rejected`, posting nothing."""

    __tablename__ = "deposits"
    __table_args__ = (Index("ix_deposits_status", "status", "id"), Index("ix_deposits_user", "user_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee_bps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # the platform's rate when asked
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")  # confirmed, rejected
    # "user:key": a retried request finds its deposit rather than making another.
    request_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=True,
                                                       unique=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Revenue(Base):
    """Income recorded for a dataset release and split through the ledger: the platform's fee, then every
    contributor's part of the rest by their share (incentives.contributions)."""

    __tablename__ = "revenues"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="RESTRICT"), index=True,
                                            nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)
    memo: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
