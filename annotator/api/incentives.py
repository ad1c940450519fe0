"""Money: project budgets (deposits), contributors' payouts, leaderboards, the ledger's check (wallets: wallet.py)."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, request
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import Select

from annotator import audit, ratelimit
from annotator.api import idempotency
from annotator.api.core import Page, paginate, route
from annotator.api.fields import In, Money, PageQuery, SafeString
from annotator.errors import NotFound, PermissionDenied
from annotator.users.models import User
from annotator.web import db_session, request_now
from annotator.workflows import quality
from annotator.api.fields import Ratio, StrictInteger
from annotator.workflows import simulations
from incentives import budgets, checks, ledger, leaderboard, mechanisms, payouts, replay, simulate
from tasks import projects
from tasks.models import Project

bp = Blueprint("incentives_api", __name__)
TAG = "incentives"


class DepositIn(In):
    amount = Money(required=True, minimum=1, maximum=ledger.MAX_AMOUNT,
                   metadata={"description": "minor units (fen, cents): a whole number"})


class DepositOut(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    project_name = fields.Function(lambda row: _project_name(row.project_id))
    user_id = fields.Integer()
    user = fields.Function(lambda row: _user_of(row), metadata={"description": "{id, email, display_name}"})
    amount = fields.Integer()
    fee = fields.Function(lambda row: budgets.fee_for(row), metadata={
        "description": "the platform's fee taken when it is confirmed (ANNOTATOR_PLATFORM_FEE_BPS when asked)"})
    status = fields.String(metadata={"description": "pending until an administrator confirms or rejects it"})
    note = fields.String()
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class DecisionIn(In):
    note = SafeString(max_length=500, min_length=0, multiline=True, load_default="")


def _project_name(project_id: int) -> str:
    project = db_session().get(Project, project_id)
    return project.name if project is not None else ""


class DepositQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending", "confirmed", "rejected")))


class BudgetOut(Schema):
    currency = fields.String()
    balance = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()


@route(bp, "/projects/<int:project_id>/budget/deposits", methods=["POST"], body=DepositIn, response=DepositOut,
       status=201, idempotent=True, summary="Ask to fund the project (owner): pending until an administrator "
                                            "confirms it; an Idempotency-Key repeat asks once", tag=TAG)
def deposit(project_id: int, payload: dict):
    ratelimit.limit("deposits", str(current_user.id))
    db, now = db_session(), request_now()
    try:
        project = projects.access(db, project_id, current_user, need="owner").project
    except PermissionDenied:
        raise NotFound("No such project.") from None  # only its owner may learn the budget exists
    key = request.headers.get(idempotency.HEADER) or uuid.uuid4().hex
    made = budgets.request_deposit(db, project, current_user, payload["amount"], key, now,
                                   fee_bps=int(current_app.config["ANNOTATOR_PLATFORM_FEE_BPS"]),
                                   limits=budgets.DepositLimits(int(current_app.config["ANNOTATOR_MAX_DEPOSIT"]),
                                                                int(current_app.config["ANNOTATOR_MAX_DEPOSITS_PER_DAY"])))
    audit.record(db, current_user.id, "budget_deposit", now, project_id=project.id, target="deposit",
                 target_id=made.id, amount=payload["amount"], fee=budgets.fee_for(made))
    return made


@route(bp, "/projects/<int:project_id>/budget/deposits", methods=["GET"], query=DepositQuery, response=DepositOut,
       paged=True, summary="The project's deposits, newest first (owner)", tag=TAG)
def project_deposits(project_id: int, args: dict) -> Page:
    db = db_session()
    try:
        project = projects.access(db, project_id, current_user, need="owner").project
    except PermissionDenied:
        raise NotFound("No such project.") from None
    return _paged(budgets.deposits_listed(args.get("status"), project.id), args)


@route(bp, "/admin/deposits", methods=["GET"], query=DepositQuery, response=DepositOut, paged=True,
       summary="Everyone's deposits, newest first (administrators)", tag=TAG)
def all_deposits(args: dict) -> Page:
    _require_admin()
    return _paged(budgets.deposits_listed(args.get("status")), args)


def _decided(noun: str, row_id: int, payload: dict, yes: bool):
    """An administrator's decision on a payout or a deposit, audit-logged and committed."""
    db, now = db_session(), request_now()
    decide = {"payout": payouts.decide, "deposit": budgets.decide_deposit}[noun]
    row = decide(db, row_id, current_user, yes, now, payload["note"])
    verb = {("payout", True): "approved", ("payout", False): "rejected", ("deposit", True): "confirmed",
            ("deposit", False): "rejected"}[noun, yes]
    audit.record(db, current_user.id, f"{noun}_{verb}", now, project_id=getattr(row, "project_id", None),
                 target=noun, target_id=row_id, amount=row.amount)
    db.commit()
    return row


