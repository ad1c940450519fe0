"""Papercuts of the workspace a new user found (issue 19): the image follows the layout when the Instructions
open, the "work restored" note goes with its task, the shortcut list names the project's tools only, and the
recent labels are the ones the user chose."""
from __future__ import annotations

import pytest

from sqlalchemy import select

from annotator.users.models import User
from tasks.models import Assignment
from tests.e2e.browser import drag_box, screenshot, sign_in, watched_page
from tests.factories import BIRDS, create_project, jpeg, run_jobs, upload

pytestmark = pytest.mark.e2e
BOXES = {**BIRDS, "tools": ["bbox"]}  # a boxes-only project: no polygon, keypoint, span or classify
INSTRUCTIONS = "\n\n".join(f"Step {n}: draw a **tight** box around every bird you can see." for n in range(1, 13))
IMAGE_IN_VIEW = """() => {
    const stage = window.annotatorStage;
    const box = document.getElementById('stage').getBoundingClientRect();
    const [left, top] = stage.clientPoint([0, 0]);
    const [right, bottom] = stage.clientPoint([640, 480]);
    return left >= box.left - 1 && top >= box.top - 1 && right <= box.right + 1 && bottom <= box.bottom + 1;
}"""


@pytest.fixture
def boxes_project(client, make_user, token_for, app):
    owner = token_for(make_user("owner@example.org"))
    project = create_project(client, owner, label_schema=BOXES, overlap=1, visibility="public",
                             instructions=INSTRUCTIONS)
    files = {f"bird{n}.jpg": jpeg(640, 480, color=(40 * n, 120, 200 - 30 * n), pattern=n) for n in range(2)}
    assert upload(client, project["id"], owner, files).status_code == 202
    run_jobs(app)
    return project


@pytest.fixture
def workspace(browser, live_server, boxes_project, make_user):
    """An annotator's watched page on the project's workspace; no JavaScript error may happen on it."""
    make_user("annotator@example.org")
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "annotator@example.org")
    page.goto(f"{live_server}/projects/{boxes_project['id']}/label")
    yield page
    context.close()
    assert errors == []


def ready_task(page) -> int:
    page.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
    return int(page.get_attribute("#task-content", "data-task-id"))


def choose(page, query):
    page.keyboard.press("/")
    page.keyboard.type(query)
    page.locator("#label-results li").first.wait_for()
    page.keyboard.press("Enter")


def scale(page) -> float:
    return page.evaluate("window.annotatorStage.view().scale")


def test_the_image_refits_when_the_instructions_open_and_close_unless_the_user_zoomed(workspace):
    page = workspace
    ready_task(page)
    assert page.evaluate(IMAGE_IN_VIEW)
    fitted = scale(page)
    page.click("details.instructions summary")
    # The stage is lower now: the image refits, smaller, without pressing 0. Wait for the refit itself (the image
    # was in view before it, so waiting for that alone could look before the layout changed).
    page.wait_for_function(f"() => window.annotatorStage.view().scale < {fitted}", timeout=3000)
    assert page.evaluate(IMAGE_IN_VIEW)  # the whole image
    screenshot(page, "workspace-instructions-open")
    page.click("details.instructions summary")
    page.wait_for_function(f"() => Math.abs(window.annotatorStage.view().scale - {fitted}) < 1e-6", timeout=3000)

    page.locator("#stage").focus()
    page.keyboard.press("+")  # a zoom the user chose is kept as the layout changes
    zoomed = scale(page)
    page.click("details.instructions summary")
    page.wait_for_timeout(300)
    assert scale(page) == pytest.approx(zoomed)


def restore_a_draft(page):
    """Draw a box, let the draft be kept, reload: the same task says its unsent work was restored."""
    task = ready_task(page)
    choose(page, "sparrow")
    drag_box(page, (40, 40), (200, 160))
    page.wait_for_timeout(400)
    page.reload()
    assert ready_task(page) == task
    assert page.is_visible("#workspace-note")
    return task


def test_the_restored_work_note_goes_when_the_task_is_skipped_or_submitted(workspace):
    page = workspace
    skipped = restore_a_draft(page)
    page.keyboard.press("Shift+S")
    page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{skipped}'")
    assert page.is_hidden("#workspace-note")

    restore_a_draft(page)
    page.keyboard.press("Control+Enter")  # the last task: nothing follows it
    page.locator("#done-panel").wait_for(state="visible")
    assert page.is_hidden("#workspace-note")
    screenshot(page, "workspace-done-no-restored-note")


def test_the_shortcut_list_names_only_the_projects_tools(workspace):
    page = workspace
    ready_task(page)
    page.keyboard.press("?")
    page.locator("#help-dialog").wait_for(state="visible")
    listed = page.text_content("#help-rows")
    assert "Bounding box" in listed and "Zoom in" in listed
    for unused in ("Polygon", "Keypoint", "Text span"):
        assert unused not in listed
    screenshot(page, "workspace-shortcuts-boxes-only")
    page.keyboard.press("Escape")
    page.keyboard.press("p")  # no polygon tool here, and no key for one
    assert page.get_attribute("#tools [data-tool=bbox]", "aria-pressed") == "true"


def test_recent_labels_are_empty_until_the_user_chooses_then_most_recent_first(workspace):
    page = workspace
    ready_task(page)
    assert page.is_hidden("#recent") and page.locator("#recent .chip").count() == 0  # not the taxonomy's roots
    choose(page, "sparrow")
    choose(page, "yellow_warbler")
    assert page.locator("#recent .chip").all_text_contents() == ["1 黄林莺", "2 麻雀"]
    page.keyboard.press("2")
    assert page.get_attribute("#recent .chip.current", "data-label-id") == "sparrow"
    page.reload()
    ready_task(page)
    assert page.locator("#recent .chip").all_text_contents() == ["1 麻雀", "2 黄林莺"]  # kept for the project
    screenshot(page, "workspace-recent-labels")



def test_an_answer_refused_for_a_closed_lease_says_why_above_the_next_task(workspace, client, token_for, db):
    page = workspace
    task = ready_task(page)
    choose(page, "sparrow")
    drag_box(page, (40, 40), (200, 160))
    held = db.scalars(select(Assignment).where(Assignment.task_id == task)).one()
    annotator = db.get(User, held.user_id)
    # The same person skips the task elsewhere (another tab, a script): this tab's answer is refused, 409.
    assert client.post(f"/api/v1/assignments/{held.id}/skip", json={}, headers=token_for(annotator)).status_code == 200
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{task}'")
    ready_task(page)
    assert page.is_visible("#workspace-error")  # not cleared by the next task's arrival
    assert page.text_content("#workspace-error") == "This assignment was skipped."
    screenshot(page, "workspace-refused-answer")
