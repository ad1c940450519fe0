"""Data contribution in the browser (issue 24): the owner makes a release from a completed export on the releases
page (the API's refusals next to the field they are about) and records its revenue twice, once after a dropped
connection (the same Idempotency-Key: recorded once) and once by a double click (posted once); each contributor's
part and the platform's fee show there. An annotator sees the release, their exact share and what it paid on the
contributions page, and the revenue line in the wallet; in Chinese too. A project with terms: the annotator
accepts them in the workspace and labels, the owner changes and removes them in the settings, and a share under
terms not accepted is 0 with the reason."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import RATES, SENTIMENT, deposit, export, nxt

pytestmark = pytest.mark.e2e

SCALE = 100_000_000
TEXTS = ["A yellow warbler sang from the willows all morning; a lovely start to the walk.",
         "Rain again, and the hide was closed. Not a single bird worth the trip.",
         "Two kingfishers on the lower pond, and the heron finally came back."]
# Per task, each annotator's answer (Ada, Bo, Cy): Ada and Cy are always with the majority, Bo on the first task.
LABELS = [("positive", "positive", "positive"), ("negative", "positive", "negative"),
          ("positive", "negative", "positive")]
NAMES = (("olivia", "Olivia Owner"), ("ada", "Ada Lovelace"), ("bo", "Bo Chen"), ("cy", "Cy Young"))


def percent(share: int, scale: int = SCALE) -> str:
    """A share of 100,000,000 as the pages write it: exact, trailing zeros dropped."""
    millionths = share * 100 * 10**6 // scale
    whole, fraction = divmod(millionths, 10**6)
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".") + "%"


def money(minor: int) -> str:
    """Yuan as the pages write them after the currency sign (which the browser's locale data spells): 10,000.01."""
    return f"{minor / 100:,.2f}"


def people(make_user, token_for) -> tuple[dict, dict]:
    users = {key: make_user(f"{key}@example.org", name=name) for key, name in NAMES}
    return users, {key: token_for(user) for key, user in users.items()}


def new_project(client, app, owner, name, texts, overlap, **settings) -> dict:
    made = client.post("/api/v1/projects", json={
        "name": name, "media_type": "text", "label_schema": SENTIMENT, "overlap": overlap, "aggregation": "majority",
        "visibility": "public", "rewards": RATES, "licence": "CC-BY-4.0", **settings}, headers=owner)
    assert made.status_code == 201, made.get_json()
    project = made.get_json()
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": text}} for text in texts],
                       headers=owner).status_code == 201
    deposit(client, app, project["id"], owner, 10_000)
    return project


@pytest.fixture
def exported(app, client, make_user, token_for):
    """Birdsong diaries, labelled by Ada, Bo and Cy (overlap 3) and exported: (project, export, users, tokens)."""
    users, tokens = people(make_user, token_for)
    project = new_project(client, app, tokens["olivia"], "Birdsong diaries", TEXTS, overlap=3)
    for _ in TEXTS:
        for who, key in enumerate(("ada", "bo", "cy")):
            lease = nxt(client, project, tokens[key]).get_json()
            row = TEXTS.index(lease["task"]["data"]["text"])
            said = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                               json={"result": {"labels": [LABELS[row][who]]}, "lead_time_ms": 3000}, headers=tokens[key])
            assert said.status_code == 201, said.get_json()
    done = export(client, app, project, tokens["olivia"])
    assert done["status"] == "completed", done
    return project, done, users, tokens


def problem_of(client, path, body, headers) -> dict:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code >= 400, response.get_json()
    return response.get_json()


