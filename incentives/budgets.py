"""Project budgets and contributor wallets as the ledger holds them. Flushes, never commits."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from annotator.errors import InvalidInput
from annotator.users.models import User
from incentives import ledger
from incentives.ledger import Leg
from incentives.models import Account, Entry, LedgerTransaction
from tasks.models import Annotation, Project

WALLET_KINDS = (*ledger.EARNED_INTO, "payouts_in_flight")
EARNING_KINDS = ("credit", "bonus", "reversal", "clawback")  # what counts towards lifetime earnings (net)


def fee_of(amount: int, fee_bps: int) -> int:
    """The platform's fee on a deposit: `fee_bps` hundredths of a percent, rounded down to a minor unit."""
    if not 0 <= fee_bps < 10_000:
        raise ValueError(f"a fee rate is 0 to 9,999 basis points, not {fee_bps!r}")
    return amount * fee_bps // 10_000


@dataclass(frozen=True)
class DepositLimits:
    """per_deposit: the most one deposit may bring in; per_day: the most one user may deposit in 24 hours (minor
    units). They keep what anyone can bring in bounded, whatever is confirmed later."""

    per_deposit: int
    per_day: int


def deposit(session: Session, project: Project, user: User, amount: int, key: str, now: dt.datetime,
            fee_bps: int = 0, limits: DepositLimits | None = None) -> LedgerTransaction:
    """Money from the depositor's side of the outside world into the project's budget, once per key; with a fee
    rate set, the platform's fee goes to platform fees and the rest to the budget (the details say both).

    The outside world has one account per counterparty, so no one's deposits can push a shared account to the
    ledger's limit and stop everyone else's."""
    ledger.check_amount(amount)
    world = ledger.account(session, "outside_world", user_id=user.id)
    posting_key = f"deposit:{project.id}:{key}"
    if limits is not None:
        _check_limits(session, world, amount, posting_key, now, limits)
    fee = fee_of(amount, fee_bps)
    budget = ledger.account(session, "project_budget", project_id=project.id)
    legs = [Leg(world, -amount), Leg(budget, amount - fee)]
    if fee:
        legs.append(Leg(ledger.account(session, "platform_fees"), fee))
    return ledger.post(session, posting_key, "deposit", legs, now,
                       memo=f"deposit to project {project.id}" + (f" ({fee} platform fee)" if fee else ""),
                       details={"by_user": user.id, "amount": amount, "fee": fee, "fee_bps": fee_bps},
                       project_id=project.id)


def _check_limits(session: Session, world: Account, amount: int, posting_key: str, now: dt.datetime,
                  limits: DepositLimits) -> None:
    if amount > limits.per_deposit:
        raise InvalidInput({"amount": [f"One deposit is at most {limits.per_deposit} minor units."]})
    if session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == posting_key)):
        return  # a retry of a deposit already made: the ledger hands back the first posting
    today = -int(session.scalar(ledger.entry_sums(kinds=("outside_world",), where=(
        Entry.account_id == world.id, LedgerTransaction.kind == "deposit",
        LedgerTransaction.created_at > now - dt.timedelta(days=1)))))
    if today + amount > limits.per_day:
        raise InvalidInput({"amount": [f"You can deposit at most {limits.per_day} minor units in 24 hours; "
                                       f"{max(limits.per_day - today, 0)} are left."]})


def budget(session: Session, project: Project) -> dict[str, Any]:
    """balance: not yet committed to work; reserved: what live leases could cost; spent: credited to contributors."""
    balances = dict(session.execute(select(Account.kind, Account.balance).where(
        Account.project_id == project.id, Account.kind.in_(("project_budget", "project_reserve")))).all())
    spent = session.scalar(ledger.entry_sums(kinds=ledger.EARNED_INTO,
                                             where=(LedgerTransaction.project_id == project.id,)))
    return {"currency": ledger.currency(), "balance": balances.get("project_budget", 0),
            "reserved": balances.get("project_reserve", 0), "spent": int(spent or 0)}


def wallet(session: Session, user: User) -> dict[str, Any]:
    balances = dict(session.execute(select(Account.kind, Account.balance).where(
        Account.user_id == user.id, Account.kind.in_(WALLET_KINDS))).all())
    earned = session.scalar(ledger.entry_sums(kinds=WALLET_KINDS, where=(
        Account.user_id == user.id, LedgerTransaction.kind.in_(EARNING_KINDS))))
    return {"currency": ledger.currency(), "balance": balances.get("wallet_available", 0),
            "pending": balances.get("wallet_pending", 0), "in_flight": balances.get("payouts_in_flight", 0),
            "lifetime_earned": int(earned or 0)}


def wallet_entries_page(session: Session, user: User, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's wallet lines (see `_wallet_lines`) and how many there are in all."""
    statement = _wallet_lines(user)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).mappings()
    return [dict(row) for row in rows], total


def _wallet_lines(user: User) -> Select:
    """The user's wallet lines, newest first: each entry with its transaction's memo, project, task and reasons."""
    return (select(Entry.id, Entry.transaction_id, Entry.amount, Account.kind.label("account"), LedgerTransaction.kind,
                   LedgerTransaction.memo, LedgerTransaction.project_id, LedgerTransaction.task_id,
                   LedgerTransaction.details, LedgerTransaction.created_at)
            .join(Account, Account.id == Entry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == Entry.transaction_id)
            .where(Account.user_id == user.id, Account.kind.in_(WALLET_KINDS))
            .order_by(Entry.id.desc()))


def earned_by_annotation(session: Session, project_id: int, after: int, last: int) -> dict[int, int]:
    """What each answer to the project's tasks with ids in (after, last] earned, net, in minor units: its credit,
    settlement and any clawback, as the wallets saw them (the exports' `credits`)."""
    answers = select(Annotation.id).where(Annotation.project_id == project_id, Annotation.task_id > after,
                                          Annotation.task_id <= last)
    return {annotation_id: int(total) for annotation_id, total in session.execute(ledger.entry_sums(
        LedgerTransaction.annotation_id, kinds=ledger.EARNED_INTO,
        where=(LedgerTransaction.annotation_id.in_(answers),)))}
