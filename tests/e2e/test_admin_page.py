"""The demo admin at their desk: confirms the owner's pending deposit (the budget grows by it, only then),
approves an annotator's payout by name, and checks the ledger."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_the_demo_admin_confirms_a_deposit_and_approves_a_payout_by_name(live_server, page, seeded, client, app):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    text = next(p for p in client.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.TEXT_PROJECT)
    before = client.get(f"/api/v1/projects/{text['id']}/budget").get_json()["balance"]
    alice = app.test_client()
    alice.post("/api/v1/auth/login", json={"email": demo.ANNOTATORS[0].email, "password": demo.PASSWORD})
    csrf = {"X-CSRF-Token": alice.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    asked = alice.post("/api/v1/payouts", json={"amount": 100}, headers=csrf)
    assert asked.status_code == 201, asked.get_json()
    sign_in(page, live_server, demo.ADMIN.email, demo.PASSWORD)
    page.click("#nav-admin")
    page.wait_for_url(f"{live_server}/admin")
    row = page.locator("#deposits tr", has_text=demo.TEXT_PROJECT)
    row.wait_for()
    assert "Demo Owner" in row.text_content() and "500.00" in row.text_content()  # 50,000 fen
    payout = page.locator("#payouts tr", has_text="Alice (annotator)")
    assert "1.00" in payout.text_content()
    screenshot(page, "admin")
    row.locator("button[data-action=confirm]").click()
    page.locator("#no-deposits").wait_for(state="visible")
    assert client.get(f"/api/v1/projects/{text['id']}/budget").get_json()["balance"] == before + demo.PENDING_DEPOSIT
    payout.locator("button[data-action=approve]").click()
    page.locator("#no-payouts").wait_for(state="visible")
    assert alice.get("/api/v1/payouts").get_json()["items"][0]["status"] == "approved"
    page.click("#verify")
    page.wait_for_function("() => document.getElementById('verify-result').textContent.length > 0")
    assert page.text_content("#verify-result") == "Every invariant holds."


def test_the_admin_link_is_for_administrators_only(live_server, page, seeded):
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.locator("#nav-links").wait_for(state="visible")
    assert page.is_hidden("#nav-admin")
