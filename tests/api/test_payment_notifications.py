"""A payment provider's signed notifications confirm or reject deposits, over real HTTP.

The app listens on a loopback port; the test plays the provider, signing each notification as the README says
(HMAC-SHA256 of '<unix seconds>.<raw body>') and POSTing it with urllib, as a provider's servers would.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from annotator.app import create_app
from annotator.audit import AuditEvent
from annotator.config import ConfigError
from annotator.runtime import runtime
from incentives.models import Deposit, LedgerTransaction
from tests.factories import (IN_CI, PAYMENT_PROVIDER, PAYMENT_SECRET, PROBLEM, assert_problem, create_text_project,
                             on_loopback, payment_notification, payment_settings, repo_root, signed_notification,
                             verified)

OLD_SECRET = "whsec-retiring-fedcba9876543210"
README = repo_root() / "README.md"


@pytest.fixture
def served(app):
    """The app listening on a loopback port: its base URL."""
    with on_loopback(app) as url:
        yield url


@pytest.fixture
def provider(app, served):
    """POSTs signed notifications to the served app, as a provider would: (status, content type, body)."""
    app.config.update(payment_settings(PAYMENT_SECRET, OLD_SECRET))
    base = f"{served}/api/v1/payments"

    def send(body, secret: str = PAYMENT_SECRET, timestamp: int | None = None, headers: dict | None = None,
             name: str = PAYMENT_PROVIDER, raw: bytes | None = None):
        signed_body, signed = signed_notification(body, secret, timestamp)
        request = urllib.request.Request(f"{base}/{name}/notifications", data=signed_body if raw is None else raw,
                                         headers={**signed, **(headers or {})}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.headers.get_content_type(), json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get_content_type(), json.loads(error.read())

    return send


@pytest.fixture
def admin(make_user, token_for):
    return token_for(make_user("admin@example.org", admin=True))


@pytest.fixture
def asked(client, owner):
    """Ask for a deposit into a fresh public project: the deposit as the API answered it."""
    project = create_text_project(client, owner, visibility="public")

    def ask(amount: int = 1000) -> dict:
        made = client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": amount},
                           headers=owner)
        assert made.status_code == 201, made.get_json()
        return made.get_json()

    return ask


def balance(client, owner, deposit: dict) -> int:
    return client.get(f"/api/v1/projects/{deposit['project_id']}/budget", headers=owner).get_json()["balance"]


def state(app, deposit: dict) -> tuple:
    """What a refused notification must leave as it was: the deposit's row, its ledger postings, its audit lines."""
    with runtime(app).session_factory() as session:
        row = session.get(Deposit, deposit["id"])
        postings = session.scalars(select(LedgerTransaction.id).where(LedgerTransaction.kind == "deposit")).all()
        events = session.scalars(select(AuditEvent.action).where(
            AuditEvent.target == "deposit", AuditEvent.target_id == deposit["id"],
            AuditEvent.action != "payment_notification_refused")).all()
        return row.status, row.note, row.decided_by, row.transaction_id, tuple(postings), tuple(events)


def refusals(app, deposit: dict) -> list:
    """The refused notifications the audit log keeps for administrators: (code, outcome, reference)."""
    with runtime(app).session_factory() as session:
        return [(e.details["code"], e.details["outcome"], e.details["reference"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "payment_notification_refused",
                                     AuditEvent.target_id == deposit["id"]).order_by(AuditEvent.id))]


def assert_refused(reply, status: int, code: str) -> dict:
    got, content_type, body = reply
    assert (got, content_type, body.get("code")) == (status, PROBLEM, code), body
    assert body["status"] == status and body["detail"]
    return body


def ledger_is_clean(client, admin) -> None:
    checked = client.get("/api/v1/admin/ledger/verify", headers=admin).get_json()
    assert checked == {"ok": True, "breaches": []}
    assert verified(client.application) == []


