"""Payouts: a contributor asks for up to their available balance, an admin approves or rejects. Flushes, never
commits.

The request moves the money from the contributor's available wallet to payouts in flight at once, under the
wallet's row lock, so concurrent requests can never take more than the balance together. Approval sends it
to the outside world; rejection reverses the request, returning it. Nobody decides their own payout.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from annotator.errors import AboveBalance, AlreadyDecided, InsufficientFunds, NotFound, PermissionDenied
from annotator.users.models import User
from incentives import ledger
from incentives.ledger import Leg
from incentives.models import Account, Payout

STATUSES = ("pending", "approved", "rejected")


def request(session: Session, user: User, amount: int, key: str, now: dt.datetime) -> Payout:
    """A pending payout of `amount` from the user's available balance, once per `key` (a retry returns it)."""
    ledger.check_amount(amount)
    available = ledger.account(session, "wallet_available", user_id=user.id)
    in_flight = ledger.account(session, "payouts_in_flight", user_id=user.id)
    try:
        posted = ledger.post(session, f"payout:{user.id}:{key}", "payout_request",
                             [Leg(available, -amount), Leg(in_flight, amount)], now,
                             memo=f"payout of {amount} requested", details={"amount": amount})
    except InsufficientFunds as refused:
        balance = int(refused.extra["balance"])
        raise AboveBalance({"amount": [f"Your available balance is {balance / 100:.2f} {ledger.currency()} "
                                       f"({balance} minor units); ask for at most that."]},
                           "You asked for more than your available balance.", balance=balance) from None
    found = session.scalar(select(Payout).where(Payout.requested_by_transaction_id == posted.id))
    if found is not None:
        return found
    payout = Payout(user_id=user.id, amount=amount, currency=available.currency, status="pending",
                    requested_by_transaction_id=posted.id, note="", created_at=now)
    session.add(payout)
    session.flush()
    return payout


def may_decide(row: Payout | None, admin: User, noun: str) -> None:
    """A payout or a deposit waiting for an administrator (`row`, locked): its owner is told no (403), anyone
    else learns nothing (404); nobody decides their own; a decided one is 409 `already_decided`."""
    if row is None or not (admin.is_admin or row.user_id == admin.id):
        raise NotFound(f"No such {noun}.")  # others' money is not theirs to know about
    if not admin.is_admin:
        raise PermissionDenied(f"Only an administrator may decide a {noun}.")
    if row.user_id == admin.id:
        raise PermissionDenied(f"You cannot decide your own {noun}; another administrator must.")
    if row.status != "pending":
        raise AlreadyDecided(f"This {noun} was already {row.status}.")


def decide(session: Session, payout_id: int, admin: User, approve: bool, now: dt.datetime, note: str = "") -> Payout:
    """An admin's decision: approved money leaves to the outside world, rejected money returns to available."""
    payout = session.get(Payout, payout_id, with_for_update=True)  # of two decisions at once, the second sees the first
    may_decide(payout, admin, "payout")
    if approve:
        in_flight = ledger.account(session, "payouts_in_flight", user_id=payout.user_id, currency=payout.currency)
        world = ledger.account(session, "outside_world", user_id=payout.user_id, currency=payout.currency)
        posted = ledger.post(session, f"payout-approve:{payout.id}", "payout", [Leg(in_flight, -payout.amount),
                                                                                Leg(world, payout.amount)], now,
                             memo=f"payout {payout.id} of {payout.amount} paid", details={"payout": payout.id})
    else:
        posted = ledger.reverse(session, payout.requested_by_transaction_id, f"payout-reject:{payout.id}", now,
                                memo=f"payout {payout.id} rejected: {payout.amount} returned"
                                     + (f" ({note})" if note else ""))
    payout.status = "approved" if approve else "rejected"
    payout.decided_by_transaction_id = posted.id
    payout.decided_by = admin.id
    payout.decided_at = now
    payout.note = note[:500]
    session.flush()
    return payout


def listed(user: User | None = None, status: str | None = None) -> Select:
    """Payouts, newest first: one user's, or everyone's (for admins), optionally of one status."""
    statement = select(Payout).order_by(Payout.id.desc())
    if user is not None:
        statement = statement.where(Payout.user_id == user.id)
    if status is not None:
        statement = statement.where(Payout.status == status)
    return statement


def verify(session: Session) -> list[str]:
    """Each contributor's payouts in flight hold exactly their pending payouts; decisions match their postings."""
    breaches = []
    waiting = dict(session.execute(select(Payout.user_id, func.sum(Payout.amount)).where(
        Payout.status == "pending").group_by(Payout.user_id)).all())
    for user_id, held in session.execute(select(Account.user_id, Account.balance).where(
            Account.kind == "payouts_in_flight")):
        if int(waiting.get(user_id, 0)) != held:
            breaches.append(f"user {user_id} has {held} in flight but {int(waiting.get(user_id, 0))} in pending payouts")
    undecided = session.scalars(select(Payout.id).where(Payout.status != "pending",
                                                        Payout.decided_by_transaction_id.is_(None))).all()
    breaches += [f"payout {p} is decided but names no posting" for p in undecided]
    return breaches
