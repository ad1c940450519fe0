"""Project budgets and contributor wallets as the ledger holds them. Flushes, never commits."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from annotator.errors import AlreadyDecided, AmountMismatch, IdempotencyKeyReused, InvalidInput, NotFound
from annotator.users.models import User
from incentives import ledger
from incentives.ledger import Leg
from incentives.models import Account, Deposit, Entry, LedgerTransaction
from tasks.models import Annotation, Project

WALLET_KINDS = (*ledger.EARNED_INTO, "payouts_in_flight")
EARNING_KINDS = ("credit", "bonus", "reversal", "clawback", "review_pay", "revenue")  # lifetime earnings (net)


# Money a project's transactions move that never was its budget's: a release's revenue comes from outside and goes to
# its contributors (incentives/contributions.py), so it is neither spent from the budget nor deposited into it.
NOT_FROM_BUDGET = ("revenue",)


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


def request_deposit(session: Session, project: Project, user: User, amount: int, key: str, now: dt.datetime,
                    fee_bps: int = 0, limits: DepositLimits | None = None) -> Deposit:
    """An owner's deposit, `pending`: nothing reaches the budget until an administrator confirms it
    (`decide_deposit`). Once per key: a retry with the same amount finds the first request, another amount is
    409 `idempotency_key_reused`. The fee rate is the platform's at the time of asking."""
    ledger.check_amount(amount)
    request_key = f"{user.id}:{key}"
    found = session.scalar(select(Deposit).where(Deposit.request_key == request_key))
    if found is not None:
        if found.amount != amount or found.project_id != project.id:
            raise IdempotencyKeyReused("This Idempotency-Key was used for another deposit.")
        return found
    if limits is not None:
        _check_limits(session, user, amount, now, limits)
    # Two requests with one key at once: the second's insert waits for the first and skips its row.
    session.execute(insert_skipping_duplicates(session, Deposit.__table__).values(
        project_id=project.id, user_id=user.id, amount=amount, fee_bps=fee_bps, status="pending",
        request_key=request_key, note="", created_at=now))
    row = session.scalar(select(Deposit).where(Deposit.request_key == request_key).execution_options(
        populate_existing=True))
    if row.amount != amount or row.project_id != project.id:
        raise IdempotencyKeyReused("This Idempotency-Key was used for another deposit.")
    return row


def decide_deposit(session: Session, deposit_id: int, admin: User, confirm: bool, now: dt.datetime,
                   note: str = "") -> Deposit:
    """An administrator's decision on a pending deposit: confirmed, the money moves from the depositor's side of
    the outside world into the project's budget (less the platform's fee) in one posting; rejected, nothing
    moves. Of two decisions at once the second sees the first: 409 `already_decided`. Nobody decides their own."""
    from incentives.payouts import may_decide

    row = session.get(Deposit, deposit_id, with_for_update=True)
    may_decide(row, admin, "deposit")
    return _decide(session, row, confirm, now, admin.id, note)


def settle_deposit(session: Session, deposit_id: int, amount: int, paid: bool, now: dt.datetime,
                   note: str) -> tuple[Deposit, bool]:
    """A payment provider's word on a deposit (incentives/providers.py): paid confirms it, failed rejects it,
    exactly as an administrator's decision would (`decided_by` None: nobody). The amount paid must be the amount
    asked for (409 `amount_mismatch`). A deposit that already has this outcome is left as it is (a provider's
    retry, or an administrator who decided first): the second value says whether this call decided it; the other
    outcome is 409 `already_decided`. Locked as `decide_deposit` locks it, so of the two at once one decides."""
    row = session.get(Deposit, deposit_id, with_for_update=True)
    if row is None:
        raise NotFound("No such deposit.")
    if amount != row.amount:
        raise AmountMismatch(f"Deposit {row.id} asked for {row.amount} minor units; the notification says "
                             f"{amount} were paid. Nothing was changed.", expected=row.amount, notified=amount)
    if row.status == ("confirmed" if paid else "rejected"):
        return row, False
    if row.status != "pending":
        raise AlreadyDecided(f"This deposit was already {row.status}.")
    return _decide(session, row, paid, now, None, note), True


def _decide(session: Session, row: Deposit, confirm: bool, now: dt.datetime, decided_by: int | None,
            note: str) -> Deposit:
    """The one way a pending deposit is decided: confirmed, posted to the budget; rejected, nothing posted."""
    if confirm:
        row.transaction_id = _post_deposit(session, row, now).id
    row.status, row.decided_by, row.decided_at, row.note = ("confirmed" if confirm else "rejected"), decided_by, now, note
    session.flush()
    return row


