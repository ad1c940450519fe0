"""The wallet page on the demo: an annotator's history is one row per task with its project and item, opening on
its lines, filtered by project and kind with totals, in English and Chinese; the demo owner sees their projects'
spending as the API reckons it, and an empty history that says what to do next."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in, watched_page

pytestmark = pytest.mark.e2e


def ready(page) -> None:
    page.wait_for_function("() => document.getElementById('entries').dataset.state === 'ready'")


def api_get(client, user, path: str) -> dict:
    client.post("/api/v1/auth/login", json={"email": user.email, "password": demo.PASSWORD})
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_annotators_history_is_one_row_per_task_with_project_item_lines_filters_and_totals(
        browser, live_server, seeded, client):
    alice = demo.ANNOTATORS[0]
    grouped = api_get(client, alice, "/api/v1/wallet/tasks?per_page=20")
    assert grouped["total"] >= 10 and len(grouped["projects"]) == 3  # the image, text and experts' projects
    context, page, errors = watched_page(browser, 1280, 900)
    try:
        sign_in(page, live_server, alice.email, demo.PASSWORD)
        page.goto(f"{live_server}/wallet")
        ready(page)
        rows = page.locator("#entries tr.group")
        assert rows.count() == min(grouped["total"], 20)
        first = grouped["items"][0]
        top = rows.first
        assert first["project_name"] in top.text_content() and first["task"]["preview"] in top.text_content()
        assert top.get_attribute("data-key") == first["key"]
        assert int(top.locator("td.num").get_attribute("data-amount")) == first["net"]
        # A row opens on its ledger lines.
        lines = page.locator(f"#lines-{first['key'].replace(':', '-')}")
        assert lines.is_hidden()
        top.locator("button.toggle").click()
        assert lines.is_visible() and lines.locator("tr").count() == len(first["lines"])
        assert top.locator("button.toggle").get_attribute("aria-expanded") == "true"
        totals = page.text_content("#history-totals")
        assert f"{grouped['total']} rows" in totals
        screenshot(page, "wallet-history")

        # One project: only its rows, and the address keeps the choice.
        text_project = next(p for p in grouped["projects"] if p["name"] == demo.TEXT_PROJECT)
        page.select_option("#filter-project", str(text_project["id"]))
        page.wait_for_function("() => new URLSearchParams(location.search).get('project_id') !== null")
        ready(page)
        only = api_get(client, alice, f"/api/v1/wallet/tasks?project_id={text_project['id']}")
        page.wait_for_function(f"() => document.querySelectorAll('#entries tr.group').length === {only['total']}")
        assert all(demo.TEXT_PROJECT in text for text in rows.all_text_contents())
        page.reload()
        ready(page)
        assert page.input_value("#filter-project") == str(text_project["id"])
        assert rows.count() == only["total"]

        # Payouts: none yet, and the empty state offers the way back.
        page.select_option("#filter-kind", "payout_request,payout,reversal")
        page.locator("#no-matches").wait_for(state="visible")
        assert rows.count() == 0 and page.is_hidden("#no-entries")
        page.click("#clear-filters")
        page.locator("#no-matches").wait_for(state="hidden")
        page.wait_for_function(f"() => document.querySelectorAll('#entries tr.group').length === {len(grouped['items'])}")

        # A payout is a row of its own, at the top.
        page.fill("#payout-form input[name=amount]", "0.30")
        page.click("#payout-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#entries tr.group').dataset.key.startsWith('transaction:')")
        assert "Payout of" in rows.first.text_content() and "requested" in rows.first.text_content()

        with page.expect_navigation():
            page.select_option("#language", "zh-CN")
        ready(page)
        assert page.text_content("[data-i18n='wallet.filterKind']") == "类型"
        assert "申请提现" in rows.first.text_content()
        assert "行 · 合计" in page.text_content("#history-totals")
        rows.nth(1).locator("button.toggle").click()
        screenshot(page, "wallet-history-zh")
    finally:
        context.close()
    assert errors == []


def test_the_demo_owner_sees_each_projects_spending_and_a_history_that_says_what_to_do(browser, live_server, seeded,
                                                                                     client):
    owner = demo.OWNER
    spent = api_get(client, owner, "/api/v1/wallet/spending")
    assert spent["total"] == 4  # the outside crowd's project too: nothing deposited, nothing spent
    text_row = next(row for row in spent["items"] if row["project_name"] == demo.TEXT_PROJECT)
    assert text_row["awaiting_confirmation"] == demo.PENDING_DEPOSIT and text_row["deposited"] == demo.DEMO_BUDGET
    for row in spent["items"]:
        assert row["deposited"] == row["fees"] + row["spent"] + row["reserved"] + row["balance"]
        # the demo's answers were paid; the outside crowd's imported ones never are
        assert (row["spent"] > 0) == (row["project_name"] != demo.CROWD_PROJECT)
    context, page, errors = watched_page(browser, 1280, 900)
    try:
        sign_in(page, live_server, owner.email, demo.PASSWORD)
        page.goto(f"{live_server}/wallet")
        page.locator("#spending").wait_for(state="visible")
        ready(page)
        for row in spent["items"]:
            shown = page.locator(f"#spending-rows tr[data-project-id='{row['project_id']}']")
            assert row["project_name"] in shown.text_content()
            for field in ("deposited", "fees", "spent", "reserved", "balance", "awaiting_confirmation"):
                assert int(shown.locator(f"td[data-field={field}]").get_attribute("data-amount")) == row[field]
        totals = page.locator("#spending-totals tr")
        assert "All your projects" in totals.text_content()
        assert int(totals.locator("td[data-field=deposited]").get_attribute("data-amount")) == \
            spent["totals"]["deposited"]
        # The owner labelled nothing: the history says how money gets here.
        assert page.is_visible("#no-entries") and page.is_hidden("#no-matches")
        assert page.get_attribute("#no-entries a", "href") == "/"
        screenshot(page, "wallet-owner-spending")
    finally:
        context.close()
    assert errors == []
