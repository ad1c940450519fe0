"""Your wallet: balances, your lines one by one or grouped by task (with project and item, filtered by project and
kind, with totals), and the spending of the projects you own."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from annotator.api.core import Page, route
from annotator.api.fields import PageQuery
from annotator.web import db_session
from incentives import budgets, ledger, spending, wallets

bp = Blueprint("wallet_api", __name__)
TAG = "incentives"


class Kinds(fields.String):
    """One or more of the ledger's kinds that reach a wallet, separated by commas ("credit,bonus")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        named = [part.strip() for part in super()._deserialize(value, attr, data, **kwargs).split(",")]
        unknown = [part for part in named if part not in wallets.LINE_KINDS]
        if unknown:
            raise ValidationError(f"Unknown kind {unknown[0]!r}: use one or more of {', '.join(wallets.LINE_KINDS)}, "
                                  "separated by commas.")
        return tuple(dict.fromkeys(named))


class WalletQuery(PageQuery):
    project_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "only this project's lines (payouts belong to no project); one you have no lines in: none"})
    kind = Kinds(load_default=(), metadata={"description": "only lines of these kinds, comma-separated: "
                                                           + ", ".join(wallets.LINE_KINDS)})


def _filter(args: dict) -> wallets.LineFilter:
    return wallets.LineFilter(args["project_id"], args["kind"])


class WalletOut(Schema):
    currency = fields.String()
    balance = fields.Integer(metadata={"description": "available: settled and payable"})
    pending = fields.Integer(metadata={"description": "credited, waiting for the task's consensus"})
    in_flight = fields.Integer(metadata={"description": "requested payouts awaiting approval"})
    lifetime_earned = fields.Integer()


class WalletEntryOut(Schema):
    id = fields.Integer()
    transaction_id = fields.Integer(metadata={"description": "lines of one transaction (a settlement's legs) share it"})
    amount = fields.Integer()
    account = fields.String(metadata={"description": "wallet_pending, wallet_available or payouts_in_flight"})
    kind = fields.String(metadata={"description": "the ledger's kind: " + ", ".join(wallets.LINE_KINDS)})
    memo = fields.String()
    project_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    annotation_id = fields.Integer(allow_none=True, metadata={"description": "the answer it pays, takes back or "
                                                                             "restores"})
    review_lease_id = fields.Integer(allow_none=True, metadata={"description": "the review lease a reviewer's pay "
                                                                               "is for"})
    details = fields.Dict(metadata={"description": "the rule version and the numbers behind the amount"})
    created_at = fields.AwareDateTime()


class AccountSums(Schema):
    wallet_pending = fields.Integer()
    wallet_available = fields.Integer()
    payouts_in_flight = fields.Integer()
    net = fields.Integer(metadata={"description": "the three together: what the lines changed your money by"})


class ItemOut(Schema):
    id = fields.Integer()
    external_id = fields.String(allow_none=True)
    preview = fields.String(metadata={"description": "the image's file name or the text's first words"})


class WalletGroupOut(Schema):
    key = fields.String(metadata={"description": "task:<id>, or transaction:<id> for a line with no task"})
    project_id = fields.Integer(allow_none=True)
    project_name = fields.String(allow_none=True)
    task = fields.Nested(ItemOut, allow_none=True, metadata={"description": "the item; null for a payout"})
    kinds = fields.List(fields.String(), metadata={"description": "the ledger kinds of its lines, oldest first"})
    amounts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "net per account: wallet_pending, wallet_available, payouts_in_flight"})
    net = fields.Integer(metadata={"description": "what the group changed your money by"})
    first_at = fields.AwareDateTime()
    last_at = fields.AwareDateTime()
    lines = fields.List(fields.Nested(WalletEntryOut), metadata={"description": "newest first"})


class ProjectName(Schema):
    id = fields.Integer()
    name = fields.String()


class WalletGroupsOut(Schema):
    items = fields.List(fields.Nested(WalletGroupOut))
    page, per_page = fields.Integer(), fields.Integer()
    total = fields.Integer(metadata={"description": "groups the filter has"})
    totals = fields.Nested(AccountSums, metadata={"description": "every line the filter has, on every page"})
    currency = fields.String()
    projects = fields.List(fields.Nested(ProjectName), metadata={
        "description": "the projects your wallet has lines from (to filter by)"})


class SpendingFigures(Schema):
    deposited = fields.Integer(metadata={"description": "confirmed deposits, before fees"})
    fees = fields.Integer(metadata={"description": "the platform's fees on them"})
    spent = fields.Integer(metadata={"description": "paid to contributors, net of what reviewers took back"})
    settled = fields.Integer(metadata={"description": "of spent: settled (available to them)"})
    awaiting_settlement = fields.Integer(metadata={"description": "of spent: base pay waiting for its task"})
    reserved = fields.Integer(metadata={"description": "held for live leases"})
    balance = fields.Integer(metadata={"description": "left in the budget: deposited - fees - spent - reserved"})
    awaiting_confirmation = fields.Integer(metadata={"description": "deposits waiting for an administrator"})


class ProjectSpendingOut(SpendingFigures):
    project_id = fields.Integer()
    project_name = fields.String()


class SpendingOut(Schema):
    items = fields.List(fields.Nested(ProjectSpendingOut))
    page, per_page, total = fields.Integer(), fields.Integer(), fields.Integer()
    totals = fields.Nested(SpendingFigures, metadata={"description": "over every project you own"})
    currency = fields.String()


@route(bp, "/wallet", methods=["GET"], response=WalletOut, summary="Your balances", tag=TAG)
def get_wallet():
    return budgets.wallet(db_session(), current_user)


@route(bp, "/wallet/entries", methods=["GET"], query=WalletQuery, response=WalletEntryOut, paged=True,
       summary="Your ledger lines, newest first, each with why (by project and kind)", tag=TAG)
def wallet_entries(args: dict) -> Page:
    rows, total = wallets.entries_page(db_session(), current_user, _filter(args), args["page"], args["per_page"])
    return Page(rows, args["page"], args["per_page"], total)


@route(bp, "/wallet/tasks", methods=["GET"], query=WalletQuery, response=WalletGroupsOut,
       summary="Your ledger lines grouped by task (a payout alone), the latest first, with the project, the item, "
               "the net per account, and the filter's totals", tag=TAG)
def wallet_groups(args: dict) -> dict:
    page = wallets.grouped_page(db_session(), current_user, _filter(args), args["page"], args["per_page"])
    return {"items": page.items, "page": args["page"], "per_page": args["per_page"], "total": page.total,
            "totals": page.totals, "currency": ledger.currency(), "projects": page.projects}


@route(bp, "/wallet/spending", methods=["GET"], query=PageQuery, response=SpendingOut,
       summary="What each project you own did with its money, from the ledger, newest project first; totals over "
               "all of them", tag=TAG)
def wallet_spending(args: dict) -> dict:
    db = db_session()
    items, total = spending.owned_page(db, current_user, args["page"], args["per_page"])
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total,
            "totals": spending.totals(db, current_user), "currency": ledger.currency()}
