"""A contributor's wallet as people read it: its lines (entries on their pending and available wallets and payouts
in flight) one by one, or grouped by the task whose answer moved them (a payout, which has no task, is a group
of its own), with the project and the item, net per account, and totals for the filter. Reads only; a page
costs the same few statements however many rows it has.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from annotator.users.models import User
from incentives.models import Account, Entry, LedgerTransaction
from tasks.models import Project, Task
from tasks.previews import preview

ACCOUNTS = ("wallet_pending", "wallet_available", "payouts_in_flight")  # a contributor's side of the ledger
# The ledger's transaction kinds that move a contributor's money: an answer's base pay, its task's settlement
# (base and bonus), a reviewer's rejection taking it back, a payout asked for, sent, or rejected (a reversal; an
# overturned rejection's pay given back is one too), a reviewer's pay for a review, a dataset release's revenue.
LINE_KINDS = ("credit", "bonus", "clawback", "payout_request", "payout", "reversal", "review_pay", "revenue")


@dataclass(frozen=True)
class LineFilter:
    """Which of a contributor's lines: `project_id` (None: every project; a payout belongs to none, so a project
    leaves it out) and `kinds` (ledger kinds from LINE_KINDS; empty: all)."""

    project_id: int | None = None
    kinds: tuple[str, ...] = ()

    def where(self, user: User) -> tuple[ColumnElement, ...]:
        """The conditions over Entry, its Account and its LedgerTransaction."""
        chosen = [Account.user_id == user.id, Account.kind.in_(ACCOUNTS)]
        if self.project_id is not None:
            chosen.append(LedgerTransaction.project_id == self.project_id)
        if self.kinds:
            chosen.append(LedgerTransaction.kind.in_(self.kinds))
        return tuple(chosen)


@dataclass(frozen=True)
class Grouped:
    """A page of groups (dicts, newest activity first), how many groups the filter has, what its lines add up to
    per account, and the projects the contributor's wallet has lines from ({id, name}, for choosing one)."""

    items: list[dict[str, Any]]
    total: int
    totals: dict[str, int]
    projects: list[dict[str, Any]] = field(default_factory=list)


def _joined(*columns: Any) -> Select:
    return (select(*columns).select_from(Entry).join(Account, Account.id == Entry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == Entry.transaction_id))


def lines(user: User, chosen: LineFilter = LineFilter()) -> Select:
    """The user's wallet lines, newest first: each entry with its transaction's memo, project, task and reasons."""
    return (_joined(Entry.id, Entry.transaction_id, Entry.amount, Account.kind.label("account"), LedgerTransaction.kind,
                    LedgerTransaction.memo, LedgerTransaction.project_id, LedgerTransaction.task_id,
                    LedgerTransaction.annotation_id, LedgerTransaction.review_lease_id,
                    LedgerTransaction.details, LedgerTransaction.created_at)
            .where(*chosen.where(user)).order_by(Entry.id.desc()))


def entries_page(session: Session, user: User, chosen: LineFilter, page: int,
                 per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's wallet lines and how many the filter has in all."""
    statement = lines(user, chosen)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).mappings()
    return [dict(row) for row in rows], total


def grouped_page(session: Session, user: User, chosen: LineFilter, page: int, per_page: int) -> Grouped:
    """One page of the user's lines grouped by task (a line without a task, such as a payout's, alone by its
    transaction), the group whose latest line is newest first. Six statements whatever the page's size."""
    keyed = _joined(Entry.id.label("entry_id"), LedgerTransaction.project_id, LedgerTransaction.task_id,
                    case((LedgerTransaction.task_id.is_(None), LedgerTransaction.id)).label("alone")
                    ).where(*chosen.where(user)).subquery()
    groups = (select(keyed.c.task_id, keyed.c.alone, func.max(keyed.c.entry_id).label("last"))
              .group_by(keyed.c.project_id, keyed.c.task_id, keyed.c.alone))
    total = session.scalar(select(func.count()).select_from(groups.subquery())) or 0
    shown = session.execute(groups.order_by(func.max(keyed.c.entry_id).desc())
                            .limit(per_page).offset((page - 1) * per_page)).all()
    task_ids = [row.task_id for row in shown if row.task_id is not None]
    alone = [row.alone for row in shown if row.task_id is None]
    found = session.execute(lines(user, chosen).where(or_(
        LedgerTransaction.task_id.in_(task_ids),
        and_(LedgerTransaction.task_id.is_(None), LedgerTransaction.id.in_(alone))))).mappings().all()
    items = _tasks(session, task_ids)
    projects = projects_of(session, user)
    by_key: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for line in found:
        by_key[_key(line)].append(dict(line))
    names = {p["id"]: p["name"] for p in projects}
    groups_shown = [_group(key, by_key[key], items, names) for key in
                    (("task", row.task_id) if row.task_id is not None else ("transaction", row.alone) for row in shown)]
    return Grouped(groups_shown, total, totals(session, user, chosen), projects)


def _key(line: Any) -> tuple[str, int]:
    return ("task", line["task_id"]) if line["task_id"] is not None else ("transaction", line["transaction_id"])


def _group(key: tuple[str, int], found: list[dict[str, Any]], items: dict[int, dict[str, Any]],
           names: dict[int, str]) -> dict[str, Any]:
    """One row: its lines (newest first), their net per account and in all, the kinds in the order they happened."""
    amounts = dict.fromkeys(ACCOUNTS, 0)
    for line in found:
        amounts[line["account"]] += line["amount"]
    kinds = list(dict.fromkeys(line["kind"] for line in reversed(found)))
    project_id = found[0]["project_id"] if found else None
    times: list[dt.datetime] = [line["created_at"] for line in found]
    return {"key": f"{key[0]}:{key[1]}", "project_id": project_id, "project_name": names.get(project_id),
            "task": items.get(key[1], {"id": key[1], "external_id": None, "preview": ""}) if key[0] == "task" else None,
            "kinds": kinds, "amounts": amounts, "net": sum(amounts.values()),
            "first_at": min(times, default=None), "last_at": max(times, default=None), "lines": found}


def _tasks(session: Session, task_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The tasks' items by id: external id and a preview of the data (a task since removed is absent)."""
    if not task_ids:
        return {}
    return {row.id: {"id": row.id, "external_id": row.external_id, "preview": preview(row.data)}
            for row in session.execute(select(Task.id, Task.external_id, Task.data).where(Task.id.in_(task_ids)))}


def projects_of(session: Session, user: User) -> list[dict[str, Any]]:
    """The projects the user's wallet has lines from, by name: the contributor worked there, so they may read the
    name even if they have since left a private project."""
    earned_in = _joined(LedgerTransaction.project_id).where(*LineFilter().where(user),
                                                            LedgerTransaction.project_id.is_not(None)).distinct()
    return [{"id": row.id, "name": row.name} for row in session.execute(
        select(Project.id, Project.name).where(Project.id.in_(earned_in.scalar_subquery())).order_by(Project.name,
                                                                                                      Project.id))]


def totals(session: Session, user: User, chosen: LineFilter) -> dict[str, int]:
    """What the filter's lines add up to on each account, and in all (`net`). Unfiltered, each account's total is
    its balance."""
    sums = dict.fromkeys(ACCOUNTS, 0)
    for kind, amount in session.execute(_joined(Account.kind, func.coalesce(func.sum(Entry.amount), 0))
                                        .where(*chosen.where(user)).group_by(Account.kind)):
        sums[kind] = int(amount)
    return {**sums, "net": sum(sums.values())}