def test_a_paid_notification_confirms_the_deposit_once_and_funds_the_budget(app, client, owner, admin, asked,
                                                                          provider):
    deposit = asked(1000)
    status, content_type, body = provider(payment_notification(deposit, reference="ch_3PAID"))
    assert (status, content_type) == (200, "application/json")
    assert body == {"deposit_id": deposit["id"], "status": "confirmed", "amount": 1000, "applied": True}
    assert balance(client, owner, deposit) == 1000
    listed = client.get("/api/v1/admin/deposits?status=confirmed", headers=admin).get_json()["items"]
    assert [(d["id"], d["decided_by"], d["note"]) for d in listed] == [
        (deposit["id"], None, f"Paid at {PAYMENT_PROVIDER}: ch_3PAID")]
    audit = client.get(f"/api/v1/projects/{deposit['project_id']}/audit", headers=owner).get_json()["items"]
    decided = [event for event in audit if event["action"] == "deposit_confirmed"]
    assert len(decided) == 1 and decided[0]["actor_id"] is None
    assert decided[0]["details"] == {"amount": 1000, "provider": PAYMENT_PROVIDER, "reference": "ch_3PAID"}
    everyone = client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]  # the admins' log names nobody
    assert [e["actor_id"] for e in everyone if e["action"] == "deposit_confirmed"] == [None]
    before = state(app, deposit)

    # The provider retries (it never saw our answer): the same outcome again, nothing more moves.
    again = provider(payment_notification(deposit, reference="ch_3PAID"))
    assert again == (200, "application/json", {**body, "applied": False})
    assert state(app, deposit) == before and balance(client, owner, deposit) == 1000
    ledger_is_clean(client, admin)


def test_a_failed_notification_rejects_the_deposit_and_a_later_paid_one_is_a_conflict(app, client, owner, admin,
                                                                                      asked, provider):
    deposit = asked(700)
    status, _, body = provider(payment_notification(deposit, "failed", reference="ch_declined"))
    assert status == 200 and (body["status"], body["applied"]) == ("rejected", True)
    assert balance(client, owner, deposit) == 0
    decided = state(app, deposit)
    assert decided[:3] == ("rejected", f"Failed at {PAYMENT_PROVIDER}: ch_declined", None)
    assert decided[5] == ("budget_deposit", "deposit_rejected")
    assert provider(payment_notification(deposit, "failed"))[2]["applied"] is False  # a retry
    body = assert_refused(provider(payment_notification(deposit, "paid", reference="ch_late")), 409,
                          "already_decided")
    assert "rejected" in body["detail"]
    assert state(app, deposit) == decided and balance(client, owner, deposit) == 0
    # Money may have arrived after all: administrators find the refused notification in the audit log.
    assert refusals(app, deposit) == [("already_decided", "paid", "ch_late")]
    ledger_is_clean(client, admin)


def test_an_administrators_decision_and_the_providers_word_agree_or_conflict(app, client, owner, admin, asked,
                                                                            provider):
    confirmed, rejected = asked(300), asked(400)
    assert client.post(f"/api/v1/deposits/{confirmed['id']}/confirm", headers=admin).status_code == 200
    assert client.post(f"/api/v1/deposits/{rejected['id']}/reject", headers=admin).status_code == 200
    before = state(app, confirmed), state(app, rejected)
    # The provider's word on a deposit the administrator already decided the same way changes nothing.
    same = provider(payment_notification(confirmed))
    assert same[0] == 200 and (same[2]["status"], same[2]["applied"]) == ("confirmed", False)
    # The other way is a conflict someone must look into: 409, and nothing moves.
    assert_refused(provider(payment_notification(rejected, "paid")), 409, "already_decided")
    assert_refused(provider(payment_notification(confirmed, "failed")), 409, "already_decided")
    assert (state(app, confirmed), state(app, rejected)) == before
    assert balance(client, owner, confirmed) == 300
    ledger_is_clean(client, admin)


def test_a_notification_without_a_good_signature_is_401_and_changes_nothing(app, client, owner, asked, provider):
    deposit = asked()
    before = state(app, deposit)
    body = payment_notification(deposit)
    wrong = assert_refused(provider(body, secret="whsec-guessed-000000000000000"), 401, "invalid_signature")
    assert "X-Payment-Signature" in wrong["detail"]
    # Signed for one body, sent with another: the amount cannot be changed in flight.
    raw, _ = signed_notification(body)
    assert_refused(provider(body, raw=raw.replace(b'"amount": 1000', b'"amount": 1001')), 401, "invalid_signature")
    for header in ("", "v1=abc", "t=12,v1=zz", "t=now,v1=" + "0" * 64, f"t={int(time.time())}",
                   f"t=1,t=2,v1={'0' * 64}", "Bearer something"):
        assert_refused(provider(body, headers={"X-Payment-Signature": header}), 401, "invalid_signature")
    assert state(app, deposit) == before and balance(client, owner, deposit) == 0


