"""Three annotators in three browsers label an overlap-2 project at the same time, through the workspace."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tasks.assignment import recount
from tasks.models import Annotation, Task
from tests.e2e.browser import screenshot, sign_in
from tests.factories import create_text_project

pytestmark = pytest.mark.e2e
TASKS = 10


def shown_task(page):
    """The task on screen, once the page takes keys for it; or None once the page says nothing is left."""
    page.wait_for_function("""() => !document.getElementById('done-panel').hidden ||
        document.getElementById('workspace').dataset.state === 'ready'""")
    if page.is_visible("#done-panel"):
        return None
    return int(page.get_attribute("#task-content", "data-task-id"))


def test_three_annotators_in_three_browsers_never_see_a_task_twice(browser, live_server, client, app, make_user,
                                                                  token_for, db):
    owner = token_for(make_user("owner@example.org"))
    project = create_text_project(client, owner, visibility="public", overlap=2, name="Reviews <b>bold</b>")
    rows = [{"data": {"text": f"Review number {n}: <img src=x onerror=alert(1)>"}} for n in range(TASKS)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    emails = [f"a{n}@example.org" for n in range(3)]
    contexts = [browser.new_context(viewport={"width": 1100, "height": 760}) for _ in emails]
    pages = [context.new_page() for context in contexts]
    errors: list[str] = []
    for page in pages:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    try:
        for page, email in zip(pages, emails):
            make_user(email)
            sign_in(page, live_server, email)
            page.click(f"a[data-project-id='{project['id']}']")  # from the project list on the home page
            page.wait_for_url(f"{live_server}/projects/{project['id']}/label")
        seen: dict[str, list[int]] = {email: [] for email in emails}
        current = {email: shown_task(page) for page, email in zip(pages, emails)}
        screenshot(pages[0], "label-workspace")
        while any(task is not None for task in current.values()):
            working = [(page, email) for page, email in zip(pages, emails) if current[email] is not None]
            for page, email in working:  # all three answer at once: the submits and nexts overlap in the server
                seen[email].append(current[email])
                page.keyboard.press("1")
                page.keyboard.press("Control+Enter")
            for page, email in working:
                page.wait_for_function(f"""() => !document.getElementById('done-panel').hidden ||
                    (document.getElementById('workspace').dataset.state === 'ready' &&
                     document.getElementById('task-content').dataset.taskId !== '{current[email]}')""")
                current[email] = shown_task(page)
        screenshot(pages[0], "label-workspace-done")
        assert pages[0].text_content("#countdown") == ""
    finally:
        for context in contexts:
            context.close()
    assert errors == []
    for email, tasks in seen.items():
        assert len(tasks) == len(set(tasks)), f"{email} saw a task twice: {tasks}"
    assert sum(len(tasks) for tasks in seen.values()) == 2 * TASKS
    per_task = dict(db.execute(select(Annotation.task_id, func.count()).group_by(Annotation.task_id)).all())
    assert sorted(per_task.values()) == [2] * TASKS  # every task answered twice, none a third time
    for task in db.scalars(select(Task)).all():
        assert (task.status, task.submitted, task.leased) == ("completed", 2, 0)
        assert recount(db, task.id) == (0, 2)


def test_a_project_you_cannot_see_says_how_to_get_in_and_the_same_for_one_that_does_not_exist(
        page, live_server, make_user, client, token_for):
    owner = token_for(make_user("owner@example.org"))
    private = create_text_project(client, owner, visibility="private")
    make_user("outsider@example.org")
    sign_in(page, live_server, "outsider@example.org")
    said = []
    for project_id in (private["id"], 999_999):
        page.goto(f"{live_server}/projects/{project_id}/label")
        page.locator("#workspace-error").wait_for(state="visible")
        said.append(page.text_content("#workspace-error"))
        assert "Ask its owner to invite you" in said[-1] and "outsider@example.org" in said[-1]
        assert page.is_hidden("#task-panel") and page.is_hidden("#done-panel")
    assert said[0] == said[1]  # a private project and a missing one read the same: nobody learns which it is


def test_the_workspace_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/projects/1/label")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
