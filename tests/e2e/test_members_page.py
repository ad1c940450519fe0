"""The owner manages a private project's people in the browser: invites an address with an account (a member at
once) and one without (a pending invitation that becomes a membership at sign-up), changes a role, removes
someone; a signed-in stranger opening the project is told how to get in."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import text_project_body

pytestmark = pytest.mark.e2e


def test_the_owner_invites_by_email_and_the_invited_newcomer_labels_after_signing_up(live_server, page, seeded,
                                                                                      client, browser):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    csrf = {"X-CSRF-Token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    made = client.post("/api/v1/projects", json=text_project_body(name="Private birds", visibility="private"),
                       headers=csrf)
    assert made.status_code == 201, made.get_json()
    pid = made.get_json()["id"]
    assert client.post(f"/api/v1/projects/{pid}/tasks", json=[{"data": {"text": "A warbler sang."}}],
                       headers=csrf).status_code == 201

    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.locator(f"a[data-members-for='{pid}']").click()
    page.wait_for_url(f"{live_server}/projects/{pid}/members")
    page.wait_for_selector("#members-page[data-state=ready]")
    assert "Members only" in page.text_content("#visibility-now")
    assert page.is_visible("#no-members")

    alice = demo.ANNOTATORS[0]
    page.fill("#invite-form input[name=email]", alice.email)
    page.click("#invite-form button[type=submit]")
    page.locator(f"#members tr[data-email='{alice.email}']").wait_for()
    assert "now a member" in page.text_content("#invite-result")

    page.fill("#invite-form input[name=email]", "Invited.Newcomer@example.org")
    page.select_option("#invite-role", "annotator")
    page.click("#invite-form button[type=submit]")
    page.locator("#invitations tr[data-email='invited.newcomer@example.org']").wait_for()
    assert "/signup" in page.text_content("#invite-result")
    page.locator(f"#members tr[data-email='{alice.email}'] select").select_option("reviewer")
    page.wait_for_function("() => document.getElementById('invite-result').textContent.includes('reviewer')")
    screenshot(page, "members")
    roles = {m["user"]["email"]: m["role"]
             for m in client.get(f"/api/v1/projects/{pid}/members").get_json()["items"]}
    assert roles == {alice.email: "reviewer"}

    # The newcomer signs up with the invited address and may label straight away.
    context, newcomer, errors = watched_page(browser)
    newcomer.goto(live_server + "/signup")
    newcomer.fill("input[name=display_name]", "Invited newcomer")
    newcomer.fill("input[name=email]", "invited.newcomer@example.org")
    newcomer.fill("input[name=password]", "a much longer passphrase 2026")
    newcomer.click("button[type=submit]")
    newcomer.wait_for_url(live_server + "/")
    newcomer.locator(f"a[data-project-id='{pid}']").wait_for()
    newcomer.goto(f"{live_server}/projects/{pid}/label")
    newcomer.locator("#task-text").wait_for()
    newcomer.wait_for_function("() => document.getElementById('task-text').textContent.includes('warbler')")
    assert errors == []
    context.close()

    page.reload()
    page.wait_for_selector("#members-page[data-state=ready]")
    assert page.is_hidden("#invitations-panel")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#members tr[data-email='invited.newcomer@example.org'] button.danger").click()
    page.locator("#members tr[data-email='invited.newcomer@example.org']").wait_for(state="detached")
    assert page.locator("#members tr").count() == 1


def test_a_stranger_opening_a_private_project_is_told_to_ask_for_an_invitation(live_server, page, seeded, client):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    csrf = {"X-CSRF-Token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    pid = client.post("/api/v1/projects", json=text_project_body(name="Closed", visibility="private"),
                      headers=csrf).get_json()["id"]
    stranger = demo.ANNOTATORS[1]
    sign_in(page, live_server, stranger.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{pid}/label")
    error = page.locator("#workspace-error")
    error.wait_for(state="visible")
    # Bo reads Chinese: the page says, in his language, to ask the owner for an invitation to his address.
    assert "邀请" in error.text_content() and stranger.email in error.text_content()
    screenshot(page, "private-project-stranger")


def test_a_manager_sees_the_people_but_cannot_change_them(live_server, page, seeded, client):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    csrf = {"X-CSRF-Token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    pid = client.post("/api/v1/projects", json=text_project_body(name="Managed"), headers=csrf).get_json()["id"]
    manager = demo.ANNOTATORS[2]
    client.post(f"/api/v1/projects/{pid}/members", json={"email": manager.email, "role": "manager"}, headers=csrf)
    sign_in(page, live_server, manager.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{pid}/members")
    page.wait_for_selector("#members-page[data-state=ready]")
    assert page.is_hidden("#invite-panel") and page.is_hidden("#visibility-toggle")
    assert page.locator(f"#members tr[data-email='{manager.email}'] select").is_disabled()
    assert page.locator("#members button").count() == 0