@route(bp, "/deposits/<int:deposit_id>/confirm", methods=["POST"], body=DecisionIn, response=DepositOut,
       summary="The money arrived: post it to the project's budget (administrators; never your own)", tag=TAG)
def confirm_deposit(deposit_id: int, payload: dict):
    return _decided("deposit", deposit_id, payload, True)


@route(bp, "/deposits/<int:deposit_id>/reject", methods=["POST"], body=DecisionIn, response=DepositOut,
       summary="The money did not arrive: nothing is posted (administrators)", tag=TAG)
def reject_deposit(deposit_id: int, payload: dict):
    return _decided("deposit", deposit_id, payload, False)


@route(bp, "/projects/<int:project_id>/budget", methods=["GET"], response=BudgetOut,
       summary="The project's budget: balance, reserved by live leases, spent (owner or manager)", tag=TAG)
def get_budget(project_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    return budgets.budget(db, project)


class PayoutIn(In):
    amount = Money(required=True, minimum=1, maximum=ledger.MAX_AMOUNT,
                   metadata={"description": "minor units, at most your available balance"})


def _user_of(row) -> dict | None:
    """Who a payout or deposit belongs to, by name (administrators decide by name, not by id)."""
    user = db_session().get(User, row.user_id)
    return None if user is None else {"id": user.id, "email": user.email, "display_name": user.display_name}


class PayoutOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    user = fields.Function(_user_of, metadata={"description": "{id, email, display_name}"})
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(metadata={"description": "pending, approved or rejected"})
    note = fields.String()
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class PayoutQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(payouts.STATUSES))


class VerifyOut(Schema):
    ok = fields.Boolean()
    breaches = fields.List(fields.String())


class LeaderOut(Schema):
    rank = fields.Integer()
    user_id = fields.Integer()
    display_name = fields.String()
    external = fields.Boolean(metadata={"description": "an external contributor whose answers were imported (never "
                                                      "paid)"})
    accepted = fields.Integer(metadata={"description": "counted answers not rejected by a reviewer"})
    rejected = fields.Integer()
    earned = fields.Integer(metadata={"description": "settled earnings in this project, net of reversals"})
    pending = fields.Integer()
    agreement_with_consensus = fields.Float(allow_none=True)
    gold_accuracy = fields.Float(allow_none=True)
    reliability = fields.Float(allow_none=True)


def _paged(statement: Select, args: dict) -> Page:
    return paginate(db_session(), statement, args["page"], args["per_page"])


def _require_admin() -> None:
    if not current_user.is_admin:
        raise PermissionDenied("Only an administrator may do this.")


@route(bp, "/payouts", methods=["POST"], body=PayoutIn, response=PayoutOut, status=201, idempotent=True,
       summary="Ask to be paid up to your available balance (moved to payouts in flight at once); 422 "
               "above_balance when it is more", tag=TAG)
