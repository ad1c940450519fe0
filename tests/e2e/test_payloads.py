"""Script payloads in every user string a page shows (project name, instructions, label names, attribute
options, task text, display name, flag note) never run in Chromium, on every page they appear in: no dialog,
no element made from them, the text shown as text."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import create_text_project, nxt

pytestmark = pytest.mark.e2e
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
SCHEMA = {"tools": ["classify", "span"], "labels": [
    {"id": "evil", "name": f"{IMG}label", "children": [{"id": "child", "name": f"{SCRIPT}child"}]},
    {"id": "fine", "name": "fine"}],
    "attributes": [{"name": "tone", "type": "choice", "options": [IMG, "calm"]}]}

CHECK = """() => ({
    injected: document.querySelectorAll('img[src="x"], script:not([src]), [onerror], a[href^="javascript"]').length,
    text: document.body.innerText,
})"""


def test_no_user_string_runs_as_script_on_any_page(browser, live_server, client, make_user, token_for):
    owner_user = make_user("xss-owner@example.org", name=f"{IMG}owner")
    owner = token_for(owner_user)
    annotator = make_user("xss-annotator@example.org", name=f"{SCRIPT}annotator")
    project = create_text_project(client, owner, visibility="public", overlap=1, label_schema=SCHEMA,
                                  name=f"{IMG}{SCRIPT}project",
                                  instructions=f"{IMG}\n\n[click](javascript:alert(3)) {SCRIPT}")
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": f"{SCRIPT}{IMG} task one"}},
                                                                 {"data": {"text": f"{IMG} task two"}}], headers=owner)
    lease = nxt(client, project, token_for(annotator)).get_json()
    assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/flag",
                       json={"reason": "other", "note": f"{IMG}{SCRIPT}note"},
                       headers=token_for(annotator)).status_code == 200
    make_user("xss-admin@example.org", admin=True)
    assert client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": 5},
                       headers=owner).status_code == 201  # the admin's desk names the project and its owner
    pages = [("xss-annotator@example.org", f"/projects/{project['id']}/label"),
             ("xss-admin@example.org", "/admin"),
             ("xss-admin@example.org", "/admin#users"), ("xss-admin@example.org", "/admin#audit"),
             ("xss-owner@example.org", f"/projects/{project['id']}/incentives"),
             ("xss-annotator@example.org", "/"), ("xss-annotator@example.org", "/wallet"),
             ("xss-owner@example.org", f"/projects/{project['id']}/quality"),
             ("xss-owner@example.org", f"/projects/{project['id']}/settings"),
             ("xss-owner@example.org", f"/projects/{project['id']}/import")]
    for email, path in pages:
        context, page, errors = watched_page(browser)
        try:
            sign_in(page, live_server, email)
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            if path.endswith("/label"):
                page.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
                page.keyboard.press("/")
                page.keyboard.type("label")  # the payload label in the search results, as text
                page.wait_for_timeout(200)
            found = page.evaluate(CHECK)
            name = path.strip("/").replace("/", "-").replace("#", "-") or "home"
            screenshot(page, f"payloads-{name}")
            assert found["injected"] == 0, (path, found)
            assert errors == [], (path, errors)
            if path.endswith("/label"):
                assert "task one" in found["text"] and "<img src=x onerror=alert(1)>" in found["text"]
            if path.endswith("#users"):
                assert f"{IMG}owner" in found["text"] and f"{SCRIPT}annotator" in found["text"]
            if path.endswith("#audit"):
                assert f"{IMG}{SCRIPT}project" in found["text"]  # the project's name, as text
            if path.endswith("/quality"):
                assert f"{IMG}{SCRIPT}note" in found["text"]  # the flag note, in the moderation queue, as text
        finally:
            context.close()
