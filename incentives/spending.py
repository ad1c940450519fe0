"""What an owner's projects did with their money, from the ledger: deposited, the platform's fees, paid to
contributors (settled or waiting for their task), reserved by live leases, left in the budget; and deposits
still waiting for an administrator. Reads only; a page costs the same few statements however many projects it has.

Every confirmed deposit's money is somewhere, so for each project
    deposited = fees + spent + reserved + balance        (spent = settled + awaiting_settlement)
holds to the minor unit: a project's transactions move money only between these accounts (a deposit from the
outside world into the budget and platform fees; reservations, credits, settlements, releases and clawbacks
between the budget, the reserve and contributors' wallets).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives import budgets, ledger
from incentives.models import Account, Deposit, LedgerTransaction
from tasks.models import Project

# The figure each account's entries in a project's transactions make (outside_world's are negative: money in).
FIGURES = {"outside_world": "deposited", "platform_fees": "fees", "project_budget": "balance",
           "project_reserve": "reserved", "wallet_available": "settled", "wallet_pending": "awaiting_settlement"}
NAMES = (*FIGURES.values(), "spent", "awaiting_confirmation")


def owned_page(session: Session, user: User, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's own projects, newest first, each with its figures; and how many they own."""
    mine = select(Project.id, Project.name).where(Project.owner_id == user.id)
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    shown = session.execute(mine.order_by(Project.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    found = figures(session, [row.id for row in shown])
    return [{"project_id": row.id, "project_name": row.name, **found[row.id]} for row in shown], total


def figures(session: Session, project_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each project's figures (NAMES, minor units); zeros for a project no money has touched."""
    found = {project_id: dict.fromkeys(NAMES, 0) for project_id in project_ids}
    for project_id, kind, total in session.execute(ledger.entry_sums(
            LedgerTransaction.project_id, Account.kind, kinds=tuple(FIGURES),
            where=(LedgerTransaction.project_id.in_(project_ids),
                   LedgerTransaction.kind.not_in(budgets.NOT_FROM_BUDGET)))):
        _put(found[project_id], kind, total)
    for project_id, total in session.execute(select(Deposit.project_id, func.sum(Deposit.amount)).where(
            _waiting(Deposit.project_id.in_(project_ids))).group_by(Deposit.project_id)):
        found[project_id]["awaiting_confirmation"] = int(total)
    return {project_id: _with_spent(row) for project_id, row in found.items()}


def totals(session: Session, user: User) -> dict[str, int]:
    """The figures summed over every project the user owns."""
    mine = select(Project.id).where(Project.owner_id == user.id)
    found = dict.fromkeys(NAMES, 0)
    for kind, total in session.execute(ledger.entry_sums(Account.kind, kinds=tuple(FIGURES),
                                                         where=(LedgerTransaction.project_id.in_(mine),
                                                                LedgerTransaction.kind.not_in(budgets.NOT_FROM_BUDGET)))):
        _put(found, kind, total)
    found["awaiting_confirmation"] = int(session.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(
        _waiting(Deposit.project_id.in_(mine)))))
    return _with_spent(found)


def _waiting(where: ColumnElement) -> ColumnElement:
    """Deposits an administrator has not yet decided, of these projects."""
    return and_(Deposit.status == "pending", where)


def _put(row: dict[str, int], kind: str, total: int) -> None:
    # Money leaving the outside world is negative on its side: a deposit of 100 is -100 there.
    row[FIGURES[kind]] = int(-total if kind == "outside_world" else total)


def _with_spent(row: dict[str, int]) -> dict[str, int]:
    return {**row, "spent": row["settled"] + row["awaiting_settlement"]}
