"""The demo owner studies the incentives in the browser: runs the standard crowds (a real RQ worker prices them),
reads the charts and the ratios, replays the project's answers, switches the mechanism, and the next settled
answer's wallet line names it."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot, sign_in
from tests.factories import run_simulations

pytestmark = pytest.mark.e2e


def test_the_owner_runs_the_standard_crowds_replays_and_switches_the_mechanism(live_server, page, seeded, client, app):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    project = next(p for p in client.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.TEXT_PROJECT)
    replay = client.get(f"/api/v1/projects/{project['id']}/incentives/replay").get_json()
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.click(f"a[data-incentives-for='{project['id']}']")  # from the project list
    page.wait_for_url(f"{live_server}/projects/{project['id']}/incentives")
    page.locator("#mechanism-panel").wait_for(state="visible")
    assert "agreement with the consensus" in page.text_content("#mechanism-now")
    # Peer prediction compares whole-item labels: offered, as the notes have one label each (and spans).
    assert page.get_attribute("#mechanism-select option[value=peer_prediction]", "disabled") is None
    # The replay: each annotator's pay, and under the project's own mechanism the same amount.
    page.locator("#replay tr").first.wait_for()
    assert page.locator("#replay tr").count() == len(replay["annotators"]) > 0
    for row in replay["annotators"]:
        own = page.locator(f"#replay tr[data-user-id='{row['user_id']}'] td[data-mechanism=agreement]")
        paid = page.locator(f"#replay tr[data-user-id='{row['user_id']}'] td").nth(2).text_content()
        assert own.text_content() == paid
    # Run the standard crowds, small.
    page.fill("#simulate-form input[name=tasks]", "300")
    page.click("#simulate-form button[type=submit]")
    page.locator("#simulate-bar").wait_for(state="visible")
    run_simulations(app)  # the simulations worker
    page.locator("#simulate-results").wait_for(state="visible", timeout=30_000)
    assert page.locator("#crowd-select option").count() == 8
    assert page.input_value("#crowd-select") == "30% spammers"
    assert page.locator("#ratios tr").count() == 4
    assert page.evaluate("() => document.getElementById('pay-chart').width") > 0
    # Experts earn more than spammers under every mechanism, and peer prediction separates them most.
    ratios = {m: float(page.text_content(f"#ratios tr[data-mechanism={m}] td:nth-child(4)").rstrip("×"))
              for m in ("agreement", "gold", "peer_prediction", "posterior")}
    assert min(ratios.values()) > 1 and max(ratios, key=ratios.get) == "peer_prediction", ratios
    page.locator("#simulate-results").scroll_into_view_if_needed()
    screenshot(page, "incentives")
    # Switch to gold accuracy; a bad parameter is refused first, naming it.
    page.select_option("#mechanism-select", "gold")
    page.fill("#mechanism-params input[name=a]", "-1")
    page.click("#mechanism-form button[type=submit]")
    page.locator("#mechanism-error").wait_for(state="visible")
    assert "a:" in page.text_content("#mechanism-error")
    page.fill("#mechanism-params input[name=a]", "2")
    page.click("#mechanism-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('mechanism-now').textContent.includes('gold accuracy')")
    shown = client.get(f"/api/v1/projects/{project['id']}").get_json()["rewards"]
    assert shown["mechanism"] == "gold" and shown["mechanism_params"] == {"a": 2.0, "b": 1.0}
    # The next settled answers are priced by it, and Carmen's wallet line says so.
    people = {}
    for who in demo.ANNOTATORS:
        login = app.test_client()
        login.post("/api/v1/auth/login", json={"email": who.email, "password": demo.PASSWORD})
        csrf = login.get("/api/v1/auth/csrf").get_json()["csrf_token"]
        people[who.display_name] = (login, {"X-CSRF-Token": csrf})
    carmen, _ = people[next(n for n in people if n.startswith("Carmen"))]
    settled = None
    for _ in range(6):
        for login, csrf in people.values():
            lease = login.post(f"/api/v1/projects/{project['id']}/next", headers=csrf)
            if lease.status_code == 200:
                said = login.post(f"/api/v1/assignments/{lease.get_json()['assignment']['id']}/annotation",
                                  json={"result": {"labels": ["yellow_warbler"]}}, headers=csrf)
                assert said.status_code == 201, said.get_json()
        entries = carmen.get("/api/v1/wallet/entries?per_page=100").get_json()["items"]
        settled = next((e for e in entries if e["kind"] == "bonus" and e["project_id"] == project["id"]), None)
        if settled:
            break
    assert settled is not None and settled["details"]["mechanism"]["mechanism"] == "gold"
    carmen_user = next(u for u in demo.ANNOTATORS if u.display_name.startswith("Carmen"))
    page.click("#logout")
    page.wait_for_url(f"{live_server}/login")
    sign_in(page, live_server, carmen_user.email, demo.PASSWORD)
    page.goto(f"{live_server}/wallet")
    page.locator("#entries tr", has_text="settled by your gold accuracy").first.wait_for()
    screenshot(page, "wallet-gold")


def test_an_imported_crowd_is_replayed_beside_ours_and_marked_external(live_server, page, client, app, make_user,
                                                                      token_for):
    """Issue 20: answers imported from another tool appear in the replay, priced by every mechanism; their
    annotators are marked external and the page says why they were paid nothing, in English and Chinese."""
    from tests.factories import answer_in_turn, create_text_project, deposit

    owner = token_for(make_user("crowd-owner@example.org", name="Crowd owner"))
    schema = {"tools": ["classify"], "labels": [{"id": "cat", "name": "Cat"}, {"id": "dog", "name": "Dog"}]}
    project = create_text_project(client, owner, label_schema=schema, overlap=2, visibility="public",
                                  rewards={"per_annotation": 10, "agreement_bonus": 90, "mechanism": "agreement"})
    truth = ["cat", "dog", "cat", "dog"]
    made = client.post(f"/api/v1/projects/{project['id']}/tasks", headers=owner, json=[
        {"external_id": f"item-{n}", "data": {"text": f"item {n}"}} for n in range(len(truth))])
    assert made.status_code == 201, made.get_json()
    deposit(client, app, project["id"], owner, 10_000)
    ours = [token_for(make_user(f"ours{n}@example.org", name=f"Ours {n}")) for n in range(2)]
    answer_in_turn(client, project, ours, lambda who, lease: truth[int(lease["task"]["data"]["text"].split()[1])])
    crowd = {"turker-A": truth, "turker-B": truth, "turker-spam": ["cat"] * len(truth)}
    csv = "external_id,annotator,label\n" + "".join(
        f"item-{n},{worker},{label}\n" for worker, labels in crowd.items() for n, label in enumerate(labels))
    sent = client.post(f"/api/v1/projects/{project['id']}/answers/import", data=csv, content_type="text/csv",
                       headers=owner)
    assert sent.status_code == 201, sent.get_json()
    replay = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner).get_json()
    external = {row["display_name"]: row for row in replay["annotators"] if row["external"]}
    assert set(external) == set(crowd)

    sign_in(page, live_server, "crowd-owner@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/incentives")
    page.locator("#replay tr").first.wait_for()
    assert page.locator("#replay tr").count() == 5
    assert page.locator("#replay tr[data-external=true]").count() == 3
    for row in replay["annotators"]:
        shown = page.locator(f"#replay tr[data-user-id='{row['user_id']}'] td")
        if not row["external"]:  # ours: paid, and the project's own mechanism pays the same
            assert shown.nth(0).text_content() == row["display_name"]
            assert shown.nth(2).text_content() == page.locator(
                f"#replay tr[data-user-id='{row['user_id']}'] td[data-mechanism=agreement]").text_content()
            continue
        assert shown.nth(0).text_content() == f"{row['display_name']} external"
        assert shown.nth(2).get_attribute("title") == "Answers imported from another tool: never paid here"
        assert "0.00" in shown.nth(2).text_content()
    spam = page.locator(f"#replay tr[data-user-id='{external['turker-spam']['user_id']}'] td[data-mechanism=agreement]")
    careful = page.locator(f"#replay tr[data-user-id='{external['turker-A']['user_id']}'] td[data-mechanism=agreement]")
    assert spam.text_content() != careful.text_content()
    note = page.locator("#replay-external")
    assert note.is_visible() and "Imported answers are never paid" in note.text_content()
    assert page.is_hidden("#replay-no-rates")  # it has rates: the columns say what they would have paid
    page.locator("#replay-panel").scroll_into_view_if_needed()
    screenshot(page, "incentives-replay-external")

    with page.expect_navigation():
        page.select_option("#language", "zh-CN")  # the switcher reloads the page in Chinese
    page.locator("#replay tr").first.wait_for()
    first = page.locator("#replay tr[data-external=true] td").first
    assert first.locator(".chip").text_content() == "外部"
    assert "导入的答案从不付酬" in page.text_content("#replay-external")
    page.locator("#replay-panel").scroll_into_view_if_needed()
    screenshot(page, "incentives-replay-external-zh")


def test_the_demo_outside_crowd_is_replayed_at_its_rates_of_nothing_and_the_page_says_how_to_price_it(
        live_server, page, seeded, client):
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    crowd = next(p for p in client.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.CROWD_PROJECT)
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.goto(f"{live_server}/projects/{crowd['id']}/incentives")
    page.locator("#replay tr").first.wait_for()
    assert page.locator("#replay tr[data-external=true]").count() == page.locator("#replay tr").count() == 4
    assert page.locator("#replay-external").is_visible()
    hint = page.locator("#replay-no-rates")  # it pays nothing per answer: every mechanism prices them at nothing
    assert hint.is_visible() and "pays nothing per answer" in hint.text_content()
    assert page.get_attribute("#rates-link", "href") == f"/projects/{crowd['id']}/settings"
    page.locator("#replay-panel").scroll_into_view_if_needed()
    screenshot(page, "incentives-replay-outside-crowd")