def request_payout(payload: dict):
    ratelimit.limit("payouts", str(current_user.id))
    db, now = db_session(), request_now()
    key = request.headers.get(idempotency.HEADER) or uuid.uuid4().hex
    made = payouts.request(db, current_user, payload["amount"], key, now)
    audit.record(db, current_user.id, "payout_requested", now, target="payout", target_id=made.id,
                 amount=payload["amount"])
    return made  # the route records the reply for its Idempotency-Key and commits


@route(bp, "/payouts", methods=["GET"], query=PayoutQuery, response=PayoutOut, paged=True,
       summary="Your payouts, newest first", tag=TAG)
def my_payouts(args: dict) -> Page:
    return _paged(payouts.listed(current_user, args.get("status")), args)


@route(bp, "/admin/payouts", methods=["GET"], query=PayoutQuery, response=PayoutOut, paged=True,
       summary="Everyone's payouts, newest first (administrators)", tag=TAG)
def all_payouts(args: dict) -> Page:
    _require_admin()
    return _paged(payouts.listed(None, args.get("status")), args)


@route(bp, "/payouts/<int:payout_id>/approve", methods=["POST"], body=DecisionIn, response=PayoutOut,
       summary="Pay it out (administrators; never your own)", tag=TAG)
def approve_payout(payout_id: int, payload: dict):
    return _decided("payout", payout_id, payload, True)


@route(bp, "/payouts/<int:payout_id>/reject", methods=["POST"], body=DecisionIn, response=PayoutOut,
       summary="Refuse it: the money returns to the contributor's available balance (administrators)", tag=TAG)
def reject_payout(payout_id: int, payload: dict):
    return _decided("payout", payout_id, payload, False)


@route(bp, "/admin/ledger/verify", methods=["GET"], response=VerifyOut,
       summary="Check every ledger invariant now (administrators); each breach in words", tag=TAG)
def verify_ledger():
    _require_admin()
    db = db_session()
    breaches = checks.verify_all(db)
    return {"ok": not breaches, "breaches": breaches}


@route(bp, "/projects/<int:project_id>/leaderboard", methods=["GET"], query=PageQuery, response=LeaderOut,
       paged=True, summary="The project's annotators by settled earnings, then agreement, then accepted answers "
                           "(anyone who can see the project)", tag=TAG)
