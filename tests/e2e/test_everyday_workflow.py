"""Issue 19's acceptance, in the browser only: the demo admin confirms the owner's deposit; the owner creates a
private project with an English taxonomy carrying Chinese names and invites three annotators by e-mail; they
sign up and label (one in Chinese, searching 轿车); one fixes an answer before its task completes; the owner opens
a task and sees every annotator's boxes; the admin approves a payout by name. (The import worker is run by the
test, as `make run` runs it beside the web server.)"""
from __future__ import annotations

import json

import pytest

from annotator import demo
from tests.e2e.browser import drag_box, objects, screenshot, sign_in, watched_page
from tests.factories import jpeg, run_jobs

pytestmark = pytest.mark.e2e
PASSWORD = "a much longer passphrase 2026"
TAXONOMY = [{"id": "vehicle", "name": "Vehicle", "names": {"zh": "车辆"}, "children": [
    {"id": "sedan", "name": "Sedan", "names": {"zh": "轿车"}, "aliases": ["saloon"]},
    {"id": "truck", "name": "Truck", "names": {"zh": "卡车"}, "aliases": ["lorry"]}]}]
PEOPLE = [("anna@example.org", "Anna", "en", "saloon"), ("ben@example.org", "Ben", "en", "Sedan"),
          ("chen@example.org", "陈晨", "zh-CN", "轿车")]
IMAGES = 2


def create_project(page, live_server, app, tmp_path) -> int:
    page.click("#new-project")
    page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
    page.fill("input[name=name]", "Street cars")
    page.fill("#taxonomy", json.dumps(TAXONOMY, ensure_ascii=False))
    page.fill("input[name=overlap]", "3")
    assert page.input_value("select[name=visibility]") == "private"  # the default, explained beside it
    assert "Members only" in page.text_content("#visibility-help")
    page.fill("input[name=per_annotation]", "0.30")
    with page.expect_navigation():
        page.click("#save")
    project_id = int(page.url.rstrip("/").split("/")[-2])
    page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")
    files = []
    for n in range(IMAGES):
        path = tmp_path / f"street{n}.jpg"
        path.write_bytes(jpeg(480, 360, color=(60 * n, 120, 160), pattern=n))
        files.append(str(path))
    page.set_input_files("#files", files)
    page.locator("#import-jobs li[data-import-id]").first.wait_for()
    run_jobs(app)
    page.locator("#import-jobs li[data-status=finished]").wait_for(timeout=15_000)
    page.goto(f"{live_server}/projects/{project_id}/settings")
    page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
    page.fill("#deposit-form input[name=amount]", "20")
    page.click("#deposit-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('budget-balance').dataset.pending === '2000'")
    return project_id


def sign_up(page, live_server, email, name, language):
    page.goto(live_server + "/signup")
    if language != "en":
        with page.expect_navigation():
            page.select_option("#language", language)
    page.fill("input[name=display_name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")


def label_all(page, query) -> int:
    done = 0
    while True:
        page.wait_for_function("""() => !document.getElementById('done-panel').hidden ||
            document.getElementById('workspace').dataset.state === 'ready'""")
        if page.is_visible("#done-panel"):
            return done
        task = page.get_attribute("#task-content", "data-task-id")
        if done == 0:
            page.keyboard.press("/")
            page.keyboard.type(query)
            page.locator("#label-results li").first.wait_for()
            page.keyboard.press("Enter")
        else:
            page.keyboard.press("1")
        drag_box(page, (80, 60), (300, 250))
        assert len(objects(page)) == 1
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"""() => !document.getElementById('done-panel').hidden ||
            document.getElementById('task-content').dataset.taskId !== '{task}'""")
        done += 1


