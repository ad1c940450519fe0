"""Empty states say what to do next, with a link that does it (issue 19): the project list with no project, a
project with no tasks (dashboard, workspace), tasks without answers, a workspace with nothing left to label,
the Incentives page before anything was paid; in English and Chinese."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import create_project, create_text_project

pytestmark = pytest.mark.e2e


@pytest.fixture
def signed_in(browser, live_server):
    """Sign a person in on a watched page: signed_in(email) -> page; no JavaScript error may happen on any."""
    opened = []

    def open_as(email):
        context, page, errors = watched_page(browser)
        opened.append((context, errors))
        sign_in(page, live_server, email)
        return page

    yield open_as
    for context, errors in opened:
        context.close()
        assert errors == []


def steps(page, host) -> dict[str, str]:
    """The next-step links in `host`: their words -> where they lead."""
    links = page.locator(f"{host} a")
    return {links.nth(i).text_content(): links.nth(i).get_attribute("href") for i in range(links.count())}


def dashboard(page, live_server, project_id):
    page.goto(f"{live_server}/projects/{project_id}/quality")
    page.locator("#quality-empty").wait_for(state="visible")


def workspace_done(page, live_server, project_id):
    page.goto(f"{live_server}/projects/{project_id}/label")
    page.locator("#done-panel").wait_for(state="visible")


def test_a_new_person_with_no_project_is_offered_to_start_one(signed_in, live_server, make_user):
    make_user("newcomer@example.org")
    page = signed_in("newcomer@example.org")
    page.locator("#no-projects").wait_for(state="visible")
    assert "ask a project's owner to invite you" in page.text_content("#no-projects")
    assert page.get_attribute("#no-projects-new", "href") == "/projects/new"
    screenshot(page, "empty-home")


def test_an_owner_of_a_project_without_tasks_is_sent_to_import_data(signed_in, live_server, client, make_user,
                                                                    token_for):
    owner = token_for(make_user("owner@example.org"))
    project_id = create_project(client, owner)["id"]
    page = signed_in("owner@example.org")
    dashboard(page, live_server, project_id)
    assert page.text_content("#quality-empty-text").startswith("No tasks yet")
    assert steps(page, "#quality-empty-steps") == {"Import data": f"/projects/{project_id}/import"}
    assert page.is_hidden("#quality-body")
    screenshot(page, "empty-dashboard-no-tasks")

    workspace_done(page, live_server, project_id)
    assert page.text_content("#done-text") == "This project has no tasks yet."
    assert steps(page, "#done-links") == {"Import data": f"/projects/{project_id}/import",
                                          "Dashboard": f"/projects/{project_id}/quality"}
    screenshot(page, "empty-workspace-owner")


def test_tasks_without_answers_ask_for_annotators_and_nothing_paid_points_at_the_budget(
        signed_in, live_server, client, make_user, token_for):
    owner = token_for(make_user("owner@example.org"))
    project_id = create_text_project(client, owner)["id"]
    assert client.post(f"/api/v1/projects/{project_id}/tasks", json=[{"data": {"text": "one"}}],
                       headers=owner).status_code == 201
    page = signed_in("owner@example.org")
    dashboard(page, live_server, project_id)
    assert page.text_content("#quality-empty-text").startswith("No answers yet")
    assert steps(page, "#quality-empty-steps") == {"Invite annotators": f"/projects/{project_id}/members",
                                                   "Label some yourself": f"/projects/{project_id}/label"}
    screenshot(page, "empty-dashboard-no-answers")

    page.goto(f"{live_server}/projects/{project_id}/incentives")
    page.locator("#no-replay").wait_for(state="visible")
    assert page.is_hidden("#replay-table")
    assert page.get_attribute("#fund-link", "href") == f"/projects/{project_id}/settings"
    screenshot(page, "empty-incentives")


def test_an_annotator_with_nothing_left_is_told_to_come_back_or_go_elsewhere_in_their_language(
        signed_in, live_server, client, make_user, token_for):
    owner = token_for(make_user("owner@example.org"))
    project_id = create_text_project(client, owner, visibility="public")["id"]
    make_user("reader@example.org")
    page = signed_in("reader@example.org")
    workspace_done(page, live_server, project_id)
    assert page.text_content("#done-text") == "No tasks are left for you in this project. Thank you!"
    assert page.text_content("#done-next") == "New tasks may come later: come back then, or label in another project."
    assert steps(page, "#done-links") == {"Other projects": "/", "Your answers": f"/projects/{project_id}/answers"}

    chinese = token_for(make_user("zh@example.org"))
    assert client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=chinese).status_code == 200
    page = signed_in("zh@example.org")
    workspace_done(page, live_server, project_id)
    assert page.text_content("#done-next") == "之后可能会有新任务，请稍后再来，或去其他项目标注。"
    assert steps(page, "#done-links") == {"其他项目": "/", "我的答案": f"/projects/{project_id}/answers"}
    screenshot(page, "empty-workspace-annotator-zh")
