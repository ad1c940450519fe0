"""An owner sets a project up in the browser: the form with a pasted 3-level taxonomy, bad input shown where
it was typed, an import by file choice with its progress, refused files and counts, then a deposit; and the
wallet page of an annotator who earned something."""
from __future__ import annotations

import pytest


from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import answer, confirm_deposits, funded, jpeg, nxt, run_jobs

pytestmark = pytest.mark.e2e
TAXONOMY = """鸟类 [bird]
  莺 [warbler]
    黄林莺 [yellow_warbler]
    欧柳莺
  麻雀 [sparrow]
哺乳类
  蝙蝠 [bat]
"""


def test_an_owner_creates_a_project_imports_images_and_funds_it(browser, live_server, make_user, client,
                                                               token_for, app, tmp_path):
    owner = make_user("maker@example.org")
    context, page, errors = watched_page(browser, 1280, 900)
    try:
        sign_in(page, live_server, "maker@example.org")
        page.click("#new-project")
        page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
        page.fill("input[name=name]", "Yunnan <script>alert(1)</script> birds")
        page.fill("textarea[name=instructions]", "# Boxes\nDraw **tight** boxes. <img src=x onerror=alert(1)>")
        assert page.locator("#instructions-preview strong").text_content() == "tight"
        assert page.locator("#instructions-preview img").count() == 0
        page.fill("textarea[name=instructions]", "- [guide](https://example.org/guide) [bad](javascript:alert(1))\n"
                                                 "- **注意：**不要框影子")
        link = page.locator("#instructions-preview a")  # the javascript: one stays text
        assert link.count() == 1 and link.get_attribute("href") == "https://example.org/guide"
        assert (link.get_attribute("rel"), link.get_attribute("target")) == ("noopener noreferrer nofollow", "_blank")
        assert page.locator("#instructions-preview li strong").text_content() == "注意："
        screenshot(page, "project-new-instructions")
        page.fill("textarea[name=instructions]", "# Boxes\nDraw **tight** boxes. <img src=x onerror=alert(1)>")
        page.check("input[name=tool][value=polygon]")
        page.fill("#taxonomy", "鸟类\n  莺\n      黄林莺")  # a child two levels down: refused with its line
        assert "3" in page.text_content("#taxonomy-errors")
        page.click("#save")
        assert page.is_visible("#form-error")  # nothing sent while the labels are wrong
        page.fill("#taxonomy", TAXONOMY)
        assert page.text_content("#taxonomy-errors") == ""
        assert "7" in page.text_content("#taxonomy-count")
        page.fill("#taxonomy-search", "黄林")
        assert page.locator("#taxonomy-tree li").first.get_attribute("data-label-id") == "yellow_warbler"
        page.fill("textarea[name=attributes]", "occluded: boolean\npose: choice perched|flying")
        page.fill("input[name=overlap]", "0")  # the API's words come back next to the form
        page.fill("input[name=per_annotation]", "0.50")
        page.click("#save")
        page.locator("#form-error").wait_for(state="visible")
        assert "overlap" in page.text_content("#form-error")
        page.fill("input[name=overlap]", "2")
        screenshot(page, "project-new")
        with page.expect_navigation():
            page.click("#save")
        project_id = int(page.url.rstrip("/").split("/")[-2])
        assert page.url.endswith(f"/projects/{project_id}/import")

        headers = token_for(owner)
        project = client.get(f"/api/v1/projects/{project_id}", headers=headers).get_json()
        assert project["name"] == "Yunnan <script>alert(1)</script> birds"
        assert project["rewards"]["per_annotation"] == 50 and project["overlap"] == 2
        assert project["label_schema"]["tools"] == ["bbox", "polygon"]
        warbler = project["label_schema"]["labels"][0]["children"][0]
        assert [c["id"] for c in warbler["children"]][0] == "yellow_warbler" and len(warbler["children"]) == 2
        pose = project["label_schema"]["attributes"][1]
        assert (pose["name"], pose["type"], pose["options"]) == ("pose", "choice", ["perched", "flying"])

        page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")
        files = []
        for n in range(3):
            path = tmp_path / f"bird{n}.jpg"
            path.write_bytes(jpeg(320, 240, color=(60 * n, 90, 160), pattern=n))
            files.append(str(path))
        fake = tmp_path / "not-an-image.jpg"
        fake.write_bytes(b"this is text, not a JPEG")
        page.set_input_files("#files", files + [str(fake)])
        page.locator("#import-jobs li[data-import-id]").first.wait_for()
        run_jobs(app)
        page.locator("#import-jobs li[data-status=finished]").wait_for(timeout=15_000)
        job = page.text_content("#import-jobs li[data-status=finished]")
        assert "not-an-image.jpg" in job and "3" in page.text_content("#import-jobs .counts")
        screenshot(page, "import-finished")

        page.goto(f"{live_server}/projects/{project_id}/settings")
        page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
        assert page.input_value("#taxonomy").startswith("鸟类 [bird]")
        mechanism = client.get(f"/api/v1/projects/{project_id}", headers=headers).get_json()["rewards"]["mechanism"]
        assert page.get_attribute("#incentives-link", "href") == f"/projects/{project_id}/incentives"
        assert {"agreement": "agreement with the consensus", "peer_prediction": "peer prediction"}[mechanism] \
            in page.text_content("#mechanism-line")
        page.fill("#deposit-form input[name=amount]", "100")
        page.click("#deposit-form button[type=submit]")
        # Asked for, not yet money: it waits for an administrator.
        page.wait_for_function("() => document.getElementById('budget-balance').dataset.pending === '10000'")
        assert page.get_attribute("#budget-balance", "data-balance") == "0"
        assert "administrator" in page.text_content("#deposit-message")
        screenshot(page, "project-settings")
        assert client.get(f"/api/v1/projects/{project_id}/budget", headers=headers).get_json()["balance"] == 0
        assert confirm_deposits(app)
        page.reload()
        page.wait_for_function("() => document.getElementById('budget-balance').dataset.balance === '10000'")
        assert page.get_attribute("#budget-balance", "data-pending") == "0"
    finally:
        context.close()
    assert errors == []