def project_leaderboard(project_id: int, args: dict) -> Page:
    db = db_session()
    project = projects.visible(db, project_id, current_user)
    report, _count = quality.current_report(db, project, request_now(),
                                            on_request_limit=current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"])
    by_annotator = {row["user_id"]: row for row in (report or {}).get("per_annotator", [])}
    rows = leaderboard.leaderboard(db, project, by_annotator)  # the same snapshot as the report
    db.commit()  # sends the recomputation a stale report asked for
    start = (args["page"] - 1) * args["per_page"]
    return Page(rows[start:start + args["per_page"]], args["page"], args["per_page"], len(rows))


class MechanismOut(Schema):
    """A reward mechanism (incentives.mechanisms) as a project's settings offer it."""

    id, name, summary = fields.String(), fields.String(), fields.String()
    params = fields.Dict(metadata={"description": "each parameter's default"})
    limits = fields.Dict(metadata={"description": "each parameter's [low, high]"})
    needs_labels = fields.Boolean(metadata={"description": "needs whole-item labels, one per answer"})
    default = fields.Boolean(metadata={"description": "what a project without a choice uses"})


class MechanismsOut(Schema):
    items = fields.List(fields.Nested(MechanismOut))
    standard_crowds = fields.Dict(metadata={"description": "the study's crowds (incentives/STUDY.md): name -> "
                                                           "strategy -> agents, ready for POST /simulations"})


@route(bp, "/mechanisms", methods=["GET"], response=MechanismsOut,
       summary="The reward mechanisms a project can choose, with their parameters' defaults", tag=TAG)
def list_mechanisms():
    return {"items": [{"id": m.id, "name": m.name, "summary": m.summary,
                       "params": {name: p.default for name, p in m.params.items()},
                       "limits": {name: [p.low, p.high] for name, p in m.params.items()},
                       "needs_labels": m.needs_labels, "default": m.id == mechanisms.DEFAULT}
                      for m in mechanisms.REGISTRY.values()], "standard_crowds": simulate.STANDARD_CROWDS}


class ReplayRow(Schema):
    """One annotator of the replayed project."""

    user_id, display_name, answers = fields.Integer(), fields.String(), fields.Integer()
    external = fields.Boolean(metadata={"description": "an external contributor whose answers were imported: never "
                                                      "paid (actual 0), priced as if the project's rates had"})
    actual = fields.Integer(metadata={"description": "what the ledger paid in this project, less what was taken back"})
    by_mechanism = fields.Dict(metadata={"description": "mechanism id -> what it would have paid (minor units)"})


class ReplayOut(Schema):
    mechanisms = fields.List(fields.String())
    own = fields.String(metadata={"description": "the project's mechanism"})
    annotators = fields.List(fields.Nested(ReplayRow))


@route(bp, "/projects/<int:project_id>/incentives/replay", methods=["GET"], response=ReplayOut,
       summary="Each annotator's actual pay beside what every reward mechanism would have paid for the same "
               "settled answers, imported answers priced as if the project's rates had paid them (owner, "
               "managers); no money moves", tag=TAG)
def replay_project(project_id: int):
    db = db_session()
    seen = projects.access(db, project_id, current_user, need="manager")
    return replay.replay(db, seen.project)


class SimRewardsIn(In):
    per_annotation = Money(load_default=simulate.STUDY_RATES["per_annotation"], maximum=10**9)
    agreement_bonus = Money(load_default=simulate.STUDY_RATES["agreement_bonus"], maximum=10**9)
    mechanism = fields.String(validate=validate.OneOf(list(mechanisms.REGISTRY)), metadata={
        "description": "a mechanism whose parameters below replace its defaults"})
    mechanism_params = fields.Dict()


class DynamicIn(In):
    min_overlap = StrictInteger(required=True)
    max_overlap = StrictInteger(required=True)
    confidence_target = Ratio(required=True, minimum=0.0, maximum=1.0)


class SimulationIn(In):
    crowd = fields.Dict(required=True, metadata={"description": "strategy -> agents: " + ", ".join(simulate.STRATEGIES)})
    tasks = StrictInteger(required=True, metadata={"description": f"1 to {simulate.MAX_TASKS:,}"})
    overlap = StrictInteger(load_default=3)
    gold_ratio = Ratio(load_default=0.0, minimum=0.0, maximum=0.99)
    rewards = fields.Nested(SimRewardsIn, load_default=dict)
    project_id = StrictInteger(allow_none=True, load_default=None, metadata={
        "description": "simulate on this project's taxonomy (one you can see)"})
    seed = StrictInteger(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    dynamic_overlap = fields.Nested(DynamicIn, allow_none=True, load_default=None, metadata={
        "description": "min_overlap, max_overlap, confidence_target (default: the project's, with project_id)"})


class SimulationOut(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, completed or failed"})
    progress = fields.Float()
    params = fields.Dict()
    result = fields.Dict(allow_none=True, metadata={"description": '{"mechanisms": [{"id", "accuracy", '
                         '"cost_per_correct", "by_strategy": {strategy: {"agents", "answers", "pay_per_answer", '
                         '"total", "share"}}, "ratios"}], "answers", "tasks", "seed", "rates"}'})
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)


@route(bp, "/simulations", methods=["POST"], body=SimulationIn, response=SimulationOut, status=202,
       summary="Simulate a crowd and price its answers under every reward mechanism (run by the worker)", tag=TAG)
def start_simulation(payload: dict):
    db = db_session()
    row = simulations.start(db, current_user, payload, request_now())
    db.commit()
    return row


@route(bp, "/simulations/<int:simulation_id>", methods=["GET"], response=SimulationOut,
       summary="A simulation's status, progress and result (its creator and administrators)", tag=TAG)
def get_simulation(simulation_id: int):
    return simulations.seen(db_session(), simulation_id, current_user)
