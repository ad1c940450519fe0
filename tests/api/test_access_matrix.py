"""Who may do what: every operation of the OpenAPI document, as each of eight personas (a security requirement).

`EXPECTED` says, for every operation (`"METHOD /path"` as the OpenAPI document names it), what each persona
gets. The operations come from the OpenAPI document itself, so an endpoint nobody wrote an expectation for
fails here (its cells say so, and `test_every_operation_has_an_expectation` compares the live document with
the table), and so does an entry for an endpoint that is gone.

Personas: anonymous (no credentials); outsider (an annotator of another owner's private project); annotator,
reviewer, manager (members of the project under test with that role); owner (of it); other_owner (owns another
project); admin (an administrator who is no member). The project under test is private and paid.

Outcomes: "ok" is any 2xx; "ok/422" also lets a 422 through (a request that got past authorization and was
refused for business reasons, e.g. a payout above the balance); "401", "403", "404", "409" are exact statuses.
Entries marked "the code" record a decision taken by the code where the policy left it open.

Each persona walks the operations in a world of its own (built once, on first use). Operations that use up
what others need (an answer, skip or flag uses up the lease; signing out and changing the password touch every
session of the user) each get a fresh world, so the result of a cell never depends on the order they run in.
"""
from __future__ import annotations

import io
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import close_all_sessions

from annotator.app import create_app
from annotator.api.openapi import build_spec
from annotator.users import service
from annotator.runtime import runtime
from tasks.models import Qualification
from tests.factories import (PASSWORD, PAYMENT_PROVIDER, RATES, answer, confirm_deposits, create_text_project, fresh_app,
                             jpeg, nxt, payment_settings, run_exports, signed_notification, text_project_body, upload)

API = "/api/v1"
PERSONAS = ("anonymous", "outsider", "annotator", "reviewer", "manager", "owner", "other_owner", "admin")
SIGNED_IN = PERSONAS[1:]
OUTCOMES = {"ok", "ok/422", "401", "403", "404", "409"}
NEW_PASSWORD = "a brand new horse battery"


# ---------------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """What each persona gets from one operation, and how to make a valid request of it."""

    expect: dict[str, str]
    body: Callable[[SimpleNamespace], dict] | None = None  # the world -> keyword arguments for client.open
    params: dict[str, str] = field(default_factory=dict)   # path parameter -> world attribute (overrides PARAMS)
    fresh_world: bool = False                               # it uses up something other cells need
    refusals: dict[int, str] = field(default_factory=dict)  # an expected 409/422 -> its problem `code`


def anyone() -> dict[str, str]:
    return {persona: "ok" for persona in PERSONAS}


def signed_in(default: str = "ok", **cells: str) -> dict[str, str]:
    """Anonymous 401; every signed-in persona `default` unless named."""
    return {"anonymous": "401", **{persona: default for persona in SIGNED_IN}, **cells}


def json_body(make: Callable[[SimpleNamespace], object]) -> Callable[[SimpleNamespace], dict]:
    return lambda world: {"json": make(world)}


