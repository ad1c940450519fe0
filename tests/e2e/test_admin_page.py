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


def test_the_demo_admin_manages_accounts_and_reads_the_audit_log(live_server, page, seeded, app):
    carmen, bo = demo.ANNOTATORS[2], demo.ANNOTATORS[1]
    sign_in(page, live_server, demo.ADMIN.email, demo.PASSWORD)
    page.goto(f"{live_server}/admin")
    page.locator("#deposits tr").first.wait_for()
    page.click("#tab-users")
    assert page.url.endswith("/admin#users") and page.is_hidden("#panel-money")
    page.locator(f"#users tr[data-email='{demo.OWNER.email}']").wait_for()
    assert page.locator("#users tr").count() == len(demo.EVERYONE)
    mine = page.locator(f"#users tr[data-email='{demo.ADMIN.email}']")
    assert "you" in mine.text_content() and mine.locator("button").count() == 0  # nothing to do to yourself
    screenshot(page, "admin-users")

    page.fill("#user-q", "CARMEN")  # any case, a piece of the e-mail or name
    page.wait_for_function("() => document.querySelectorAll('#users tr').length === 1")
    row = page.locator(f"#users tr[data-email='{carmen.email}']")
    assert "Carmen (annotator)" in row.text_content() and "Active" in row.text_content()
    page.once("dialog", lambda dialog: dialog.accept())  # "Deactivate ...? Their sessions end at once ..."
    row.locator("button[data-action=deactivate]").click()
    row.locator("button[data-action=activate]").wait_for()
    assert "Deactivated" in row.text_content()
    assert page.text_content("#users-result") == f"{carmen.email} is deactivated."
    stranger = page.context.browser.new_context()  # Carmen, meanwhile, cannot sign in
    refused = stranger.request.post(f"{live_server}/api/v1/auth/login",
                                    data={"email": carmen.email, "password": demo.PASSWORD})
    assert refused.status == 401
    page.select_option("#user-status", "deactivated")
    page.wait_for_function("() => document.getElementById('users-result').textContent !== ''")
    screenshot(page, "admin-users-deactivated")
    row.locator("button[data-action=activate]").click()
    page.locator("#no-users").wait_for(state="visible")  # no longer deactivated: gone from this list
    assert stranger.request.post(f"{live_server}/api/v1/auth/login",
                                 data={"email": carmen.email, "password": demo.PASSWORD}).status == 200
    stranger.close()

    page.select_option("#user-status", "")
    page.fill("#user-q", "王博")
    bo_row = page.locator(f"#users tr[data-email='{bo.email}']")
    bo_row.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    bo_row.locator("button[data-action=makeAdmin]").click()
    bo_row.locator("button[data-action=removeAdmin]").wait_for()
    assert "Administrator" in bo_row.text_content()
    page.select_option("#user-status", "admins")
    page.fill("#user-q", "")
    page.wait_for_function("() => document.querySelectorAll('#users tr').length === 2")

    page.focus("#tab-users")  # the keyboard moves between tabs
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-audit"
    page.locator("#audit tr").first.wait_for()
    actions = page.locator("#audit tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions[:3] == ["admin_granted", "account_activated", "account_deactivated"]
    first = page.locator("#audit tr").first.text_content()
    assert demo.ADMIN.email in first and bo.email in first and "Made an administrator" in first
    assert page.get_attribute("#audit-csv", "href") == "/api/v1/admin/audit.csv"
    with page.expect_download() as download:
        page.click("#audit-csv")
    assert "admin_granted" in open(download.value.path(), encoding="utf-8-sig").read()
    screenshot(page, "admin-audit")


def test_the_admin_page_speaks_chinese(live_server, page, seeded, app):
    with app.app_context():
        from annotator.runtime import runtime
        from annotator.users.models import User
        from sqlalchemy import update

        session = runtime().session_factory()
        session.execute(update(User).where(User.email == demo.ADMIN.email).values(locale="zh-CN"))
        session.commit()
        session.close()
    sign_in(page, live_server, demo.ADMIN.email, demo.PASSWORD)
    page.goto(f"{live_server}/admin#users")
    page.locator(f"#users tr[data-email='{demo.OWNER.email}']").wait_for()
    assert page.text_content("#tab-users") == "用户" and page.is_hidden("#panel-money")
    assert "已启用" in page.locator(f"#users tr[data-email='{demo.OWNER.email}']").text_content()
    screenshot(page, "admin-users-zh")