def test_an_owner_releases_and_records_revenue_and_contributors_see_their_share(browser, live_server, app, client,
                                                                                 exported):
    project, done, users, tokens = exported
    pid, owner = project["id"], tokens["olivia"]
    app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 250
    context, page, errors = watched_page(browser, width=1280, height=900)
    sign_in(page, live_server, "olivia@example.org")
    screenshot(page, "home-owner-links")
    page.click(f"a[data-releases-for='{pid}']")  # from the project list
    page.wait_for_url(f"{live_server}/projects/{pid}/releases")
    page.wait_for_selector("#releases-page[data-state=ready]")
    assert page.is_visible("#no-releases") and page.is_hidden("#no-exports")
    assert page.locator("#release-export option").count() == 1
    assert page.get_attribute("#release-export option", "value") == str(done["id"])
    assert page.text_content("#release-export option").startswith(f"#{done['id']} · jsonl · consensus only")

    # No name: the API's 422, next to the name.
    page.click("#release-submit")
    page.locator("#name-error").wait_for(state="visible")
    empty = problem_of(client, f"/api/v1/projects/{pid}/releases", {"export_id": done["id"], "name": ""}, owner)
    assert page.text_content("#name-error") == " ".join(empty["errors"]["name"])
    assert page.is_hidden("#export-error")

    page.fill("#release-name", "Spring 2025")
    page.click("#release-submit")
    article = page.locator("article.release")
    article.wait_for()
    assert page.text_content("#release-message") == "Release “Spring 2025” made."
    assert page.is_hidden("#name-error")
    release = client.get(f"/api/v1/projects/{pid}/releases", headers=owner).get_json()["items"][0]
    rid = release["id"]
    assert (release["name"], release["export_id"], release["sha256"]) == ("Spring 2025", done["id"], done["sha256"])
    assert article.get_attribute("data-release-id") == str(rid)
    assert sum(row["share"] for row in release["contributions"]) == SCALE
    # Every contributor by name with the exact share, the parts on hover, what was counted.
    for row in release["contributions"]:
        tr = article.locator(f".share-rows tr[data-user-id='{row['user_id']}']")
        cells = tr.locator("td").all_text_contents()
        assert cells[:4] == [row["user"]["display_name"], percent(row["share"]), str(row["answers"]), str(row["fixes"])]
        assert tr.locator("abbr").get_attribute("title") == f"{row['share']:,} of 100,000,000 parts"
        assert row["reason"] is None
    assert article.locator(".share-rows tr").count() == 3
    # The card lists them pseudonymously, with the same shares.
    article.locator(".card-contributors summary").click()
    card_rows = article.locator(".card-rows tr")
    assert card_rows.count() == len(release["card"]["contributors"]) == 3
    assert [r.locator("td").first.text_content() for r in card_rows.all()] == \
        [c["contributor"] for c in release["card"]["contributors"]]
    assert not any(name in article.locator(".card-rows").text_content() for _, name in NAMES)
    assert article.locator(".no-revenue").is_visible()

    # The same name again: the API's 409, next to the name.
    page.fill("#release-name", "Spring 2025")
    page.click("#release-submit")
    page.locator("#name-error").wait_for(state="visible")
    taken = problem_of(client, f"/api/v1/projects/{pid}/releases", {"export_id": done["id"], "name": "Spring 2025"}, owner)
    assert page.text_content("#name-error") == taken["detail"] and taken["status"] == 409
    assert "release named" in taken["detail"]

    # Revenue, first: the server records it but the answer never comes back; sent again, the same key replays it.
    keys: list[str] = []
    page.on("request", lambda request: keys.append(request.headers.get("idempotency-key", ""))
            if request.method == "POST" and request.url.endswith(f"/api/v1/releases/{rid}/revenue") else None)
    dropped = []

    def drop_the_answer(route):
        if route.request.method != "POST" or dropped:
            route.continue_()
            return
        dropped.append(route.fetch().status)  # it reaches the server...
        route.abort()  # ...and the connection drops before the browser has the answer

    page.route(f"**/api/v1/releases/{rid}/revenue", drop_the_answer)
    form = article.locator(".revenue-form")
    form.locator("input[name=amount]").fill("10000.01")
    form.locator("input[name=memo]").fill("Licence sold to the Marsh Institute")
    form.locator("button[type=submit]").click()
    article.locator(".revenue-error").wait_for(state="visible")
    assert dropped == [201]
    assert "Send the same form again" in article.locator(".revenue-error").text_content()
    history = client.get(f"/api/v1/releases/{rid}/revenue", headers=owner).get_json()
    assert [r["amount"] for r in history["items"]] == [1_000_001]  # recorded, though the page does not know yet
    form.locator("button[type=submit]").click()
    page.wait_for_function(f"() => document.querySelector(\"article[data-release-id='{rid}']\").dataset.recorded")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith(f"revenue-{rid}-")
    first = client.get(f"/api/v1/releases/{rid}/revenue", headers=owner).get_json()["items"]
    assert [r["amount"] for r in first] == [1_000_001]  # once
    assert first[0]["fee"] == 25_000 and sum(p["amount"] for p in first[0]["paid"]) + first[0]["fee"] == 1_000_001
    message = article.locator(".revenue-message").text_content()
    assert "10,000.01 recorded: " in message and "250.00 platform fee, " in message
    assert message.endswith("9,750.01 paid to 3 contributors.")
    page.unroute(f"**/api/v1/releases/{rid}/revenue")

    # Second: a double click posts once, under a new key.
    form.locator("input[name=amount]").fill("0.07")
    form.locator("input[name=memo]").fill("A small grant")
    form.locator("button[type=submit]").dblclick()
    page.wait_for_function(f"() => document.querySelectorAll(\"article[data-release-id='{rid}'] .revenue-rows tr\").length === 2")
    assert len(keys) == 3 and keys[2] != keys[0]
    history = client.get(f"/api/v1/releases/{rid}/revenue", headers=owner).get_json()["items"]
    assert [(r["amount"], r["memo"]) for r in history] == [(7, "A small grant"),
                                                           (1_000_001, "Licence sold to the Marsh Institute")]
    release = client.get(f"/api/v1/releases/{rid}", headers=owner).get_json()
    assert release["revenue"] == 1_000_008
    figures = {dd.get_attribute("data-figure"): int(dd.get_attribute("data-amount"))
               for dd in article.locator(".release-figures dd").all()}
    fees = sum(r["fee"] for r in history)
    assert figures == {"revenue": 1_000_008, "fees": fees, "paid": 1_000_008 - fees}
    paid = {}
    for revenue in history:
        for part in revenue["paid"]:
            paid[part["user_id"]] = paid.get(part["user_id"], 0) + part["amount"]
    for user_id, amount in paid.items():
        cell = article.locator(f".share-rows tr[data-user-id='{user_id}'] td.paid")
        assert int(cell.get_attribute("data-amount")) == amount
    rows = article.locator(".revenue-rows tr")
    assert rows.nth(0).locator("td.fee").text_content().endswith(money(history[0]["fee"]))
    assert rows.nth(1).locator("td.amount").text_content().endswith("10,000.01")
    assert rows.nth(1).locator("td.fee").text_content().endswith("250.00")
    for part in history[1]["paid"]:
        line = rows.nth(1).locator(f"td.paid-each div[data-user-id='{part['user_id']}']")
        assert int(line.get_attribute("data-amount")) == part["amount"]
        assert line.text_content().endswith(money(part["amount"]))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "releases-page")

    # The data changed since the export: the API's 409 lands next to the export.
    assert client.patch(f"/api/v1/projects/{pid}", json={"licence": "CC-BY-SA-4.0"}, headers=owner).status_code == 200
    page.fill("#release-name", "Spring 2025, second look")
    page.click("#release-submit")
    page.locator("#export-error").wait_for(state="visible")
    stale = problem_of(client, f"/api/v1/projects/{pid}/releases",
                       {"export_id": done["id"], "name": "Spring 2025, second look"}, owner)
    assert page.text_content("#export-error") == stale["detail"] and "export again" in stale["detail"]
    assert page.is_hidden("#name-error")
    screenshot(page, "releases-export-again")
    page.set_viewport_size({"width": 700, "height": 900})  # a small screen: the forms stack, nothing sticks out
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("[...document.querySelectorAll('#releases-page, article.release')]"
                         ".every((box) => box.scrollWidth <= box.clientWidth)")
    screenshot(page, "releases-narrow")
    context.close()
    assert errors == []

    # Ada: the contributions page, from the wallet, and the revenue lines in the wallet.
    mine = client.get("/api/v1/me/contributions", headers=tokens["ada"]).get_json()["items"]
    assert len(mine) == 1 and mine[0]["earned"] == paid[users["ada"].id] > 0
    ada = mine[0]
    context, page, errors = watched_page(browser, width=1280, height=800)
    sign_in(page, live_server, "ada@example.org")
    page.goto(f"{live_server}/wallet")
    page.click("#contributions-link")
    page.wait_for_url(f"{live_server}/contributions")
    page.wait_for_selector("#contributions-page[data-state=ready]")
    row = page.locator(f"#contributions tr[data-release-id='{rid}']")
    cells = [c.strip() for c in row.locator("td").all_text_contents()]
    assert cells[0:2] == ["Birdsong diaries", "Spring 2025"]
    assert cells[3:6] == [percent(ada["share"]), str(ada["answers"]), str(ada["fixes"])]
    assert cells[6].endswith(money(ada["earned"]))
    assert row.locator("abbr").get_attribute("title") == f"{ada['share']:,} of 100,000,000 parts"
    assert int(row.locator("td.earned").get_attribute("data-amount")) == ada["earned"]
    assert page.text_content("#release-count") == "1"
    assert int(page.get_attribute("#earned-all", "data-amount")) == ada["earned"]
    assert page.is_hidden("#no-contributions")
    screenshot(page, "contributions-page")
    page.click("#nav-links a[href='/wallet']")
    page.wait_for_selector("#entries[data-state=ready]")
    page.select_option("#filter-kind", "revenue")
    page.wait_for_function("() => new URLSearchParams(location.search).get('kind') === 'revenue'")
    page.wait_for_function("() => document.querySelectorAll('#entries tr.group').length === 2")
    groups = page.locator("#entries tr.group")
    for n in range(2):
        assert "Your share of the revenue of release “Spring 2025”" in groups.nth(n).text_content()
        assert "Birdsong diaries" in groups.nth(n).text_content()
    lines = client.get("/api/v1/wallet/entries?kind=revenue", headers=tokens["ada"]).get_json()["items"]
    assert sum(line["amount"] for line in lines) == ada["earned"]
    assert sorted(int(c.get_attribute("data-amount")) for c in groups.locator("td.num").all()) == \
        sorted(line["amount"] for line in lines)
    screenshot(page, "wallet-revenue")
    context.close()
    assert errors == []

    # Bo, in Chinese.
    client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=tokens["bo"])
    bo = client.get("/api/v1/me/contributions", headers=tokens["bo"]).get_json()["items"][0]
    context, page, errors = watched_page(browser, width=1280, height=800)
    sign_in(page, live_server, "bo@example.org")
    page.click("#nav-contributions")
    page.wait_for_selector("#contributions-page[data-state=ready]")
    assert page.text_content("h1") == "你的贡献"
    row = page.locator(f"#contributions tr[data-release-id='{rid}']")
    assert row.locator("td.share abbr").text_content() == percent(bo["share"])
    assert row.locator("abbr").get_attribute("title") == f"100,000,000 份中的 {bo['share']:,} 份"
    screenshot(page, "contributions-page-zh")
    page.goto(f"{live_server}/wallet?kind=revenue")
    page.wait_for_selector("#entries[data-state=ready]")
    assert "你在发布版本“Spring 2025”收入中的分成" in page.text_content("#entries")
    assert page.text_content("#filter-kind option[value=revenue]") == "数据集收入"
    context.close()
    assert errors == []

    # The owner's page in Chinese.
    client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=owner)
    context, page, errors = watched_page(browser, width=1280, height=900)
    sign_in(page, live_server, "olivia@example.org")
    page.goto(f"{live_server}/projects/{pid}/releases")
    page.wait_for_selector("#releases-page[data-state=ready]")
    assert page.text_content("h1") == "Birdsong diaries · 发布版本与收入"
    article = page.locator(f"article[data-release-id='{rid}']")
    assert article.locator(".release-figures [data-figure=revenue]").text_content() == "¥10,000.08"
    assert article.locator("th").first.text_content() == "贡献者"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "releases-page-zh")
    context.close()
    assert errors == []