def provider_notification(world: SimpleNamespace) -> dict:
    """The world's deposit kept for it, paid, signed by the provider the matrix app is configured with."""
    raw, headers = signed_notification({"deposit_id": world.deposit_to_notify_id, "amount": 1, "outcome": "paid",
                                        "reference": "access matrix"})
    return {"data": raw, "content_type": "application/json",
            "environ_overrides": {"HTTP_X_PAYMENT_SIGNATURE": headers["X-Payment-Signature"]}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def image_upload(world: SimpleNamespace) -> dict:
    return {"data": {"files": [(io.BytesIO(jpeg()), "bird.jpg")]}, "content_type": "multipart/form-data"}


# Path parameters filled from the world unless an operation says otherwise.
PARAMS = {"project_id": "project_id", "assignment_id": "lease_id", "annotation_id": "annotation_id",
          "export_id": "export_id", "import_id": "import_id", "flag_id": "flag_id", "token_id": "spare_token_id",
          "user_id": "benched_id", "task_id": "answered_task_id", "simulation_id": "simulation_id",
          "invitation_id": "invitation_id", "release_id": "release_id"}

# Owner or manager; members below 403; the admin (no member) 403; strangers must not learn P exists.
MANAGERS = dict(owner="ok", manager="ok", reviewer="403", annotator="403", admin="403",
                outsider="404", other_owner="404")
# A row of P fetched by id: its owner and managers; everyone else 404.
STAFF_ROW = dict(owner="ok", manager="ok")
# Owner, manager or reviewer.
REVIEWERS = dict(owner="ok", manager="ok", reviewer="ok")
# Members of P; strangers 404.
MEMBERS = dict(outsider="404", other_owner="404")
# The annotator's live lease: theirs to use; any other who can see P is told it is not theirs.
LEASE = dict(annotator="ok", outsider="404", other_owner="404")
NOT_YOURS = {409: "not_your_assignment"}

EXPECTED: dict[str, Op] = {
    # --- open to anyone -----------------------------------------------------------------------------------------
    "GET /api/v1/openapi.json": Op(anyone()),
    "GET /api/docs": Op(anyone()),  # the browsable page of the document above (HTML)
    "GET /api/v1/auth/csrf": Op(anyone()),
    "POST /api/v1/auth/login": Op(anyone(), json_body(lambda w: {"email": w.login_email, "password": PASSWORD})),
    "POST /api/v1/auth/register": Op(anyone(), json_body(lambda w: {
        "email": f"{unique('signup')}@example.org", "password": PASSWORD, "display_name": "New person"})),

    # --- any signed-in persona, on their own account ------------------------------------------------------------
    "POST /api/v1/auth/logout": Op(signed_in(), fresh_world=True),
    "POST /api/v1/auth/password": Op(signed_in(), json_body(lambda w: {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD}), fresh_world=True),
    "POST /api/v1/auth/tokens": Op(signed_in(), json_body(lambda w: {"name": "access matrix"})),
    "GET /api/v1/auth/tokens": Op(signed_in()),
    "DELETE /api/v1/auth/tokens/{token_id}": Op(signed_in("404", annotator="ok")),  # the annotator's spare token
    "GET /api/v1/me": Op(signed_in()),
    "PATCH /api/v1/me": Op(signed_in(), json_body(lambda w: {"display_name": "Renamed by the matrix"})),
    "GET /api/v1/projects": Op(signed_in()),
    "POST /api/v1/projects": Op(signed_in(), json_body(lambda w: text_project_body(name="Made by the matrix"))),
    "GET /api/v1/wallet": Op(signed_in()),
    "GET /api/v1/mechanisms": Op(signed_in()),
    # A simulation: its creator (the owner) and administrators.
    "GET /api/v1/simulations/{simulation_id}": Op(signed_in("404", owner="ok", admin="ok")),
    "POST /api/v1/simulations": Op(signed_in(), json_body(lambda w: {"crowd": {"expert": 2}, "tasks": 5,
                                                                    "overlap": 1})),
    "GET /api/v1/wallet/entries": Op(signed_in()),
    "GET /api/v1/wallet/tasks": Op(signed_in()),
    # The projects each persona owns (none for most: an empty list).
    "GET /api/v1/wallet/spending": Op(signed_in()),
    "GET /api/v1/payouts": Op(signed_in()),
    # Only the annotator has money: for the others a 422 above_balance is the business answer.
    "POST /api/v1/payouts": Op(signed_in("ok/422", annotator="ok"), json_body(lambda w: {"amount": 1}),
                               refusals={422: "above_balance"}),

    # --- administrators -------------------------------------------------------------------------------------------
    "GET /api/v1/admin/payouts": Op(signed_in("403", admin="ok")),
    "GET /api/v1/admin/deposits": Op(signed_in("403", admin="ok")),
    "GET /api/v1/projects/{project_id}/budget/deposits": Op(signed_in("404", owner="ok")),
    # The owner's pending deposits: an administrator decides; the owner is told no; others learn nothing.
    "POST /api/v1/deposits/{deposit_id}/confirm": Op(signed_in("404", admin="ok", owner="403"),
                                                    params={"deposit_id": "deposit_to_confirm_id"}),
    "POST /api/v1/deposits/{deposit_id}/reject": Op(signed_in("404", admin="ok", owner="403"),
                                                   params={"deposit_id": "deposit_to_reject_id"}),
    # A payment provider's notification: its signature is the credential, whoever sends it (each persona's world
    # has a pending deposit of its own for it); unsigned, it is 401 for everyone (test_payment_notifications).
    "POST /api/v1/payments/{provider}/notifications": Op(anyone(), provider_notification,
                                                        params={"provider": "payment_provider"}),
    "GET /api/v1/admin/ledger/verify": Op(signed_in("403", admin="ok")),
    "GET /api/v1/admin/audit": Op(signed_in("403", admin="ok")),
    "GET /api/v1/admin/audit.csv": Op(signed_in("403", admin="ok")),
    # Accounts of the world kept for this (never a persona): one active, one the admin deactivated.
    "POST /api/v1/admin/users/{user_id}/deactivate": Op(signed_in("403", admin="ok"),
                                                        params={"user_id": "deactivate_target_id"}),
    "POST /api/v1/admin/users/{user_id}/activate": Op(signed_in("403", admin="ok"),
                                                      params={"user_id": "activate_target_id"}),
    "GET /api/v1/admin/users": Op(signed_in("403", admin="ok")),
    # Two more accounts of the world: one to make an administrator, one administrator to make ordinary again.
    "POST /api/v1/admin/users/{user_id}/admin": Op(signed_in("403", admin="ok"),
                                                   params={"user_id": "promote_target_id"}),
    "DELETE /api/v1/admin/users/{user_id}/admin": Op(signed_in("403", admin="ok"),
                                                     params={"user_id": "demote_target_id"}),
    # The annotator's own payouts (one for each decision): the admin decides; the annotator is told no.
    "POST /api/v1/payouts/{payout_id}/approve": Op(signed_in("404", admin="ok", annotator="403"),
                                                   json_body(lambda w: {"note": "approved by the matrix"}),
                                                   params={"payout_id": "payout_to_approve_id"}),
    "POST /api/v1/payouts/{payout_id}/reject": Op(signed_in("404", admin="ok", annotator="403"),
                                                  json_body(lambda w: {"note": "rejected by the matrix"}),
                                                  params={"payout_id": "payout_to_reject_id"}),

    # --- the project P --------------------------------------------------------------------------------------------
    "GET /api/v1/projects/{project_id}": Op(signed_in("ok", **MEMBERS)),  # the admin may see it too
    "PATCH /api/v1/projects/{project_id}": Op(signed_in(**MANAGERS), json_body(
        lambda w: {"description": "changed by the access matrix"})),
    "GET /api/v1/projects/{project_id}/stats": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/members": Op(signed_in(**MANAGERS)),
    "POST /api/v1/projects/{project_id}/members": Op(
        signed_in("404", owner="ok", manager="403", reviewer="403", annotator="403", admin="403"),
        json_body(lambda w: {"email": w.spare_email, "role": "annotator"})),
    "DELETE /api/v1/projects/{project_id}/members/{user_id}": Op(
        signed_in("404", owner="ok", manager="403", reviewer="403", annotator="403", admin="403"), fresh_world=True),
    "POST /api/v1/projects/{project_id}/invitations": Op(
        signed_in("404", owner="ok", manager="403", reviewer="403", annotator="403", admin="403"),
        json_body(lambda w: {"email": f"{unique('invited')}@example.org", "role": "annotator"})),
    "GET /api/v1/projects/{project_id}/invitations": Op(signed_in(**MANAGERS)),
    "DELETE /api/v1/projects/{project_id}/invitations/{invitation_id}": Op(
        signed_in("404", owner="ok", manager="403", reviewer="403", annotator="403", admin="403")),
    # The task browser: reviewers too (they review the answers).
    "GET /api/v1/projects/{project_id}/tasks": Op(signed_in(**{**MANAGERS, "reviewer": "ok"})),
    "POST /api/v1/projects/{project_id}/tasks": Op(signed_in(**MANAGERS), json_body(
        lambda w: [{"data": {"text": unique("added by the matrix")}}])),
    "POST /api/v1/projects/{project_id}/imports": Op(signed_in(**MANAGERS), image_upload),
    # Answers from elsewhere: the owner only; everyone else is told P is not there (issue 20: 404 for non-owners).
    "POST /api/v1/projects/{project_id}/answers/import": Op(signed_in("404", owner="ok"), lambda w: {
        "data": f"external_id,annotator,label\nextra-{uuid.uuid4().hex[:8]},{unique('turker')},positive\n",
        "content_type": "text/csv", "query_string": {"create_tasks": "true"}}),
    "GET /api/v1/projects/{project_id}/imports": Op(signed_in(**MANAGERS)),
    "POST /api/v1/projects/{project_id}/exports": Op(signed_in(**MANAGERS), json_body(lambda w: {"format": "jsonl"})),
    "GET /api/v1/projects/{project_id}/exports": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/flags": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/budget": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/incentives/replay": Op(signed_in(**MANAGERS)),
    # The code hides the budget from everyone but its owner.
    "POST /api/v1/projects/{project_id}/budget/deposits": Op(signed_in("404", owner="ok"),
                                                             json_body(lambda w: {"amount": 100})),
    # A disqualified annotator of P (not the persona) is reinstated.
    "POST /api/v1/projects/{project_id}/annotators/{user_id}/reinstate": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/agreement": Op(signed_in(
        "404", **REVIEWERS,
        annotator="403",  # the code's answer (policy: 403 or 404 as the code does)
        admin="403",  # admins see every project, so a 403 hides nothing
    )),
    # Skills per subtree: the owner and managers (a reviewer or annotator is told no, an admin too: not a manager).
    "GET /api/v1/projects/{project_id}/skills": Op(signed_in(**MANAGERS)),
    # Your own skills in P: anyone who may see P (an admin sees every project).
    "GET /api/v1/me/skills": Op(signed_in(**MEMBERS), lambda w: {"query_string": {"project_id": w.project_id}}),
    # P's audit log: its owner and the admins (the code's stated rule; not in the brief's policy).
    "GET /api/v1/projects/{project_id}/audit": Op(signed_in("403", owner="ok", admin="ok", **MEMBERS)),
    "GET /api/v1/projects/{project_id}/audit.csv": Op(signed_in("403", owner="ok", admin="ok", **MEMBERS)),
    "GET /api/v1/projects/{project_id}/leaderboard": Op(signed_in("ok", **MEMBERS)),  # admin: ok (the code)
    # P's members ask for work; an admin sees P but labels a private project (and spends its budget) only as a
    # member.
    "POST /api/v1/projects/{project_id}/next": Op(signed_in("ok", **MEMBERS, admin="403")),

    # --- rows of P by id --------------------------------------------------------------------------------------------
    # The task the annotator holds a lease on: its holder sees it too.
    "GET /api/v1/tasks/{task_id}": Op(signed_in("404", **REVIEWERS, annotator="ok"),
                                      params={"task_id": "leased_task_id"}),
    "GET /api/v1/exports/{export_id}": Op(signed_in("404", **STAFF_ROW)),
    "GET /api/v1/exports/{export_id}/card": Op(signed_in("404", **STAFF_ROW)),
    "GET /api/v1/exports/{export_id}/download": Op(signed_in("404", **STAFF_ROW)),
    "GET /api/v1/imports/{import_id}": Op(signed_in("404", **STAFF_ROW)),
    "POST /api/v1/flags/{flag_id}/resolve": Op(signed_in("404", **STAFF_ROW), json_body(lambda w: {"action": "keep"})),
    # The task the annotator answered, and that answer.
    "GET /api/v1/tasks/{task_id}/annotations": Op(signed_in("404", **REVIEWERS)),  # annotator: 404 (the code)
    "GET /api/v1/tasks/{task_id}/consensus": Op(signed_in("404", **REVIEWERS)),  # annotator: 404 (the code)
    "GET /api/v1/tasks/{task_id}/ledger": Op(signed_in("404", **STAFF_ROW)),  # money: owner and managers
    "POST /api/v1/annotations/{annotation_id}/review": Op(signed_in("404", **REVIEWERS),  # annotator: 404 (the code)
                                                          json_body(lambda w: {"verdict": "accept"}),
                                                          params={"annotation_id": "other_annotation_id"}),
    # Review: the queue for reviewers and up; a review lease is its holder's (the reviewer's), unknown to others.
    "POST /api/v1/projects/{project_id}/review/next": Op(signed_in(**{**MANAGERS, "reviewer": "ok"})),
    "POST /api/v1/review-leases/{lease_id}/heartbeat": Op(signed_in("404", reviewer="ok"),
                                                         params={"lease_id": "review_lease_id"}),
    "POST /api/v1/review-leases/{lease_id}/release": Op(signed_in("404", reviewer="ok"),
                                                       params={"lease_id": "review_lease_id"}, fresh_world=True),
    "GET /api/v1/projects/{project_id}/review": Op(signed_in(**MANAGERS)),
    "GET /api/v1/projects/{project_id}/appeals": Op(signed_in(**{**MANAGERS, "reviewer": "ok"})),
    "GET /api/v1/me/appeals": Op(signed_in()),
    # The owner rejected two of the annotator's answers: the author appeals (one, not yet appealed); nobody else
    # learns the review exists.
    "POST /api/v1/reviews/{review_id}/appeal": Op(signed_in("404", annotator="ok"),
                                                  json_body(lambda w: {"reason": "it was right"}),
                                                  params={"review_id": "review_id"}),
    # Data contribution: releases are the owner's (the money of one, its owner's or an administrator's); strangers
    # to a release learn nothing of it.
    "POST /api/v1/projects/{project_id}/releases": Op(signed_in("404", owner="ok"), json_body(
        lambda w: {"export_id": w.fresh_export_id, "name": unique("release")}), fresh_world=True),
    "GET /api/v1/projects/{project_id}/releases": Op(signed_in("404", owner="ok")),
    "GET /api/v1/releases/{release_id}": Op(signed_in("404", owner="ok")),
    "POST /api/v1/releases/{release_id}/revenue": Op(signed_in("404", owner="ok", admin="ok"), lambda w: {
        "json": {"amount": 100, "memo": "matrix"}, "environ_overrides": {"HTTP_IDEMPOTENCY_KEY": unique("revenue")}}),
    "GET /api/v1/releases/{release_id}/revenue": Op(signed_in("404", owner="ok", admin="ok")),
    "GET /api/v1/me/contributions": Op(signed_in()),
    "GET /api/v1/projects/{project_id}/terms": Op(signed_in("ok", **MEMBERS)),
    # P shares under the platform's terms: nothing to accept (409) for those who see it.
    "POST /api/v1/projects/{project_id}/terms/accept": Op(signed_in("409", **MEMBERS),
                                                          json_body(lambda w: {"version": 1}),
                                                          refusals={409: "conflict"}),
    # The other one's appeal: another reviewer or a manager decides; the rejection's reviewer (the owner) and the
    # author are told no; the admin (no member) and strangers learn nothing.
    "POST /api/v1/appeals/{appeal_id}/decide": Op(signed_in("404", reviewer="ok", manager="ok", owner="403",
                                                            annotator="403"),
                                                  json_body(lambda w: {"decision": "uphold", "note": "checked"}),
                                                  params={"appeal_id": "appeal_id"}),
    # The annotator's answer, on a task its overlap of 1 completed: final for its author; nobody else's to touch.
    "PUT /api/v1/annotations/{annotation_id}": Op(signed_in("404", annotator="409"),
                                                  json_body(lambda w: {"result": {"labels": ["negative"]}}),
                                                  refusals={409: "task_completed"}),
    "GET /api/v1/me/annotations": Op(signed_in()),
    # One answer by id: its author (the annotator answered the world's task); everyone else 404.
    "GET /api/v1/annotations/{annotation_id}": Op(signed_in("404", annotator="ok")),

    # --- the annotator's live lease ---------------------------------------------------------------------------------
    # API.md: 409 "if the assignment is not yours" for those who can see P (members, the admin); those who
    # cannot see P get 404 (the code), so they do not learn the assignment exists.
    "POST /api/v1/assignments/{assignment_id}/heartbeat": Op(signed_in("409", **LEASE), refusals=NOT_YOURS),
    "POST /api/v1/assignments/{assignment_id}/annotation": Op(
        signed_in("409", **LEASE), json_body(lambda w: {"result": {"labels": ["positive"]}, "lead_time_ms": 1000}),
        fresh_world=True, refusals=NOT_YOURS),
    "POST /api/v1/assignments/{assignment_id}/skip": Op(signed_in("409", **LEASE),
                                                        json_body(lambda w: {"reason": "unsure"}), fresh_world=True,
                                                        refusals=NOT_YOURS),
    "POST /api/v1/assignments/{assignment_id}/flag": Op(signed_in("409", **LEASE), json_body(
        lambda w: {"reason": "other", "note": "flagged by the matrix"}), fresh_world=True, refusals=NOT_YOURS),
}