def test_the_wallet_shows_balances_entries_and_takes_a_payout_request(browser, live_server, make_user, client,
                                                                     token_for):
    owner = token_for(make_user("payer@example.org"))
    worker = make_user("earner@example.org")
    headers = token_for(worker)
    project = funded(client, owner, tasks=1)
    client.patch(f"/api/v1/projects/{project['id']}", json={"overlap": 1}, headers=owner)
    assert answer(client, nxt(client, project, headers).get_json(), headers).status_code == 201
    wallet = client.get("/api/v1/wallet", headers=headers).get_json()
    assert wallet["balance"] > 0
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server, "earner@example.org")
        page.click("a[href='/wallet']")
        page.wait_for_function("() => document.getElementById('balance').dataset.amount !== undefined")
        assert int(page.get_attribute("#balance", "data-amount")) == wallet["balance"]
        page.wait_for_function("() => document.getElementById('entries').dataset.state === 'ready'")
        assert page.locator("#entries tr.group").count() == 1  # the one task: its base pay and settlement
        page.fill("#payout-form input[name=amount]", "999999")  # more than there is: the API's words
        page.click("#payout-form button[type=submit]")
        page.locator("#payout-error").wait_for(state="visible")
        page.fill("#payout-form input[name=amount]", "0.20")
        page.click("#payout-form button[type=submit]")
        page.wait_for_function(f"() => document.getElementById('balance').dataset.amount === '{wallet['balance'] - 20}'")
        screenshot(page, "wallet")
    finally:
        context.close()
    assert client.get("/api/v1/payouts", headers=headers).get_json()["items"][0]["amount"] == 20

