"""The whole story as a new user tries it, in Chromium: the demo owner sets a project up in the browser (form,
taxonomy, import, deposit), three demo annotators label all of it with keyboard and mouse at the same time (one of
them in Chinese), then the dashboard and the wallets show the results, in both languages."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import drag_box, objects, screenshot, watched_page
from tests.factories import confirm_deposits, jpeg, run_jobs

pytestmark = pytest.mark.e2e
IMAGES = 3


def sign_in(page, live_server, email):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")


def set_up(page, live_server, app, tmp_path) -> int:
    page.click("#new-project")
    page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
    page.fill("input[name=name]", "Walkthrough 走查")
    page.fill("textarea[name=instructions]", "Box every **bird**.")
    page.fill("#taxonomy", "鸟类 Bird [bird]\n  莺 Warbler [warbler]\n    黄林莺 Yellow Warbler [yellow_warbler]\n"
                           "  麻雀 Sparrow [sparrow]\n")
    page.fill("input[name=overlap]", "3")
    page.select_option("select[name=visibility]", "public")
    page.fill("input[name=per_annotation]", "0.30")
    page.fill("input[name=agreement_bonus]", "0.10")
    with page.expect_navigation():
        page.click("#save")
    project_id = int(page.url.rstrip("/").split("/")[-2])
    page.wait_for_function("() => document.getElementById('import-page').dataset.state === 'ready'")
    files = []
    for n in range(IMAGES):
        path = tmp_path / f"walk{n}.jpg"
        path.write_bytes(jpeg(480, 360, color=(50 * n, 140, 90 + 40 * n), pattern=n))
        files.append(str(path))
    page.set_input_files("#files", files)
    page.locator("#import-jobs li[data-import-id]").first.wait_for()
    run_jobs(app)
    page.locator("#import-jobs li[data-status=finished]").wait_for(timeout=15_000)
    page.click("#to-settings")
    page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
    page.fill("#deposit-form input[name=amount]", "50")
    page.click("#deposit-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('budget-balance').dataset.pending === '5000'")
    confirm_deposits(app)  # the money arrived: an administrator confirms it
    page.reload()
    page.wait_for_function("() => document.getElementById('budget-balance').dataset.balance === '5000'")
    return project_id


def label_everything(page, label_query: str) -> int:
    """Label until nothing is left: a box per image with the label found by typing, then Ctrl+Enter."""
    done = 0
    while True:
        page.wait_for_function("""() => !document.getElementById('done-panel').hidden ||
            document.getElementById('workspace').dataset.state === 'ready'""")
        if page.is_visible("#done-panel"):
            return done
        task = page.get_attribute("#task-content", "data-task-id")
        if done == 0:
            page.keyboard.press("/")
            page.keyboard.type(label_query)
            page.keyboard.press("Enter")
        else:
            page.keyboard.press("1")  # the label used last: first among the recent ones
        drag_box(page, (60 + done * 10, 50), (300, 260))
        assert len(objects(page)) == 1
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"""() => !document.getElementById('done-panel').hidden ||
            document.getElementById('task-content').dataset.taskId !== '{task}'""")
        done += 1


def test_the_demo_owner_sets_up_a_project_three_annotators_label_it_and_everyone_sees_the_results(
        browser, live_server, seeded, app, tmp_path):
    owner_context, owner, owner_errors = watched_page(browser)
    contexts = [watched_page(browser, 1280, 800) for _ in demo.ANNOTATORS]
    try:
        sign_in(owner, live_server, demo.OWNER.email)
        project_id = set_up(owner, live_server, app, tmp_path)
        for (_, page, _), person in zip(contexts, demo.ANNOTATORS):
            sign_in(page, live_server, person.email)
            page.goto(f"{live_server}/projects/{project_id}/label")
        queries = ["yellow", "黄林", "warbler"]  # Bo works in Chinese; Carmen answers at genus level
        counts = [label_everything(page, query) for (_, page, _), query in zip(contexts, queries)]
        assert counts == [IMAGES] * 3
        bo = contexts[1][1]
        assert bo.text_content("#done-text") == "这个项目里已经没有你可做的任务了，谢谢！"
        screenshot(bo, "walkthrough-annotator-zh-done")

        owner.goto(f"{live_server}/projects/{project_id}/quality")
        owner.locator("#quality-body").wait_for(state="visible")
        assert f"{IMAGES} of {IMAGES} tasks complete" in owner.text_content("#progress-text")
        box = owner.locator("#structure-figures [data-kind=bbox] dd").first.text_content()
        assert float(box) > 0.9  # three boxes drawn on nearly the same place on every image
        assert owner.locator("#annotators tr").count() == 3 and "Carmen (annotator)" in owner.text_content("#annotators")
        screenshot(owner, "walkthrough-dashboard")
        with owner.expect_navigation():
            owner.select_option("#language", "zh-CN")
        owner.locator("#quality-body").wait_for(state="visible")
        assert "已完成 3 / 3 个任务" in owner.text_content("#progress-text")
        assert owner.text_content("[data-i18n='q.perAnnotator']") == "按标注员"
        screenshot(owner, "walkthrough-dashboard-zh")

        for _, page, _ in contexts:
            page.goto(f"{live_server}/wallet")
            page.wait_for_function("() => document.getElementById('balance').dataset.amount !== undefined")
            assert int(page.get_attribute("#balance", "data-amount")) >= IMAGES * 30  # every answer settled
            page.wait_for_function("() => document.getElementById('leaderboards').dataset.state === 'ready'")
            board = page.locator("#leaderboards h2", has_text="Walkthrough").locator("xpath=following-sibling::table[1]")
            assert board.locator("tr").count() == 4  # a heading row and the three of them
        screenshot(contexts[1][1], "walkthrough-wallet-zh")
        assert contexts[1][1].text_content("[data-i18n='wallet.available']") == "可提现"
    finally:
        owner_context.close()
        for context, _, _ in contexts:
            context.close()
    assert owner_errors == [] and all(errors == [] for _, _, errors in contexts)
