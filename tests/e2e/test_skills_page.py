"""Skills in the browser (issue 22): an annotator sees their skill tree (proven where routing trusts them) and
their expert tier in the workspace, in English and Chinese; the owner sees annotators x subtrees on the dashboard."""
from __future__ import annotations

import pytest

from tasks import jobs
from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import FIELD_CROWD, answer, deposit, field_guide_project, nxt

pytestmark = pytest.mark.e2e

TRUTHS = [("willow_warbler", "chiffchaff")[n % 2] for n in range(10)] + [("kestrel", "buzzard")[n % 2] for n in range(10)]
TIERS = [{"min_accuracy": 0.8, "min_answers": 10, "multiplier": 1.5},
         {"min_accuracy": 0.97, "min_answers": 40, "multiplier": 2}]


@pytest.fixture
def crowd_project(app, client, make_user, token_for):
    owner = token_for(make_user("owner@example.org", name="Owner"))
    crowd = {name: token_for(make_user(f"{name}@example.org", name=name.replace("_", " ").title()))
             for name in FIELD_CROWD}
    project, truth_of = field_guide_project(client, owner, TRUTHS, routing="skill", rewards={
        "per_annotation": 50, "agreement_bonus": 20, "mechanism": "agreement", "tiers": TIERS})
    deposit(client, app, project["id"], owner, 100_000)
    for name, headers in crowd.items():
        while (response := nxt(client, project, headers)).status_code == 200:
            lease = response.get_json()
            assert answer(client, lease, headers, label=FIELD_CROWD[name](truth_of[lease["task"]["id"]])
                          ).status_code == 201
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "one more"}}],
                       headers=owner).status_code == 201
    return project, crowd


def test_the_workspace_shows_your_skill_tree_and_tier(browser, live_server, client, crowd_project):
    project, crowd = crowd_project
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "warbler_expert@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/label")
    page.locator("#skills-tree li").first.wait_for()
    rows = {li.get_attribute("data-label"): li.text_content() for li in page.locator("#skills-tree li").all()}
    assert "proven" in rows["warbler"] and "proven" not in rows["raptor"]
    assert rows["warbler"].startswith("Warbler") and "10 answers" in rows["warbler"]
    assert "All labels" in rows[""]
    assert page.text_content("#tier-line") == "No expert tier yet."
    assert "Tier 1 (×1.5) needs 80% accuracy over 10 answers; you have 50% over 20." == page.text_content("#next-tier")
    screenshot(page, "skills-workspace")
    context.close()
    assert errors == []

    client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=crowd["all_rounder"])
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "all_rounder@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/label")
    page.locator("#skills-tree li").first.wait_for()
    assert page.text_content("#tier-line") == "等级 1：报酬 ×1.5"
    assert "等级 2（×2）" in page.text_content("#next-tier")
    names = page.locator("#skills-tree .skill-name").all_text_contents()
    assert "莺" in names and "猛禽" in names and "全部标签" in names
    assert page.locator("#skills-tree .proven").count() >= 2
    screenshot(page, "skills-workspace-zh")
    context.close()
    assert errors == []


def test_the_dashboard_shows_annotators_by_subtree(browser, live_server, crowd_project):
    project, _ = crowd_project
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "owner@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/quality")
    page.locator("#skills-heatmap tr[data-user-id]").first.wait_for()
    heads = page.locator("#skills-heatmap th").all_text_contents()
    assert heads[:4] == ["Annotator", "All labels", "Warbler", "Willow warbler"]
    rows = page.locator("#skills-heatmap tr[data-user-id]")
    assert rows.count() == 3
    expert = [rows.nth(i) for i in range(3) if rows.nth(i).locator("td").first.text_content() == "Warbler Expert"][0]
    warbler = expert.locator("td").nth(2)
    assert warbler.text_content() == "88%" and "10 answers" in warbler.get_attribute("title")  # (1 + 10 x 2/3) / (2 + 10 x 2/3)
    screenshot(page, "skills-heatmap")
    context.close()
    assert errors == []


def test_an_annotator_who_failed_a_subtrees_gold_is_told_so_in_the_workspace(browser, live_server, client, make_user,
                                                                            token_for):
    owner = token_for(make_user("owner@example.org", name="Owner"))
    project, _ = field_guide_project(client, owner, [], qualification={"warmup_gold": 3, "min_gold_accuracy": 0.7})
    rows = [{"data": {"text": f"gold raptor {n}"}, "gold": {"labels": ["kestrel"]}, "gold_scope": "raptor"}
            for n in range(3)] + [{"data": {"text": "a sighting"}}]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    annotator = token_for(make_user("mixer@example.org", name="Mixer"))
    for _ in range(3):
        assert answer(client, nxt(client, project, annotator).get_json(), annotator, label="buzzard").status_code == 201
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "mixer@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/label")
    page.locator("#skills-lost").wait_for()
    assert page.text_content("#skills-lost") == "Your answers under Raptor do not count: you missed the gold there."
    assert page.is_hidden("#skills-none")
    screenshot(page, "skills-subtree-disqualified")
    context.close()
    assert errors == []
