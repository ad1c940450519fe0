"""The demo owner reads a demo project's quality in the browser: the numbers the API computed, nothing else."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in
from tests.factories import PASSWORD, create_text_project, nxt, run_exports

pytestmark = pytest.mark.e2e


def test_the_demo_owner_sees_agreement_per_label_per_annotator_and_per_task(live_server, page, seeded,
                                                                          client):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    project_id = next(p["id"] for p in client.get("/api/v1/projects").get_json()["items"]
                      if p["name"] == demo.TEXT_PROJECT)
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.click(f"a[data-quality-for='{project_id}']")  # from the project list on the home page
    page.wait_for_url(f"{live_server}/projects/{project_id}/quality")
    page.locator("#quality-body").wait_for(state="visible")
    report = client.get(f"/api/v1/projects/{project_id}/agreement").get_json()
    assert page.text_content("#alpha") == f"{report['krippendorff_alpha']:.3f}"
    low, high = report["alpha_interval"]
    assert page.text_content("#alpha-interval") == f"[{low:.3f}, {high:.3f}]"
    assert page.text_content("#alpha-distance") == "(taxonomy)"
    assert page.locator("#labels tr").count() == len(report["per_label"])
    names = {row["user_id"] for row in report["per_annotator"]}
    assert {int(x) for x in page.locator("#annotators tr").evaluate_all("rows => rows.map(r => r.dataset.userId)")} == names
    assert "Alice (annotator)" in page.text_content("#annotators")
    tasks = client.get(f"/api/v1/projects/{project_id}/tasks").get_json()["items"]
    answered = next(t for t in tasks if t["consensus"])
    row = page.locator(f"#tasks-table tr[data-task-id='{answered['id']}']")
    assert f"{round(answered['consensus']['confidence'] * 100)}%" in row.text_content()
    if report["confusion"]:  # the demo's second annotator disagrees on purpose
        assert page.locator("#confusion tr").count() == len(report["confusion"]["labels"]) + 1
        assert page.locator("#confusion tr").nth(1).locator("td").nth(1).text_content() == \
            str(report["confusion"]["pairs"][0][1])
    page.click("button[data-sort='reliability']")
    screenshot(page, "quality")


def test_the_demo_owner_exports_from_the_dashboard_watches_it_finish_and_downloads_a_coco_file(
        live_server, page, seeded, client, app, tmp_path):
    from pycocotools.coco import COCO

    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    project_id = next(p["id"] for p in client.get("/api/v1/projects").get_json()["items"]
                      if p["name"] == demo.IMAGE_PROJECT)
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{project_id}/quality")
    page.locator("#exports-panel").wait_for(state="visible")
    page.locator("#progress-text").wait_for(state="visible")
    assert "%" in page.text_content("#progress-text")
    audit = page.request.get(live_server + page.get_attribute("#audit-link", "href"))
    assert audit.status == 200 and audit.text().lstrip("\ufeff").startswith("id,created_at,actor_id,action")
    page.select_option("#export-format", "coco")
    page.select_option("select[name=include]", "all")
    page.click("#export-form button[type=submit]")
    row = page.locator("#exports tr").first
    row.wait_for()
    assert row.get_attribute("data-status") == "queued"  # nothing runs it yet: the page waits and polls
    run_exports(app)  # the exports worker
    page.locator("#exports tr[data-status=completed] a.download").wait_for(timeout=15_000)
    screenshot(page, "dashboard-exports")
    href = page.get_attribute("#exports tr[data-status=completed] a.download", "href")
    body = page.request.get(live_server + href)  # with the page's session cookie, as a click would
    assert body.status == 200
    path = tmp_path / "export.json"
    path.write_bytes(body.body())
    coco = COCO(str(path))
    assert coco.getImgIds() and coco.getAnnIds() and coco.getCatIds()


def test_the_owner_clears_the_moderation_queue_from_the_dashboard(live_server, page, client, make_user, token_for):
    owner = token_for(make_user("mod@example.org"))
    annotator = token_for(make_user("flagger@example.org"))
    project = create_text_project(client, owner, visibility="public", overlap=1)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "a phone number: 555-0100"}}],
                headers=owner)
    lease = nxt(client, project, annotator).get_json()
    assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/flag",
                       json={"reason": "private_data", "note": "<b>a phone</b> number"},
                       headers=annotator).status_code == 200
    sign_in(page, live_server, "mod@example.org", PASSWORD)
    page.goto(f"{live_server}/projects/{project['id']}/quality")
    row = page.locator("#flags tr[data-flag-id]")
    row.wait_for()
    assert "Private data" in row.text_content() and "<b>a phone</b> number" in row.text_content()
    screenshot(page, "moderation-queue")
    row.locator("button[data-action=remove]").click()
    page.locator("#no-flags").wait_for(state="visible")
    flags = client.get(f"/api/v1/projects/{project['id']}/flags", headers=owner).get_json()["items"]
    assert len(flags) == 1 and flags[0]["status"] == "removed" and flags[0]["resolved_at"]
