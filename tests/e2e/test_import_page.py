"""The import page remembers: on arrival it lists the project's recent imports with their status and progress,
and follows the ones still running until they finish (issue 19)."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import create_project, imported, jpeg, run_jobs, upload

pytestmark = pytest.mark.e2e


def open_import_page(page, live_server, project_id):
    page.goto(f"{live_server}/projects/{project_id}/import")
    page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")


def test_the_import_page_lists_earlier_imports_after_a_reload_and_follows_the_running_one(
        browser, live_server, client, app, make_user, token_for):
    owner = token_for(make_user("importer@example.org"))
    project_id = create_project(client, owner)["id"]
    context, page, errors = watched_page(browser)
    try:
        sign_in(page, live_server, "importer@example.org")
        open_import_page(page, live_server, project_id)
        assert page.is_visible("#no-imports") and page.locator("#import-jobs li").count() == 0

        done = imported(client, app, project_id, owner, {"first.jpg": jpeg(pattern=1), "broken.jpg": b"not a JPEG"})
        waiting = upload(client, project_id, owner, {"second.jpg": jpeg(pattern=2)}).get_json()
        open_import_page(page, live_server, project_id)
        jobs = page.locator("#import-jobs li[data-import-id]")
        assert [jobs.nth(i).get_attribute("data-import-id") for i in range(jobs.count())] == [
            str(waiting["id"]), str(done["id"])]  # newest first
        assert page.get_attribute(f"[data-import-id='{waiting['id']}']", "data-status") == "queued"
        finished = page.text_content(f"[data-import-id='{done['id']}']")
        assert "first.jpg" in finished and "broken.jpg" in finished and "1 task made" in finished
        assert page.is_hidden("#no-imports")
        screenshot(page, "import-page-after-reload")

        run_jobs(app)  # the worker finishes the queued import while the page is open: it is followed, no reload
        page.locator(f"[data-import-id='{waiting['id']}'][data-status=finished]").wait_for(timeout=15_000)
        assert "1 task made" in page.text_content(f"[data-import-id='{waiting['id']}']")
    finally:
        context.close()
    assert errors == []


def test_the_import_page_says_so_to_an_annotator_instead_of_listing(browser, live_server, client, make_user,
                                                                    token_for):
    owner = token_for(make_user("owner@example.org"))
    project_id = create_project(client, owner, visibility="public")["id"]
    make_user("labeller@example.org")
    context, page, errors = watched_page(browser)
    try:
        sign_in(page, live_server, "labeller@example.org")
        open_import_page(page, live_server, project_id)
        assert page.is_visible("#import-error") and page.is_hidden("#drop-zone")
        assert page.locator("#import-jobs li").count() == 0
    finally:
        context.close()
    assert errors == []