def test_the_everyday_workflow_in_the_browser(browser, live_server, seeded, app, tmp_path):
    pages = {name: watched_page(browser, 1280, 860) for name in ("owner", "admin", *[p[0] for p in PEOPLE])}
    try:
        owner, admin = pages["owner"][1], pages["admin"][1]
        sign_in(owner, live_server, demo.OWNER.email, demo.PASSWORD)
        project_id = create_project(owner, live_server, app, tmp_path)

        # The demo admin confirms the owner's deposit: only then does it fund the budget.
        sign_in(admin, live_server, demo.ADMIN.email, demo.PASSWORD)
        admin.goto(live_server + "/admin")
        row = admin.locator("#deposits tr", has_text="Street cars")
        row.wait_for()
        row.locator("button[data-action=confirm]").click()
        row.wait_for(state="detached")
        owner.reload()
        owner.wait_for_function("() => document.getElementById('budget-balance').dataset.balance === '2000'")

        # The owner invites three annotators by e-mail; none has an account yet.
        owner.goto(f"{live_server}/projects/{project_id}/members")
        owner.wait_for_selector("#members-page[data-state=ready]")
        for email, *_ in PEOPLE:
            owner.fill("#invite-form input[name=email]", email)
            owner.click("#invite-form button[type=submit]")
            owner.locator(f"#invitations tr[data-email='{email}']").wait_for()
        screenshot(owner, "workflow-invited")

        # They sign up with those addresses and find the private project on their home page.
        for email, name, language, _ in PEOPLE:
            page = pages[email][1]
            sign_up(page, live_server, email, name, language)
            page.locator(f"a[data-project-id='{project_id}']").click()
            page.wait_for_url(f"{live_server}/projects/{project_id}/label")

        # Anna labels both images first, then fixes her first answer while its task is still open: a second box.
        anna = pages["anna@example.org"][1]
        assert label_all(anna, "saloon") == IMAGES  # found by an alias
        anna.goto(f"{live_server}/projects/{project_id}/answers")
        anna.wait_for_selector("#answers-page[data-state=ready]")
        first = anna.locator("#my-answers tr").last  # newest first: the last row is her first answer
        first.locator("a[data-revise]").click()
        anna.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
        assert len(objects(anna)) == 1  # her answer as it was, with the select tool: B draws another box
        anna.keyboard.press("b")
        anna.keyboard.press("1")
        drag_box(anna, (320, 60), (440, 200))
        assert len(objects(anna)) == 2
        anna.keyboard.press("Control+Enter")
        anna.wait_for_url(f"{live_server}/projects/{project_id}/answers?revised=*")

        # Chen works in Chinese and finds Sedan by its Chinese name on the English taxonomy.
        chen = pages["chen@example.org"][1]
        chen.keyboard.press("/")
        chen.keyboard.type("轿车")
        chen.locator("#label-results li").first.wait_for()
        assert "轿车" in chen.locator("#label-results li").first.text_content()
        screenshot(chen, "workflow-search-zh")
        chen.keyboard.press("Escape")
        for email, _, _, query in PEOPLE[1:]:
            assert label_all(pages[email][1], query) == IMAGES

        # The owner opens the tasks and sees every annotator's boxes: Anna's two on the task she revised.
        owner.goto(f"{live_server}/projects/{project_id}/tasks?status=completed")
        owner.wait_for_selector("#tasks-page[data-state=ready]")
        assert owner.locator("#task-rows tr").count() == IMAGES
        drawn = []
        for n in range(IMAGES):
            owner.locator("#task-rows tr a").nth(n).click()
            owner.wait_for_selector("#task-page[data-state=ready]")
            colours = owner.eval_on_selector_all("#task-overlay > [data-owner]:not([data-owner=consensus])",
                                                 "els => els.map(e => e.getAttribute('stroke'))")
            drawn.append(len(colours))
            assert len(set(colours)) == 3  # three annotators, three colours
            if len(colours) == 4:
                screenshot(owner, "workflow-task-viewer")
            owner.go_back()
            owner.wait_for_selector("#tasks-page[data-state=ready]")
        assert sorted(drawn) == [3, 4]  # the revised answer holds two boxes

        # Anna asks for her pay; the admin approves it by her name.
        anna.goto(f"{live_server}/wallet")
        anna.wait_for_function("() => document.getElementById('balance').dataset.amount !== undefined")
        anna.fill("#payout-form input[name=amount]", "0.30")
        anna.click("#payout-form button[type=submit]")
        anna.wait_for_function("() => document.getElementById('payout-message').textContent.length > 0")
        admin.goto(live_server + "/admin")
        payout = admin.locator("#payouts tr", has_text="Anna")
        payout.wait_for()
        assert "0.30" in payout.text_content()
        payout.locator("button[data-action=approve]").click()
        payout.wait_for(state="detached")
        screenshot(admin, "workflow-admin")
    finally:
        for context, _, _ in pages.values():
            context.close()
    assert all(errors == [] for _, _, errors in pages.values()), {k: v[2] for k, v in pages.items()}
