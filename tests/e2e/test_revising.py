"""An annotator fixes an answer before its task completes, in the browser: Your answers lists it as open, Revise
opens the workspace on that task with the answer loaded, a new label is sent (Ctrl+Enter), the list shows it and
the API holds it; skip and flag are not offered; a completed task's answer has no Revise."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import answer, nxt, text_tasks

pytestmark = pytest.mark.e2e


def test_an_annotator_revises_an_answer_in_the_workspace(live_server, browser, client, owner, annotators, make_user):
    project = text_tasks(client, owner, count=2, overlap=2, label_schema={
        "tools": ["classify"], "labels": [{"id": "positive", "name": "Positive"}, {"id": "negative", "name": "Negative"}]})
    person = annotators[0]
    made = answer(client, nxt(client, project, person).get_json(), person, label="negative").get_json()
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "a0@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/label")
    page.locator("#my-answers-link").click()
    page.wait_for_url(f"{live_server}/projects/{project['id']}/answers")
    page.wait_for_selector("#answers-page[data-state=ready]")
    row = page.locator(f"#my-answers tr[data-annotation-id='{made['id']}']")
    assert "Negative" in row.text_content() and "may revise" in row.text_content()
    screenshot(page, "my-answers")
    row.locator("a[data-revise]").click()
    page.wait_for_url(f"{live_server}/projects/{project['id']}/label?revise={made['id']}")
    page.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
    assert page.get_attribute("#task-content", "data-task-id") == str(made["task_id"])
    assert "Negative" in page.text_content("#labels")  # the answer as it was
    assert "Revising" in page.text_content("#workspace-note")
    assert page.is_hidden("#skip") and page.is_hidden("#flag")
    assert page.text_content("#countdown") == ""
    screenshot(page, "revising")
    page.keyboard.press("/")
    page.keyboard.type("Posit")
    page.locator("#label-results li").first.wait_for()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/answers?revised={made['id']}")
    page.wait_for_selector("#answers-page[data-state=ready]")
    assert page.is_visible("#answers-note")
    assert "Positive" in page.locator(f"#my-answers tr[data-annotation-id='{made['id']}']").text_content()
    revised = client.get(f"/api/v1/annotations/{made['id']}", headers=person).get_json()
    assert revised["result"] == {"labels": ["positive"]}
    assert revised["lead_time_ms"] > 1200  # the first answer's 1.2 s and the revision's time
    # The task completes with a second answer: its answer is final, and the list says so.
    other = annotators[1]
    lease = nxt(client, project, other).get_json()
    while lease["task"]["id"] != made["task_id"]:
        answer(client, lease, other)
        lease = nxt(client, project, other).get_json()
    answer(client, lease, other)
    page.reload()
    page.wait_for_selector("#answers-page[data-state=ready]")
    final = page.locator(f"#my-answers tr[data-annotation-id='{made['id']}']")
    assert "final" in final.text_content() and final.locator("a[data-revise]").count() == 0
    page.goto(f"{live_server}/projects/{project['id']}/label?revise={made['id']}")  # an old link says why not
    page.locator("#workspace-error").wait_for(state="visible")
    assert "final" in page.text_content("#workspace-error")
    assert errors == []
    context.close()
