"""The demo owner reads a demo project's quality in the browser: the numbers the API computed, nothing else."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.conftest import screenshot
from tests.e2e.test_labelling import sign_in
from tests.e2e.test_sign_in import seeded  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


def test_the_demo_owner_sees_agreement_per_label_per_annotator_and_per_task(live_server, page, seeded,  # noqa: F811
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
    page.click("button[data-sort='reliability']")
    screenshot(page, "quality")
