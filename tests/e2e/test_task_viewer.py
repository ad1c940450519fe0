"""The owner browses the demo image project's tasks, filters the disputed ones, opens one and sees every
annotator's boxes overlaid in their colours with the consensus, the reviews and the ledger lines; a text task
shows each annotator's spans as a row; the dashboard and moderation queue open the same viewer."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in, watched_page

pytestmark = pytest.mark.e2e


def project_named(client, name):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    return next(p for p in client.get("/api/v1/projects").get_json()["items"] if p["name"] == name)


def test_the_owner_filters_tasks_and_sees_every_annotators_boxes(live_server, browser, seeded, client):
    image = project_named(client, demo.IMAGE_PROJECT)
    context, page, errors = watched_page(browser, width=1400, height=900)
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.locator(f"a[data-tasks-for='{image['id']}']").click()
    page.wait_for_selector("#tasks-page[data-state=ready]")
    assert page.locator("#task-rows tr").count() == demo.IMAGES
    page.select_option("#task-filters select[name=status]", "completed")
    page.fill("#task-filters input[name=max_agreement]", "0.99")
    page.click("#task-filters button[type=submit]")
    page.wait_for_function("() => new URLSearchParams(location.search).get('max_agreement') === '0.99'")
    page.wait_for_function("n => document.querySelectorAll('#task-rows tr').length < n", arg=demo.IMAGES)
    disputed = client.get(f"/api/v1/projects/{image['id']}/tasks",
                          query_string={"status": "completed", "max_agreement": 0.99}).get_json()
    assert disputed["total"] > 0
    assert page.locator("#task-rows tr").count() == disputed["total"]
    screenshot(page, "task-browser")
    task = disputed["items"][0]
    page.locator(f"#task-rows tr[data-task-id='{task['id']}'] a").click()
    page.wait_for_selector("#task-page[data-state=ready]")
    answers = client.get(f"/api/v1/tasks/{task['id']}/annotations").get_json()["items"]
    drawn = sum(len(a["result"].get("objects", [])) for a in answers)
    consensus = client.get(f"/api/v1/tasks/{task['id']}/consensus").get_json()
    agreed = len((consensus.get("result") or {}).get("objects", []))
    assert page.locator("#task-overlay > *").count() == drawn + agreed
    owners = set(page.eval_on_selector_all("#task-overlay > *", "els => els.map(e => e.getAttribute('stroke'))"))
    assert len(owners) == len({a["user_id"] for a in answers}) + (1 if agreed else 0)  # a colour per annotator
    assert page.locator("#answers tr").count() == len(answers)
    assert all(a["user"]["display_name"] in page.text_content("#answers") for a in answers)
    assert page.locator("#ledger-rows tr").count() > 0
    screenshot(page, "task-viewer-image")
    # Switching an annotator off hides their boxes.
    first = answers[0]
    mine = len(first["result"].get("objects", []))
    page.uncheck(f"#legend input[data-owner='{first['user_id']}']")
    assert page.locator("#task-overlay > *").count() == drawn + agreed - mine
    page.click("#back-to-tasks")
    page.wait_for_selector("#tasks-page[data-state=ready]")
    assert page.input_value("#task-filters input[name=max_agreement]") == "0.99"
    assert errors == []
    context.close()


def test_a_text_task_shows_each_annotators_answer_and_the_dashboard_links_to_it(live_server, page, seeded, client):
    text = project_named(client, demo.TEXT_PROJECT)
    answered = client.get(f"/api/v1/projects/{text['id']}/tasks", query_string={"status": "completed"}).get_json()
    task = answered["items"][0]
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{text['id']}/quality")
    page.locator(f"#tasks-table tr[data-task-id='{task['id']}'] a").click()
    page.wait_for_url(f"{live_server}/projects/{text['id']}/tasks/{task['id']}")
    page.wait_for_selector("#task-page[data-state=ready]")
    answers = client.get(f"/api/v1/tasks/{task['id']}/annotations").get_json()["items"]
    assert page.locator("#answers tr").count() == len(answers) > 0
    assert page.is_visible("#task-plain") and task["data"]["text"] in page.text_content("#task-plain")
    assert page.text_content("#consensus-line") != ""
    screenshot(page, "task-viewer-text")
