"""Issue 20's acceptance in the browser: a newcomer drops a CSV of external_id,annotator,label onto the import
page, then sees the agreement, each external annotator's reliability and the consensus on the dashboard, and
exports it with every answer."""
from __future__ import annotations

import json

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import create_text_project, run_exports

pytestmark = pytest.mark.e2e
LABELS = {"w1": ["positive", "negative", "positive", "negative", "species", "positive"],
          "w2": ["positive", "negative", "positive", "negative", "species", "negative"],
          "spammer": ["positive"] * 6}


def test_a_crowds_csv_is_dropped_on_the_import_page_and_analysed_on_the_dashboard(
        live_server, browser, client, owner, app, tmp_path):
    project = create_text_project(client, owner, overlap=3, name="Reviews from MTurk")
    rows = [{"external_id": f"hit-{n}", "data": {"text": f"review text {n}"}} for n in range(6)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    path = tmp_path / "batch_results.csv"
    path.write_text("external_id,annotator,label\n" + "".join(
        f"hit-{n},{worker},{label}\n" for worker, labels in LABELS.items() for n, label in enumerate(labels)))
    context, page, errors = watched_page(browser, 1280, 900)
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/import")
    page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")
    assert page.is_visible("#answers-import")
    page.set_input_files("#answer-file", str(path))
    page.wait_for_function("() => document.getElementById('answers-result').textContent.length > 0")
    assert "18 answers from 3 annotators" in page.text_content("#answers-result")
    screenshot(page, "answers-imported")
    page.click("#answers-result a")
    page.locator("#quality-body").wait_for(state="visible")
    table = page.text_content("#annotators")
    assert "w1 (external)" in table and "spammer (external)" in table
    page.locator("#progress-imported").wait_for(state="visible")  # not a bare 0%: how far the answers reach
    assert "18 answers imported from another tool, on 6 tasks" in page.text_content("#progress-imported")
    report = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert report["annotations"] == 18
    spammer_row = page.locator("#annotators tr", has_text="spammer").text_content()
    assert spammer_row  # the reliability column is the report's
    consensus = page.locator("#tasks-table tr").nth(1).text_content()
    assert "Negative" in consensus  # hit-1: w1 and w2 against the spammer
    screenshot(page, "answers-dashboard")
    page.locator("#tasks-table tr").nth(1).locator("a").click()  # the task viewer names them external too
    page.wait_for_selector("#task-page[data-state=ready]")
    assert page.locator("#answers tr").count() == 3 and "spammer (external)" in page.text_content("#answers")
    page.go_back()
    page.locator("#quality-body").wait_for(state="visible")
    page.select_option("select[name=include]", "all")
    page.click("#export-form button[type=submit]")
    page.locator("#exports tr").first.wait_for()
    run_exports(app)
    page.locator("#exports tr[data-status=completed] a.download").wait_for(timeout=15_000)
    href = page.get_attribute("#exports tr[data-status=completed] a.download", "href")
    body = page.request.get(live_server + href)
    lines = [json.loads(line) for line in body.text().splitlines() if line.strip()]
    assert len(lines) == 6 and all(len(line["annotations"]) == 3 for line in lines), lines[0]
    # A file with a label outside the taxonomy is refused whole, the row named.
    path.write_text("external_id,annotator,label\nhit-0,w9,Neutral\n")
    page.goto(f"{live_server}/projects/{project['id']}/import")
    page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")
    page.set_input_files("#answer-file", str(path))
    page.locator("#answers-error").wait_for(state="visible")
    assert "rows.1.label" in page.text_content("#answers-error")
    assert errors == []
    context.close()
