"""Money: project budgets (deposits) and contributors' wallets."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, request
from flask_login import current_user
from marshmallow import Schema, fields
from sqlalchemy import func, select

from annotator.api import idempotency
from annotator.api.core import Page, route
from annotator.api.fields import In, Money, PageQuery
from annotator.db import utcnow
from annotator.errors import NotFound, PermissionDenied
from annotator.web import OrjsonProvider, db_session
from incentives import budgets, ledger
from tasks import projects

bp = Blueprint("incentives_api", __name__)
TAG = "incentives"


class DepositIn(In):
    amount = Money(required=True, minimum=1, maximum=ledger.MAX_AMOUNT,
                   metadata={"description": "minor units (fen, cents): a whole number"})


class DepositOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    amount = fields.Integer()
    balance = fields.Integer(metadata={"description": "the budget's balance after the deposit"})
    created_at = fields.AwareDateTime()


class BudgetOut(Schema):
    currency = fields.String()
    balance = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()


class WalletOut(Schema):
    currency = fields.String()
    balance = fields.Integer(metadata={"description": "available: settled and payable"})
    pending = fields.Integer(metadata={"description": "credited, waiting for the task's consensus"})
    in_flight = fields.Integer(metadata={"description": "requested payouts awaiting approval"})
    lifetime_earned = fields.Integer()


class WalletEntryOut(Schema):
    id = fields.Integer()
    amount = fields.Integer()
    account = fields.String(metadata={"description": "wallet_pending, wallet_available or payouts_in_flight"})
    kind = fields.String()
    memo = fields.String()
    project_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    details = fields.Dict(metadata={"description": "the rule version and the numbers behind the amount"})
    created_at = fields.AwareDateTime()


@route(bp, "/projects/<int:project_id>/budget/deposits", methods=["POST"], body=DepositIn, response=DepositOut,
       status=201, idempotent=True, summary="Fund the project (owner); an Idempotency-Key repeat deposits once",
       tag=TAG)
def deposit(project_id: int, payload: dict):
    db = db_session()
    try:
        project = projects.access(db, project_id, current_user, need="owner").project
    except PermissionDenied:
        raise NotFound("No such project.") from None  # only its owner may learn the budget exists
    key = request.headers.get(idempotency.HEADER) or uuid.uuid4().hex
    posted = budgets.deposit(db, project, current_user, payload["amount"], f"{current_user.id}:{key}", utcnow())
    body = DepositOut().dump({"id": posted.id, "project_id": project.id, "amount": payload["amount"],
                              "balance": budgets.budget(db, project)["balance"], "created_at": posted.created_at})
    idempotency.remember(201, body)
    db.commit()
    return Response(OrjsonProvider.dumps_bytes(body), status=201, mimetype="application/json")


@route(bp, "/projects/<int:project_id>/budget", methods=["GET"], response=BudgetOut,
       summary="The project's budget: balance, reserved by live leases, spent (owner or manager)", tag=TAG)
def get_budget(project_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    return budgets.budget(db, project)


@route(bp, "/wallet", methods=["GET"], response=WalletOut, summary="Your balances", tag=TAG)
def get_wallet():
    return budgets.wallet(db_session(), current_user)


@route(bp, "/wallet/entries", methods=["GET"], query=PageQuery, response=WalletEntryOut, paged=True,
       summary="Your ledger lines, newest first, each with why", tag=TAG)
def wallet_entries(args: dict) -> Page:
    db = db_session()
    statement = budgets.wallet_entries(current_user)
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = db.execute(statement.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).mappings()
    return Page([dict(row) for row in rows], args["page"], args["per_page"], total)