# ---------------------------------------------------------------------------------------------------------------
# The operations, from the OpenAPI document
# ---------------------------------------------------------------------------------------------------------------

def operations_of(document: dict) -> set[str]:
    return {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}


def documented_operations() -> list[str]:
    """The operations of the OpenAPI document as a throwaway app builds it, when the tests are collected.

    So an operation nobody wrote an expectation for still gets its cells, which fail saying so.
    """
    folder = tempfile.mkdtemp(prefix="ann-openapi-")
    try:
        application = create_app({"TESTING": True, "SECRET_KEY": "collect", "INSTANCE_PATH": folder,
                                  "DATABASE_URL": f"sqlite:///{folder}/collect.db", "REDIS_URL": "redis://127.0.0.1:1"})
        with application.app_context():
            return sorted(operations_of(build_spec(application)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


OPERATIONS = sorted(set(documented_operations()) | set(EXPECTED))
CELLS = [pytest.param(persona, operation, id=f"{persona}-{operation}")
         for persona in PERSONAS for operation in OPERATIONS]


# ---------------------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory, redis_url, shared_database):
    """One app for the module (the worlds share its database): conftest's `app`, built once."""
    application = fresh_app(tmp_path_factory.mktemp("access-matrix"), redis_url, shared_database)
    runtime(application).redis.flushdb()
    application.config.update(payment_settings())
    yield application
    close_all_sessions()
    runtime(application).engine.dispose()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_user(app, email: str, admin: bool = False):
    """A user and a bearer token of theirs."""
    with app.app_context():
        session = runtime().session_factory()
        try:
            user = service.register(session, runtime().passwords, email=email, password=PASSWORD,
                                    display_name=email.split("@")[0], is_admin=admin)
            session.flush()
            _, token = service.create_token(session, user, "access matrix")
            session.commit()
            return SimpleNamespace(id=user.id, email=email, headers=bearer(token))
        finally:
            session.close()


def ok(response, status: int):
    assert response.status_code == status, (response.status_code, response.get_data()[:500])
    return response.get_json() if response.is_json else None


def build_world(app, number: int) -> SimpleNamespace:
    """P, private and paid, with its members and one of each row the table asks about."""
    client = app.test_client(use_cookies=False)
    people = {name: new_user(app, f"w{number}-{name}@example.org", admin=name in ("admin", "demote"))
              for name in (*SIGNED_IN, "spare", "benched", "login", "active", "inactive", "promote", "demote",
                           "second")}
    headers = {"anonymous": {}, **{name: people[name].headers for name in SIGNED_IN}}
    owner = headers["owner"]

    project = create_text_project(client, owner, name=f"P{number}", visibility="private", overlap=1, rewards=RATES)
    pid = project["id"]
    for name, role in (("manager", "manager"), ("reviewer", "reviewer"), ("annotator", "annotator"),
                       ("benched", "annotator")):
        ok(client.post(f"{API}/projects/{pid}/members", json={"email": people[name].email, "role": role},
                       headers=owner), 201)
    ok(client.post(f"{API}/projects/{pid}/tasks", json=[{"data": {"text": f"world {number} task {n}"}}
                                                        for n in range(6)], headers=owner), 201)
    funds = ok(client.post(f"{API}/projects/{pid}/budget/deposits", json={"amount": 10_000}, headers=owner), 201)
    confirm_deposits(app, [funds["id"]])
    waiting = [ok(client.post(f"{API}/projects/{pid}/budget/deposits", json={"amount": 1}, headers=owner), 201)
               for _ in range(3)]  # left pending, for the decisions and the provider's notification

    invitation = ok(client.post(f"{API}/projects/{pid}/invitations", json={"email": f"w{number}-invited@example.org",
                                                                            "role": "annotator"}, headers=owner), 201)
    other = create_text_project(client, headers["other_owner"], name=f"Q{number}", visibility="private")
    ok(client.post(f"{API}/projects/{other['id']}/members", json={"email": people["outsider"].email,
                                                                  "role": "annotator"},
                   headers=headers["other_owner"]), 201)

    annotator = headers["annotator"]
    first = ok(nxt(client, project, annotator), 200)  # answered: overlap 1 completes and settles the task
    answered = ok(answer(client, first, annotator), 201)
    # Two more answers of the annotator the owner rejects: one to appeal, one appealed already.
    rejections = []
    for _ in range(2):
        made = ok(answer(client, ok(nxt(client, project, annotator), 200), annotator), 201)
        rejections.append(ok(client.post(f"{API}/annotations/{made['id']}/review",
                                         json={"verdict": "reject", "note": "the matrix says no"}, headers=owner), 201))
    appealed = ok(client.post(f"{API}/reviews/{rejections[1]['id']}/appeal", json={"reason": "it was right"},
                              headers=annotator), 201)
    ok(client.post(f"{API}/projects/{pid}/members", json={"email": people["second"].email, "role": "annotator"},
                   headers=owner), 201)
    other_answer = ok(answer(client, ok(nxt(client, project, people["second"].headers), 200),
                             people["second"].headers), 201)
    second = ok(nxt(client, project, annotator), 200)  # flagged: an open flag
    flagged = ok(client.post(f"{API}/assignments/{second['assignment']['id']}/flag",
                             json={"reason": "sensitive"}, headers=annotator), 200)
    live = ok(nxt(client, project, annotator), 200)  # held: the live lease
    assert ok(client.get(f"{API}/wallet", headers=annotator), 200)["balance"] >= 3, "the annotator has no money"
    payouts = [ok(client.post(f"{API}/payouts", json={"amount": 1}, headers=annotator), 201) for _ in range(2)]
    spare_token = ok(client.post(f"{API}/auth/tokens", json={"name": "spare"}, headers=annotator), 201)
    ok(client.patch(f"{API}/projects/{pid}", json={"review": {"sample_rate": 1.0}}, headers=owner), 200)
    review_lease = ok(client.post(f"{API}/projects/{pid}/review/next", headers=headers["reviewer"]), 200)
    fresh_export = ok(client.post(f"{API}/projects/{pid}/exports", json={"format": "csv"}, headers=owner), 202)
    run_exports(app)
    released = ok(client.post(f"{API}/projects/{pid}/releases", json={"export_id": fresh_export["id"], "name": "v1"},
                              headers=owner), 201)

    export = ok(client.post(f"{API}/projects/{pid}/exports", json={"format": "jsonl"}, headers=owner), 202)
    run_exports(app)
    assert ok(client.get(f"{API}/exports/{export['id']}", headers=owner), 200)["status"] == "completed"
    imported = ok(upload(client, pid, owner, {"bird.jpg": jpeg()}), 202)
    simulation = ok(client.post(f"{API}/simulations", json={"crowd": {"expert": 2}, "tasks": 3, "overlap": 1},
                                headers=owner), 202)
    ok(client.post(f"{API}/admin/users/{people['inactive'].id}/deactivate", headers=headers["admin"]), 200)

    with app.app_context():  # a disqualified annotator, for the reinstate endpoint
        session = runtime().session_factory()
        session.add(Qualification(project_id=pid, user_id=people["benched"].id, gold_answered=5, gold_credit=0.0,
                                  disqualified=True))
        session.commit()
        session.close()

    return SimpleNamespace(
        headers=headers, people=people, project_id=pid, lease_id=live["assignment"]["id"],
        leased_task_id=live["task"]["id"], annotation_id=answered["id"], answered_task_id=answered["task_id"],
        flag_id=flagged["id"], payout_to_approve_id=payouts[0]["id"], payout_to_reject_id=payouts[1]["id"],
        deposit_to_confirm_id=waiting[0]["id"], deposit_to_reject_id=waiting[1]["id"],
        deposit_to_notify_id=waiting[2]["id"], payment_provider=PAYMENT_PROVIDER,
        spare_token_id=spare_token["id"], export_id=export["id"], import_id=imported["id"],
        simulation_id=simulation["id"], invitation_id=invitation["id"],
        benched_id=people["benched"].id, deactivate_target_id=people["active"].id,
        activate_target_id=people["inactive"].id, spare_email=people["spare"].email, login_email=people["login"].email,
        promote_target_id=people["promote"].id, demote_target_id=people["demote"].id,
        other_annotation_id=other_answer["id"], review_id=rejections[0]["id"], appeal_id=appealed["id"],
        review_lease_id=review_lease["review_lease"]["id"], fresh_export_id=fresh_export["id"],
        release_id=released["id"])


class Worlds:
    """A world per persona, built when first needed; a fresh one for operations that use something up."""

    def __init__(self, app) -> None:
        self.app, self.built, self.by_persona = app, 0, {}

    def fresh(self) -> SimpleNamespace:
        self.built += 1
        return build_world(self.app, self.built)

    def of(self, persona: str) -> SimpleNamespace:
        if persona not in self.by_persona:
            self.by_persona[persona] = self.fresh()
        return self.by_persona[persona]


@pytest.fixture(scope="module")
def worlds(matrix_app):
    return Worlds(matrix_app)


@pytest.fixture(scope="module")
def live_operations(matrix_app) -> set[str]:
    """The operations of the OpenAPI document the running app serves."""
    response = matrix_app.test_client(use_cookies=False).get(f"{API}/openapi.json")
    assert response.status_code == 200
    return operations_of(response.get_json())


# ---------------------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------------------

def test_every_operation_has_an_expectation(live_operations):
    missing = sorted(live_operations - set(EXPECTED))
    stale = sorted(set(EXPECTED) - live_operations)
    assert not missing, ("operations in the OpenAPI document with no expectation in EXPECTED (say what each "
                         "persona may do): " + ", ".join(missing))
    assert not stale, "entries in EXPECTED for operations the OpenAPI document no longer has: " + ", ".join(stale)


def test_the_table_is_well_formed():
    for operation, op in EXPECTED.items():
        assert set(op.expect) == set(PERSONAS), f"{operation}: name every persona exactly once"
        assert set(op.expect.values()) <= OUTCOMES, f"{operation}: outcomes are {sorted(OUTCOMES)}"
        assert op.expect["anonymous"] in ("ok", "401"), f"{operation}: anonymous gets ok or 401"


def path_for(operation: str, op: Op, world: SimpleNamespace) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        attribute = op.params.get(name) or PARAMS.get(name)
        assert attribute, f"{operation}: no world value for the path parameter {{{name}}}; add it to PARAMS or params"
        return str(getattr(world, attribute))

    return re.sub(r"\{(\w+)\}", fill, operation.split(" ", 1)[1])


@pytest.mark.parametrize("persona,operation", CELLS)
def test_access(persona, operation, matrix_app, worlds, live_operations):
    if operation not in live_operations:
        pytest.fail(f"stale: EXPECTED has {operation!r}, which the OpenAPI document no longer has; remove its entry",
                    pytrace=False)
    if operation not in EXPECTED:
        pytest.fail(f"no expectation written for {operation!r}: add it to EXPECTED saying what each of "
                    f"{', '.join(PERSONAS)} may do", pytrace=False)
    op = EXPECTED[operation]
    world = worlds.fresh() if op.fresh_world else worlds.of(persona)
    method = operation.split(" ", 1)[0]
    arguments = op.body(world) if op.body else {}
    client = matrix_app.test_client(use_cookies=False)  # no cookie ever: the persona is its bearer token alone
    response = client.open(path_for(operation, op, world), method=method, headers=world.headers[persona],
                           **arguments)

    expected, status = op.expect[persona], response.status_code
    if expected == "ok":
        allowed = 200 <= status < 300
    elif expected == "ok/422":
        allowed = 200 <= status < 300 or status == 422
    else:
        allowed = status == int(expected)
    assert allowed, (f"{persona} {operation}: expected {expected}, got {status}: "
                     f"{response.get_data(as_text=True)[:300]}")
    if status in (409, 422):  # past authorization only for the reason the table names (a bad body is no pass)
        code = (response.get_json(silent=True) or {}).get("code")
        assert code == op.refusals.get(status), (
            f"{persona} {operation}: {status} {code!r}, expected the refusal {op.refusals.get(status)!r}: "
            f"{response.get_data(as_text=True)[:300]}")