def fee_for(row: Deposit) -> int:
    return fee_of(row.amount, row.fee_bps)


def _post_deposit(session: Session, row: Deposit, now: dt.datetime) -> LedgerTransaction:
    """Money from the depositor's side of the outside world into the project's budget, once per deposit; with a
    fee rate, the platform's fee goes to platform fees and the rest to the budget (the details say both).

    The outside world has one account per counterparty, so no one's deposits can push a shared account to the
    ledger's limit and stop everyone else's."""
    world = ledger.account(session, "outside_world", user_id=row.user_id)
    fee = fee_for(row)
    budget = ledger.account(session, "project_budget", project_id=row.project_id)
    legs = [Leg(world, -row.amount), Leg(budget, row.amount - fee)]
    if fee:
        legs.append(Leg(ledger.account(session, "platform_fees"), fee))
    return ledger.post(session, f"deposit:{row.id}", "deposit", legs, now,
                       memo=f"deposit {row.id} to project {row.project_id}" + (f" ({fee} platform fee)" if fee else ""),
                       details={"by_user": row.user_id, "deposit_id": row.id, "amount": row.amount, "fee": fee,
                                "fee_bps": row.fee_bps},
                       project_id=row.project_id)


def deposits_listed(status: str | None = None, project_id: int | None = None) -> Select:
    """Deposits, newest first, by status and project."""
    query = select(Deposit).order_by(Deposit.id.desc())
    if status is not None:
        query = query.where(Deposit.status == status)
    if project_id is not None:
        query = query.where(Deposit.project_id == project_id)
    return query


def _check_limits(session: Session, user: User, amount: int, now: dt.datetime, limits: DepositLimits) -> None:
    if amount > limits.per_deposit:
        raise InvalidInput({"amount": [f"One deposit is at most {limits.per_deposit} minor units."]})
    today = int(session.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(
        Deposit.user_id == user.id, Deposit.status.in_(("pending", "confirmed")),
        Deposit.created_at > now - dt.timedelta(days=1))))
    if today + amount > limits.per_day:
        raise InvalidInput({"amount": [f"You can deposit at most {limits.per_day} minor units in 24 hours; "
                                       f"{max(limits.per_day - today, 0)} are left."]})


def budget(session: Session, project: Project) -> dict[str, Any]:
    """balance: not yet committed to work; reserved: what live leases could cost; spent: credited to contributors."""
    balances = dict(session.execute(select(Account.kind, Account.balance).where(
        Account.project_id == project.id, Account.kind.in_(("project_budget", "project_reserve")))).all())
    spent = session.scalar(ledger.entry_sums(kinds=ledger.EARNED_INTO,
                                             where=(LedgerTransaction.project_id == project.id,
                                                    LedgerTransaction.kind.not_in(NOT_FROM_BUDGET))))
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


def earned_by_annotation(session: Session, project_id: int, after: int, last: int) -> dict[int, int]:
    """What each answer to the project's tasks with ids in (after, last] earned, net, in minor units: its credit,
    settlement and any clawback, as the wallets saw them (the exports' `credits`)."""
    answers = select(Annotation.id).where(Annotation.project_id == project_id, Annotation.task_id > after,
                                          Annotation.task_id <= last)
    return {annotation_id: int(total) for annotation_id, total in session.execute(ledger.entry_sums(
        LedgerTransaction.annotation_id, kinds=ledger.EARNED_INTO,
        where=(LedgerTransaction.annotation_id.in_(answers),)))}


def task_ledger(session: Session, project_id: int, task_id: int) -> list[dict[str, Any]]:
    """Every ledger transaction a task caused (reservations, credits, settlements, reversals), oldest first, each
    with its legs: the account's kind and holder and the signed amount. Two statements whatever the count."""
    transactions = session.execute(
        select(LedgerTransaction.id, LedgerTransaction.kind, LedgerTransaction.memo, LedgerTransaction.annotation_id,
               LedgerTransaction.details, LedgerTransaction.reverses_id, LedgerTransaction.created_at)
        .where(LedgerTransaction.project_id == project_id, LedgerTransaction.task_id == task_id)
        .order_by(LedgerTransaction.id)).mappings().all()
    found = {row["id"]: {**row, "lines": []} for row in transactions}
    if found:
        for row in session.execute(
                select(Entry.transaction_id, Entry.amount, Account.kind, Account.user_id)
                .join(Account, Account.id == Entry.account_id)
                .where(Entry.transaction_id.in_(list(found))).order_by(Entry.id)).mappings():
            found[row["transaction_id"]]["lines"].append(
                {"account": row["kind"], "user_id": row["user_id"], "amount": row["amount"]})
    return list(found.values())