def test_a_stale_or_future_timestamp_is_refused_however_well_signed(app, client, owner, asked, provider):
    deposit = asked()
    before = state(app, deposit)
    now = int(time.time())
    old = assert_refused(provider(payment_notification(deposit), timestamp=now - 3600), 401, "stale_signature")
    assert "3600 seconds old" in old["detail"] or "3601 seconds old" in old["detail"]
    assert_refused(provider(payment_notification(deposit), timestamp=now - 301), 401, "stale_signature")
    assert_refused(provider(payment_notification(deposit), timestamp=now + 400), 401, "stale_signature")
    assert state(app, deposit) == before
    # Inside the tolerance (300 s by default) a late delivery still counts.
    assert provider(payment_notification(deposit), timestamp=now - 240)[2]["status"] == "confirmed"


def test_the_wrong_amount_or_currency_is_409_and_the_deposit_keeps_waiting(app, client, owner, asked, provider):
    deposit = asked(1000)
    before = state(app, deposit)
    body = assert_refused(provider(payment_notification(deposit, amount=999)), 409, "amount_mismatch")
    assert (body["expected"], body["notified"]) == (1000, 999)
    assert_refused(provider(payment_notification(deposit, "failed", amount=10_000)), 409, "amount_mismatch")
    assert_refused(provider(payment_notification(deposit, currency="USD")), 409, "amount_mismatch")
    assert state(app, deposit) == before and before[0] == "pending"
    assert provider(payment_notification(deposit, currency="CNY"))[2]["status"] == "confirmed"


def test_an_unknown_deposit_or_provider_is_404(app, client, asked, provider):
    deposit = asked()
    assert_refused(provider(payment_notification(deposit, deposit_id=deposit["id"] + 1000)), 404, "not_found")
    assert_refused(provider(payment_notification(deposit), name="otherbank"), 404, "not_found")
    app.config["ANNOTATOR_PAYMENT_PROVIDER"] = ""  # no provider configured: none answers
    assert_refused(provider(payment_notification(deposit)), 404, "not_found")
    assert state(app, deposit)[0] == "pending"


def test_every_configured_secret_signs_during_a_rotation_and_a_retired_one_no_more(app, client, asked, provider):
    first, second, third = asked(), asked(), asked()
    assert provider(payment_notification(first), secret=OLD_SECRET)[2]["status"] == "confirmed"
    # A provider mid-rotation sends one signature per secret: one that checks out is enough.
    raw, headers = signed_notification(payment_notification(second))
    moment, good = headers["X-Payment-Signature"].split(",")
    stale_one = "v1=" + "ab" * 32
    status, _, body = provider(payment_notification(second), headers={
        "X-Payment-Signature": f"{moment},{stale_one},{good.upper().replace('V1=', 'v1=')}"})
    assert status == 200 and body["status"] == "confirmed", body
    app.config.update(payment_settings(PAYMENT_SECRET))  # the old secret retired
    assert_refused(provider(payment_notification(third), secret=OLD_SECRET), 401, "invalid_signature")
    assert provider(payment_notification(third))[2]["status"] == "confirmed"


@pytest.mark.parametrize("raw,status,code", [
    (b"{not json", 400, "malformed_body"),
    (b"\xff\xfe\x00garbage", 400, "malformed_body"),
    (b"", 400, "malformed_body"),
    (b"[1, 2]", 400, "malformed_body"),
    (b'"paid"', 400, "malformed_body"),
])
def test_a_well_signed_body_that_is_not_a_json_object_is_400(app, asked, provider, raw, status, code):
    deposit = asked()
    assert_refused(provider(raw), status, code)
    assert state(app, deposit)[0] == "pending"


