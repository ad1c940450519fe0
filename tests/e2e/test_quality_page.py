"""The demo owner reads a demo project's quality in the browser: the numbers the API computed, nothing else."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in
from tests.factories import PASSWORD, create_text_project, nxt, run_exports, vehicle_project

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


def test_the_demo_image_project_shows_its_objects_agreement_and_who_drew_what(live_server, page, seeded, client):
    """Whole-item labels and boxes: the headline is the labels', and the objects panel has the objects' own alpha,
    per label with a "no object" row, the confusion and each annotator's objects as the API computed them."""
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    project_id = next(p["id"] for p in client.get("/api/v1/projects").get_json()["items"]
                      if p["name"] == demo.IMAGE_PROJECT)
    report = client.get(f"/api/v1/projects/{project_id}/agreement").get_json()
    assert report["measured_on"] == "labels"
    objects = report["objects"]
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{project_id}/quality")
    page.locator("#quality-body").wait_for(state="visible")
    assert page.text_content("#alpha") == f"{report['krippendorff_alpha']:.3f}"
    assert page.is_hidden("#measured-on-objects")
    # Nobody drew a polygon: no polygon figure; the boxes' figure shows its overlap.
    assert report.get("polygon_f1") is None
    assert page.locator("#structure-figures [data-kind='polygon']").count() == 0
    assert f"overlap {report['bbox_f1']['localisation']:.3f}" in page.text_content("#structure-figures [data-kind='bbox']")
    assert page.is_visible("#objects-panel") and page.is_visible("#objects-labels")
    summary = page.text_content("#objects-summary")
    assert f"{objects['objects']} objects matched across answers (Boxes)" in summary
    assert f"overlap {objects['localisation']:.3f}" in summary
    figures = page.text_content("#objects-figures")
    for key in ("krippendorff_alpha", "nominal_alpha", "fleiss_kappa", "mean_pairwise_cohen_kappa", "localisation"):
        assert f"{objects[key]:.3f}" in figures, key
    no_object = 1 if objects["no_object"]["annotations"] else 0
    assert page.locator("#objects-per-label tr").count() == len(objects["per_label"]) + no_object
    if no_object:
        assert page.text_content("#objects-per-label tr[data-no-object] td") == "no object"
    if objects["confusion"]:  # Carmen misnames every third box
        assert page.locator("#objects-confusion tr").count() == len(objects["confusion"]["labels"]) + 1
    for row in objects["per_annotator"]:
        cells = page.locator(f"#objects-annotators tr[data-user-id='{row['user_id']}'] td").all_text_contents()
        assert cells[1] == str(row["objects"])
        assert cells[2] == f"{round(row['agreement_with_consensus'] * 100)}%"
        assert cells[3] == f"{row['reliability']:.3f}"
    carmen = page.locator("#objects-annotators tr", has_text="Carmen").locator("td").nth(2).text_content()
    alice = page.locator("#objects-annotators tr", has_text="Alice").locator("td").nth(2).text_content()
    assert int(carmen.rstrip("%")) < int(alice.rstrip("%"))
    page.locator("#objects-panel").scroll_into_view_if_needed()
    screenshot(page, "quality-objects")


def test_a_boxes_only_project_leads_with_its_objects_labels_and_says_so(live_server, page, app, client, owner,
                                                                      annotators):
    project, _ = vehicle_project(app, client, owner, annotators)
    report = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert report["measured_on"] == "objects"
    sign_in(page, live_server, "owner@example.org", PASSWORD)
    page.goto(f"{live_server}/projects/{project['id']}/quality")
    page.locator("#quality-body").wait_for(state="visible")
    assert page.text_content("#alpha") == f"{report['krippendorff_alpha']:.3f}"
    assert page.text_content("#alpha-distance") == "(taxonomy)"
    assert page.text_content("#fleiss") == f"{report['fleiss_kappa']:.3f}"
    assert page.is_visible("#measured-on-objects")
    assert page.locator("#labels tr").count() == len(report["per_label"])  # everyone boxed every vehicle
    assert "Hatchback" in page.text_content("#confusion")
    # The objects panel does not repeat the headline: only how the objects matched and who drew them.
    assert page.is_visible("#objects-panel") and page.is_hidden("#objects-labels")
    assert page.locator("#objects-annotators tr").count() == 3
    screenshot(page, "quality-objects-only")


def test_carmens_wallet_names_the_box_she_misnamed_and_what_it_earned(live_server, page, seeded, client):
    carmen = next(u for u in demo.ANNOTATORS if u.display_name.startswith("Carmen"))
    client.post("/api/v1/auth/login", json={"email": carmen.email, "password": demo.PASSWORD})
    entries = client.get("/api/v1/wallet/entries?per_page=100").get_json()["items"]
    misnamed = next(e for e in entries if e["kind"] == "bonus" and (e.get("details") or {}).get("objects")
                    and e["details"]["objects"]["bbox"]["mislabelled"])
    wrong = misnamed["details"]["objects"]["bbox"]["mislabelled"][0]
    project = client.get(f"/api/v1/projects/{misnamed['project_id']}").get_json()
    names = {}

    def walk(nodes):
        for node in nodes:
            names[node["id"]] = node["name"]
            walk(node.get("children", []))
    walk(project["label_schema"]["labels"])
    sign_in(page, live_server, carmen.email, demo.PASSWORD)
    page.goto(f"{live_server}/wallet?project_id={misnamed['project_id']}")  # her other projects' lines are newer
    line = page.locator("#entries tr", has_text=f"Task {misnamed['task_id']} settled")
    line.first.wait_for()
    words = line.first.text_content()
    assert f"your answer agreed {round(misnamed['details']['score'] * 100)}%" in words
    found = misnamed["details"]["objects"]["bbox"]
    assert f"Boxes: {found['matched']} of your {found['drawn']} matched the {found['consensus']} in the consensus" in words
    assert f"“{names[wrong['label']]}” where the consensus says “{names[wrong['consensus']]}" in words
    assert f"({round(wrong['credit'] * 100)}% credit)" in words
    line.first.scroll_into_view_if_needed()
    screenshot(page, "wallet-objects")