def test_terms_are_accepted_in_the_workspace_changed_in_the_settings_and_a_share_without_them_is_0(
        browser, live_server, app, client, make_user, token_for):
    users, tokens = people(make_user, token_for)
    owner = tokens["olivia"]
    text = "We share 90% of what this dataset earns with the people who labelled it.\nPayments follow each release."
    project = new_project(client, app, owner, "Marsh counts", TEXTS[:2], overlap=2, terms={"text": text})
    pid = project["id"]
    assert project["terms"] == {"version": 1, "text": text}

    # An empty state first: Ada has no share anywhere yet.
    context, page, errors = watched_page(browser, width=1280, height=800)
    sign_in(page, live_server, "ada@example.org")
    page.goto(f"{live_server}/contributions")
    page.wait_for_selector("#contributions-page[data-state=ready]")
    assert page.is_visible("#no-contributions") and page.is_hidden("#contrib-body")
    assert "parts of 100,000,000" in page.text_content("#no-contributions")
    screenshot(page, "contributions-empty")

    # The workspace shows the terms before the first task; accepting them goes on to it.
    page.goto(f"{live_server}/projects/{pid}/label")
    page.wait_for_selector("#workspace[data-terms=shown]")
    assert page.is_visible("#terms-panel") and page.is_hidden("#task-panel")
    assert page.text_content("#terms-text") == text
    assert page.text_content("#terms-version") == "Version 1"
    assert client.get(f"/api/v1/projects/{pid}/terms", headers=tokens["ada"]).get_json()["accepted"] is False
    screenshot(page, "label-terms")
    page.click("#terms-accept")
    page.wait_for_selector("#workspace[data-state=ready]")
    assert page.is_hidden("#terms-panel") and page.is_visible("#task-panel")
    assert client.get(f"/api/v1/projects/{pid}/terms", headers=tokens["ada"]).get_json() == \
        {"version": 1, "text": text, "accepted": True}
    for _ in range(2):
        task = page.get_attribute("#task-content", "data-task-id")
        page.keyboard.press("/")  # the label picker, by name
        page.locator("#label-search").wait_for(state="visible")
        page.keyboard.type("posit")
        page.locator("#label-results li").first.wait_for()
        page.keyboard.press("Enter")
        page.locator("#labels [data-label-id=positive]").wait_for()
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"""() => !document.getElementById('done-panel').hidden ||
            (document.getElementById('workspace').dataset.state === 'ready' &&
             document.getElementById('task-content').dataset.taskId !== '{task}')""")
    page.locator("#done-panel").wait_for(state="visible")
    answers = client.get(f"/api/v1/me/annotations?project_id={pid}", headers=tokens["ada"]).get_json()["items"]
    assert len(answers) == 2 and all(a["result"].get("labels") == ["positive"] for a in answers), answers
    context.close()
    assert errors == []

    # Bo accepts through the API and gives the same answers.
    assert client.post(f"/api/v1/projects/{pid}/terms/accept", json={"version": 1}, headers=tokens["bo"]).status_code == 200
    for _ in range(2):
        lease = nxt(client, project, tokens["bo"]).get_json()
        assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                           json={"result": {"labels": ["positive"]}}, headers=tokens["bo"]).status_code == 201

    # The owner changes the terms in the settings: version 2.
    context, page, errors = watched_page(browser, width=1280, height=900)
    sign_in(page, live_server, "olivia@example.org")
    page.click(f"a[data-settings-for='{pid}']")
    page.wait_for_selector("#project-form-page[data-state=ready]")
    assert page.input_value("#terms") == text
    assert page.text_content("#terms-version") == "Current version: 1"
    changed = "We share 80% of what this dataset earns with the people who labelled it."
    page.fill("#terms", changed)
    page.click("#save")
    page.wait_for_function("() => document.getElementById('terms-version').dataset.version === '2'")
    assert page.text_content("#saved") == "Saved."
    assert page.text_content("#terms-version") == "Current version: 2"
    assert client.get(f"/api/v1/projects/{pid}", headers=owner).get_json()["terms"] == {"version": 2, "text": changed}
    page.locator("#terms-fields").scroll_into_view_if_needed()
    screenshot(page, "settings-terms")
    # Saving again without touching them sends no terms: still version 2.
    page.click("#save")
    page.wait_for_function("() => document.getElementById('saved').textContent === 'Saved.'")
    assert client.get(f"/api/v1/projects/{pid}", headers=owner).get_json()["terms"]["version"] == 2
    context.close()
    assert errors == []

    # Bo accepts version 2, Ada does not: a release gives Ada 0, and says why.
    assert client.post(f"/api/v1/projects/{pid}/terms/accept", json={"version": 2}, headers=tokens["bo"]).status_code == 200
    done = export(client, app, project, owner)
    made = client.post(f"/api/v1/projects/{pid}/releases", json={"export_id": done["id"], "name": "Marsh v1"}, headers=owner)
    assert made.status_code == 201, made.get_json()
    shares = {row["user_id"]: row for row in made.get_json()["contributions"]}
    assert (shares[users["ada"].id]["share"], shares[users["ada"].id]["reason"]) == (0, "terms_not_accepted")
    assert shares[users["bo"].id]["share"] == SCALE

    context, page, errors = watched_page(browser, width=1280, height=800)
    sign_in(page, live_server, "ada@example.org")
    page.goto(f"{live_server}/contributions")
    page.wait_for_selector("#contributions-page[data-state=ready]")
    row = page.locator(f"#contributions tr[data-release-id='{made.get_json()['id']}']")
    assert row.locator("td.share abbr").text_content() == "0%"
    assert row.locator(".reason").text_content() == "You had not accepted the project's current terms"
    assert row.locator("td.earned").text_content().endswith("0.00")
    screenshot(page, "contributions-zero-share")
    # Back in the workspace: version 2 to accept (no task is left, so the page then says so).
    page.goto(f"{live_server}/projects/{pid}/label")
    page.wait_for_selector("#workspace[data-terms=shown]")
    assert page.text_content("#terms-version") == "Version 2" and page.text_content("#terms-text") == changed
    page.click("#terms-accept")
    page.locator("#done-panel").wait_for(state="visible")
    assert client.get(f"/api/v1/projects/{pid}/terms", headers=tokens["ada"]).get_json()["accepted"] is True
    context.close()
    assert errors == []

    # The owner removes them: the platform's terms again.
    context, page, errors = watched_page(browser, width=1280, height=900)
    sign_in(page, live_server, "olivia@example.org")
    page.goto(f"{live_server}/projects/{pid}/settings")
    page.wait_for_selector("#project-form-page[data-state=ready]")
    page.fill("#terms", "")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('terms-version').dataset.version === '0'")
    assert page.text_content("#terms-version") == "No terms of its own: the platform's default terms apply."
    assert client.get(f"/api/v1/projects/{pid}", headers=owner).get_json()["terms"] is None
    assert client.get(f"/api/v1/projects/{pid}/terms", headers=tokens["cy"]).get_json()["version"] == 0
    context.close()
    assert errors == []