@pytest.mark.parametrize("changes,fields", [
    ({"deposit_id": None, "amount": None, "outcome": None, "reference": None},
     {"deposit_id", "amount", "outcome", "reference"}),
    ({"amount": True}, {"amount"}),
    ({"amount": 1000.0}, {"amount"}),
    ({"amount": "1000"}, {"amount"}),
    ({"amount": 0}, {"amount"}),
    ({"amount": 10**15 + 1}, {"amount"}),
    ({"deposit_id": -1}, {"deposit_id"}),
    ({"outcome": "refunded"}, {"outcome"}),
    ({"reference": ""}, {"reference"}),
    ({"reference": "  "}, {"reference"}),
    ({"reference": "x" * 201}, {"reference"}),
    ({"reference": "ch_1\nforged line"}, {"reference"}),
    ({"reference": 12}, {"reference"}),
    ({"currency": "usd"}, {"currency"}),
])
def test_a_well_signed_notification_with_bad_fields_is_422_naming_each(app, asked, provider, changes, fields):
    deposit = asked()
    body = {key: value for key, value in payment_notification(deposit, **changes).items() if value is not None}
    refused = assert_refused(provider(body), 422, "invalid_fields")
    assert set(refused["errors"]) == fields
    assert state(app, deposit)[0] == "pending"


def test_unknown_keys_a_provider_adds_are_ignored(app, asked, provider):
    deposit = asked()
    reply = provider(payment_notification(deposit, event="payment.succeeded", livemode=False))
    assert reply[0] == 200 and reply[2]["status"] == "confirmed"


def test_notifications_are_rate_limited_per_address(app, client, asked):
    app.config.update(payment_settings(), ANNOTATOR_PAYMENT_NOTIFICATIONS_PER_MINUTE=2)
    deposit = asked()
    url = f"/api/v1/payments/{PAYMENT_PROVIDER}/notifications"
    for _ in range(2):
        raw, headers = signed_notification(payment_notification(deposit))
        assert client.post(url, data=raw, headers=headers).status_code == 200
    raw, headers = signed_notification(payment_notification(deposit))
    limited = client.post(url, data=raw, headers=headers)
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0


def test_a_signed_in_browser_cannot_post_a_notification_for_the_provider(app, client, make_user, asked):
    """Cookies carry no authority here: a signed-in administrator's page posting unsigned is 401."""
    app.config.update(payment_settings())
    deposit = asked()
    make_user("boss@example.org", admin=True)
    assert client.post("/api/v1/auth/login", json={"email": "boss@example.org",
                                                   "password": "correct horse battery"}).status_code == 200
    csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    unsigned = client.post(f"/api/v1/payments/{PAYMENT_PROVIDER}/notifications",
                           json=payment_notification(deposit), headers={"X-CSRF-Token": csrf})
    assert_problem(unsigned, 401, "invalid_signature")
    assert state(app, deposit)[0] == "pending"


@pytest.mark.parametrize("settings,named", [
    ({"ANNOTATOR_PAYMENT_PROVIDER": "bank"}, "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS"),
    ({"ANNOTATOR_PAYMENT_PROVIDER": "bank", "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": "short"},
     "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS"),
    ({"ANNOTATOR_PAYMENT_PROVIDER": "Bank/1", "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": PAYMENT_SECRET},
     "ANNOTATOR_PAYMENT_PROVIDER"),
    ({**payment_settings(), "ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE": 0}, "ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE"),
])
def test_a_provider_configured_so_it_cannot_work_stops_the_app_naming_the_setting(tmp_path, settings, named):
    with pytest.raises(ConfigError, match=named):
        create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                    "DATABASE_URL": f"sqlite:///{tmp_path}/t.db", **settings})


def test_the_readme_recipe_confirms_a_deposit_as_written(app, asked, served, tmp_path):
    missing = [tool for tool in ("bash", "curl", "openssl") if shutil.which(tool) is None]
    if missing:
        message = f"the README's recipe needs {', '.join(missing)}"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    block = re.search(r"### Payment provider notifications\n.*?```sh\n(.*?)```", README.read_text(encoding="utf-8"),
                      re.S).group(1)
    app.config.update(ANNOTATOR_PAYMENT_PROVIDER="bank", ANNOTATOR_PAYMENT_WEBHOOK_SECRETS=PAYMENT_SECRET)
    deposit = asked(100000)
    script = block.replace("http://127.0.0.1:5000", served).replace('"deposit_id": 12', f'"deposit_id": {deposit["id"]}')
    assert script.count(served) == 1 and f'"deposit_id": {deposit["id"]}' in script
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "SECRET": PAYMENT_SECRET}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"deposit_id": deposit["id"], "status": "confirmed", "amount": 100000,
                                       "applied": True}
