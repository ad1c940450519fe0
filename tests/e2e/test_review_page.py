"""Review in the browser (issue 23): a reviewer takes the review queue's items on the Review page and, by keyboard,
accepts one answer, fixes one with the label picker and rejects one with a reason; the annotator whose answer was
rejected appeals it on their answers page; the rejection's reviewer may not decide the appeal (the API's 403 on the
row); a manager overturns it and the annotator's pay comes back. An image item shows every annotator's boxes and
polygons in their colour with a legend, and a fix relabels and removes objects. English and Chinese."""
from __future__ import annotations

import pytest

from tests.e2e.browser import screenshot, sign_in, watched_page
from tests.factories import SENTIMENT, deposit, imported, jpeg, nxt

pytestmark = pytest.mark.e2e

TEXTS = ["A yellow warbler sang from the willows all morning; a lovely start to the walk.",
         "Rain again, and the hide was closed. Not a single bird worth the trip."]
REVIEW_PAY = 30


def post(client, path, headers, body=None, status=None):
    response = client.post(path, json=body if body is not None else {}, headers=headers)
    if status is not None:
        assert response.status_code == status, response.get_json()
    return response


@pytest.fixture
def reviewed_project(app, client, make_user, token_for):
    """A funded text project with a review policy sampling every completed task: Ada and Bo answered both tasks
    (Ada first); Rita reviews, Max manages."""
    people = {name: make_user(f"{name.lower()}@example.org", name=full) for name, full in
              (("Olivia", "Olivia Owner"), ("Ada", "Ada Lovelace"), ("Bo", "Bo Chen"), ("Rita", "Rita Reviewer"),
               ("Max", "Max Manager"))}
    tokens = {name: token_for(user) for name, user in people.items()}
    owner = tokens["Olivia"]
    made = client.post("/api/v1/projects", json={
        "name": "Birdsong diaries", "media_type": "text", "label_schema": SENTIMENT, "overlap": 2,
        "aggregation": "majority", "visibility": "public", "rewards": {"per_annotation": 50, "agreement_bonus": 20},
        "review": {"sample_rate": 1.0, "reviewer_pay": REVIEW_PAY}}, headers=owner)
    assert made.status_code == 201, made.get_json()
    project = made.get_json()
    assert project["review"]["sample_rate"] == 1.0
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": text}} for text in TEXTS],
                       headers=owner).status_code == 201
    deposit(client, app, project["id"], owner, 5000)
    for name, role in (("Rita", "reviewer"), ("Max", "manager")):
        assert client.post(f"/api/v1/projects/{project['id']}/members",
                           json={"email": f"{name.lower()}@example.org", "role": role}, headers=owner).status_code == 201
    tasks = {}
    for name, answers in (("Ada", {0: {"labels": ["positive"], "spans": [{"start": 2, "end": 16, "label": "species"}]},
                                   1: {"labels": ["negative"], "spans": []}}),
                          ("Bo", {0: {"labels": ["negative"], "spans": [{"start": 2, "end": 16, "label": "species"}]},
                                  1: {"labels": ["negative"], "spans": []}})):
        while (lease := nxt(client, project, tokens[name])).status_code == 200:
            body = lease.get_json()
            number = TEXTS.index(body["task"]["data"]["text"])
            tasks[number] = body["task"]["id"]
            post(client, f"/api/v1/assignments/{body['assignment']['id']}/annotation", tokens[name],
                 {"result": answers[number], "lead_time_ms": 4200}, status=201)
    return project, tokens, people, [tasks[0], tasks[1]]


def answers_of(client, task_id, headers):
    return client.get(f"/api/v1/tasks/{task_id}/annotations", headers=headers).get_json()["items"]


def wait_item(page, task_id):
    page.locator(f"#item-panel[data-task-id='{task_id}']").wait_for(state="visible")
    page.wait_for_selector("#review-page[data-state=ready]")


def test_a_reviewer_accepts_fixes_and_rejects_and_an_appeal_is_overturned(browser, live_server, client,
                                                                          reviewed_project):
    project, tokens, people, (first, second) = reviewed_project
    pid = project["id"]

    # The reviewer finds the page from the project list; first in Chinese, for the screenshot.
    client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=tokens["Rita"])
    context, page, errors = watched_page(browser, width=1400, height=900)
    sign_in(page, live_server, "rita@example.org")
    page.click(f"a[data-review-for='{pid}']")
    page.wait_for_url(f"{live_server}/projects/{pid}/review")
    wait_item(page, first)
    agreement = client.get(f"/api/v1/tasks/{first}/consensus", headers=tokens["Olivia"]).get_json()["agreement"]
    share = f"{round(agreement * 100)}%"
    assert page.text_content("#item-why") == f"随机抽中 · 一致性 {share}"
    assert page.locator("#review-answers li").count() == 2
    assert "2 个答案中 2 个待审核" in page.text_content("#answers-left")
    screenshot(page, "review-item-zh")
    client.patch("/api/v1/me", json={"locale": "en"}, headers=tokens["Rita"])
    page.reload()
    wait_item(page, first)
    item = page.locator("#item-panel")
    assert page.text_content("#item-why") == f"Picked at random · agreement {share}"
    # Spans: one row per annotator (and none for the consensus: its spans are not inferred here), each in its colour.
    rows = page.locator("#span-rows tr")
    assert rows.count() >= 2
    assert "Ada Lovelace" in rows.nth(0).text_content() and "Bo Chen" in rows.nth(1).text_content()
    assert rows.nth(0).locator("mark").text_content() == "yellow warbler"
    assert page.locator("#legend input").count() >= 2
    cards = page.locator("#review-answers li")
    assert "Positive" in cards.nth(0).text_content() and "Negative" in cards.nth(1).text_content()
    assert cards.nth(0).get_attribute("aria-current") == "true"
    lease = int(item.get_attribute("data-lease-id"))
    assert post(client, f"/api/v1/review-leases/{lease}/heartbeat", tokens["Rita"]).status_code == 200

    # a: accept Ada's answer; the keyboard moves on to Bo's.
    page.keyboard.press("a")
    page.wait_for_selector("#review-answers li[data-verdict=accepted]")
    assert cards.nth(1).get_attribute("aria-current") == "true"
    # f: fix Bo's answer with the label picker ("Negative" becomes "Positive"; the species span stays).
    page.keyboard.press("f")
    page.locator("#fix-panel").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "label-search"
    assert "Fixing Bo Chen's answer" == page.text_content("#fix-title")
    page.keyboard.type("posit")
    page.locator("#label-results li[data-label-id=positive]").wait_for()
    page.keyboard.press("Enter")
    assert page.locator("#fix-labels [data-label-id]").evaluate_all("els => els.map(e => e.dataset.labelId)") == ["positive"]
    assert page.locator("#fix-parts li").count() == 1  # the span, kept
    screenshot(page, "review-fix")
    page.keyboard.press("Control+Enter")
    # Every answer judged: the next item comes by itself, saying so.
    wait_item(page, second)
    assert f"Every answer to task {first} has a verdict" in page.text_content("#review-note")
    assert "You earned" in page.text_content("#review-note")
    verdicts = {a["user"]["display_name"]: a["verdict"] for a in answers_of(client, first, tokens["Olivia"])}
    assert verdicts == {"Ada Lovelace": "accepted", "Bo Chen": "fixed"}

    # r: reject Ada's answer to the second task; an empty reason is refused in place, Enter sends the reason.
    page.keyboard.press("r")
    page.locator("#reject-reason").wait_for(state="visible")
    page.keyboard.press("Enter")
    assert page.text_content("#reject-error") == "A rejection needs a reason the annotator can read."
    page.keyboard.type("The text is about the weather and a closed hide, not about birds being absent.")
    screenshot(page, "review-reject")
    page.set_viewport_size({"width": 1024, "height": 800})  # a smaller screen: nothing sticks out sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "review-reject-narrow")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.keyboard.press("Enter")
    page.wait_for_selector("#review-answers li[data-verdict=rejected]")
    assert "taken back" in page.locator("#review-answers li[data-verdict=rejected]").text_content()
    page.keyboard.press("a")
    # Nothing left: the queue's empty state.
    page.locator("#empty-panel").wait_for(state="visible")
    assert page.get_attribute("#empty-panel", "data-empty") == "queue"
    assert page.text_content("#empty-text") == "Nothing waits for review right now."
    rejected = next(a for a in answers_of(client, second, tokens["Olivia"]) if a["user"]["display_name"] == "Ada Lovelace")
    assert rejected["verdict"] == "rejected"
    context.close()
    assert errors == []

    # The annotator appeals on her answers page: the reviewer's reason, the deadline, the Appeal button.
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "ada@example.org")
    page.goto(f"{live_server}/projects/{pid}/answers")
    page.wait_for_selector("#answers-page[data-rejections=ready]")
    entry = page.locator(f"#rejected-list li[data-annotation-id='{rejected['id']}']")
    assert "The text is about the weather" in entry.locator(".review-note").text_content()
    assert "You may appeal until" in entry.text_content()
    assert page.locator(f"#my-answers tr[data-annotation-id='{rejected['id']}'] td[data-verdict=rejected]").count() == 1
    assert page.locator("#my-answers td[data-verdict=accepted]").count() == 1
    entry.locator("button[data-appeal-for]").click()
    entry.locator("button[type=submit]").click()
    assert entry.locator(".error").text_content() == "Say why the rejection is wrong: the person who decides reads it."
    entry.locator("textarea").fill("“Not a single bird worth the trip” is a complaint: the answer is negative.")
    entry.locator("button[type=submit]").click()
    page.wait_for_selector(f"#rejected-list li[data-annotation-id='{rejected['id']}'][data-appeal=open]")
    assert "Appeal open" in page.locator(f"#rejected-list li[data-annotation-id='{rejected['id']}']").text_content()
    screenshot(page, "answers-appealed")
    context.close()
    assert errors == []
    appeal = client.get("/api/v1/me/appeals", headers=tokens["Ada"]).get_json()["items"][0]
    assert appeal["status"] == "open" and appeal["annotation_id"] == rejected["id"]

    # The reviewer who rejected it may not decide: the API's 403, on the row.
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "rita@example.org")
    page.goto(f"{live_server}/projects/{pid}/review")
    page.wait_for_selector("#review-page[data-loaded=true]")
    row = page.locator(f"#appeal-rows tr[data-appeal-id='{appeal['id']}']")
    row.locator("button[data-decision=overturn]").click()
    row.locator(".error:not([hidden])").wait_for()
    assert "You made this rejection" in row.locator(".error").text_content()
    assert page.locator("#numbers-section").is_hidden()  # a reviewer sees no numbers
    context.close()
    assert errors == []

    # A manager overturns it: the answer counts again and Ada's pay comes back.
    wallet_before = client.get("/api/v1/wallet", headers=tokens["Ada"]).get_json()
    context, page, errors = watched_page(browser, width=1400, height=900)
    sign_in(page, live_server, "max@example.org")
    page.goto(f"{live_server}/projects/{pid}/review")
    page.wait_for_selector("#review-page[data-loaded=true]")
    row = page.locator(f"#appeal-rows tr[data-appeal-id='{appeal['id']}']")
    assert "Ada Lovelace" in row.text_content()
    assert "“Not a single bird worth the trip” is a complaint" in row.text_content()
    assert f"Task #{second}" in row.text_content() and "Negative" in row.text_content()
    figures = {box.get_attribute("data-figure"): box.locator("dd").text_content()
               for box in page.locator("#queue-figures > div").all()}
    assert figures["done"] == "2" and figures["openAppeals"] == "1"
    reviewer = page.locator(f"#reviewer-rows tr[data-user-id='{people['Rita'].id}']")
    assert [c.strip() for c in reviewer.locator("td").all_text_contents()[:7]] == \
        ["Rita Reviewer", "4", "2", "1", "1", "0", "0"]
    screenshot(page, "review-appeals")
    row.locator("textarea").fill("Agreed: the text complains, so negative is right.")
    row.locator("button[data-decision=overturn]").click()
    page.wait_for_selector(f"#appeal-rows tr[data-appeal-id='{appeal['id']}'][data-status=overturned]")
    assert "given back to the annotator" in row.text_content()
    page.wait_for_function("() => document.querySelector(\"#queue-figures [data-figure=openAppeals] dd\").textContent === '0'")
    screenshot(page, "review-appeal-overturned")
    context.close()
    assert errors == []

    # What the API says now.
    ada_second = next(a for a in answers_of(client, second, tokens["Olivia"]) if a["user"]["display_name"] == "Ada Lovelace")
    assert ada_second["verdict"] == "overturned"
    assert client.get("/api/v1/me/appeals", headers=tokens["Ada"]).get_json()["items"][0]["status"] == "overturned"
    wallet_after = client.get("/api/v1/wallet", headers=tokens["Ada"]).get_json()
    entries = client.get("/api/v1/wallet/entries?per_page=100", headers=tokens["Ada"]).get_json()["items"]
    restores = [e for e in entries if e["kind"] == "reversal" and e["details"].get("reverses")]
    restored = sum(e["amount"] for e in restores)
    assert restores and all(e["task_id"] == second for e in restores) and restored > 0
    assert wallet_after["balance"] + wallet_after["pending"] == wallet_before["balance"] + wallet_before["pending"] + restored
    rita = client.get("/api/v1/wallet/entries?per_page=100", headers=tokens["Rita"]).get_json()["items"]
    assert sum(e["amount"] for e in rita if e["kind"] == "review_pay") == 2 * REVIEW_PAY

    # The annotator reads it on her answers page and in her wallet, in words.
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "ada@example.org")
    page.goto(f"{live_server}/projects/{pid}/answers")
    page.wait_for_selector("#answers-page[data-rejections=ready]")
    entry = page.locator(f"#rejected-list li[data-annotation-id='{rejected['id']}']")
    assert entry.get_attribute("data-appeal") == "overturned"
    assert "Rejection overturned" in entry.text_content() and "restored to your wallet" in entry.text_content()
    assert "Agreed: the text complains" in entry.text_content()
    screenshot(page, "answers-overturned")
    page.goto(f"{live_server}/wallet")
    page.wait_for_selector("#entries[data-state=ready]")
    assert f"Restored: your appeal overturned the rejection of your answer to task {second}" in page.text_content("#entries")
    screenshot(page, "wallet-restored")
    context.close()
    assert errors == []


def test_an_owner_sets_the_review_policy_in_the_settings_and_sees_field_errors(browser, live_server, client,
                                                                              make_user, token_for):
    owner = token_for(make_user("olivia@example.org", name="Olivia Owner"))
    project = client.post("/api/v1/projects", json={"name": "Policy", "media_type": "text", "label_schema": SENTIMENT},
                          headers=owner).get_json()
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, "olivia@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/settings")
    page.wait_for_selector("#project-form-page[data-state=ready]")
    assert not page.is_checked("input[name=review_enabled]") and page.is_disabled("input[name=sample_rate]")
    page.check("input[name=review_enabled]")
    page.fill("input[name=sample_rate]", "1.5")  # out of range: the API names the field
    page.fill("input[name=first_answers]", "5")
    page.fill("input[name=reviewer_pay]", "0.30")
    page.fill("input[name=appeal_days]", "10")
    page.click("#save")
    page.locator("[data-error-for=sample_rate]:not([hidden])").wait_for()
    assert page.text_content("[data-error-for=sample_rate]") != ""
    assert "review.sample_rate" in page.text_content("#form-error")
    screenshot(page, "settings-review-error")
    page.fill("input[name=sample_rate]", "0.2")
    page.check("input[name=gold_failures]")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('saved').textContent !== ''")
    assert page.is_hidden("[data-error-for=sample_rate]")
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["review"] == {
        "sample_rate": 0.2, "below_agreement": None, "gold_failures": True, "first_answers": 5, "appeal_days": 10,
        "reviewer_pay": 30}
    # Unticked: the policy goes (null), and the review page says there is none.
    page.uncheck("input[name=review_enabled]")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('saved').textContent !== ''")
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["review"] is None
    page.goto(f"{live_server}/projects/{project['id']}/review")
    page.locator("#empty-panel").wait_for(state="visible")
    assert page.get_attribute("#empty-panel", "data-empty") == "policy"
    assert page.locator("#empty-links a[href$='/settings#review-fields']").count() == 1
    context.close()
    assert errors == []


VEHICLES = {"tools": ["bbox", "polygon"], "labels": [
    {"id": "car", "name": "Car", "children": [{"id": "sedan", "name": "Sedan"}, {"id": "hatchback", "name": "Hatchback"}]},
    {"id": "truck", "name": "Truck", "children": [{"id": "pickup", "name": "Pickup"}, {"id": "van", "name": "Van"}]}]}


def test_an_image_item_overlays_every_answer_and_a_fix_relabels_and_removes_objects(app, browser, live_server, client,
                                                                                   make_user, token_for):
    owner = token_for(make_user("olivia@example.org", name="Olivia Owner"))
    crowd = [token_for(make_user(f"{name.lower()}@example.org", name=name)) for name in ("Ada", "Bo")]
    make_user("rita@example.org", name="Rita Reviewer")
    made = client.post("/api/v1/projects", json={
        "name": "Street vehicles", "media_type": "image", "label_schema": VEHICLES, "overlap": 2,
        "aggregation": "majority", "visibility": "public", "review": {"sample_rate": 1.0}}, headers=owner)
    assert made.status_code == 201, made.get_json()
    project = made.get_json()
    imported(client, app, project["id"], owner, {"street.jpg": jpeg(320, 200, color=(90, 120, 160), pattern=1)})
    assert client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "rita@example.org",
                                                                          "role": "reviewer"}, headers=owner).status_code == 201
    drawn = [[{"tool": "bbox", "label": "sedan", "bbox": [20, 30, 90, 60]},
              {"tool": "polygon", "label": "van", "points": [[180, 40], [290, 50], [280, 150], [190, 140]]}],
             [{"tool": "bbox", "label": "hatchback", "bbox": [26, 34, 84, 58]},
              {"tool": "polygon", "label": "pickup", "points": [[175, 45], [285, 45], [285, 145], [185, 150]]},
              {"tool": "bbox", "label": "sedan", "bbox": [120, 150, 50, 30]}]]
    for headers, objects in zip(crowd, drawn):
        lease = nxt(client, project, headers).get_json()
        post(client, f"/api/v1/assignments/{lease['assignment']['id']}/annotation", headers, {"result": {"objects": objects}},
             status=201)
    task_id = lease["task"]["id"]

    context, page, errors = watched_page(browser, width=1400, height=900)
    sign_in(page, live_server, "rita@example.org")
    page.goto(f"{live_server}/projects/{project['id']}/review")
    wait_item(page, task_id)
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    agreed = len((consensus.get("result") or {}).get("objects", []))
    assert page.locator("#task-overlay > *").count() == 5 + agreed
    strokes = set(page.eval_on_selector_all("#task-overlay > *", "els => els.map(e => e.getAttribute('stroke'))"))
    assert len(strokes) == 2 + (1 if agreed else 0)  # a colour per annotator (and the consensus)
    assert page.locator("#task-overlay polygon").count() >= 2
    legend = page.locator("#legend label").all_text_contents()
    assert any("Ada" in text for text in legend) and any("Bo" in text for text in legend)
    screenshot(page, "review-image")
    page.keyboard.press("?")  # the keys, both the verdicts' and the fix's
    page.locator("#help-dialog").wait_for(state="visible")
    shortcuts = page.text_content("#help-rows")
    assert "Reject the answer (with a reason)" in shortcuts and "Save the fix" in shortcuts
    page.keyboard.press("Escape")
    page.locator("#help-dialog").wait_for(state="hidden")
    # Switching Bo off hides his three objects.
    bo = client.get(f"/api/v1/tasks/{task_id}/annotations", headers=owner).get_json()["items"][1]
    page.uncheck(f"#legend input[data-owner='{bo['user_id']}']")
    assert page.locator("#task-overlay > *").count() == 2 + agreed
    page.check(f"#legend input[data-owner='{bo['user_id']}']")

    # j to Bo's answer, f to fix it: the first object is selected (drawn thicker); "/" and a label rename it;
    # j selects the next object, Delete removes it; Ctrl+Enter saves.
    page.keyboard.press("j")
    page.keyboard.press("f")
    page.locator("#fix-panel").wait_for(state="visible")
    assert page.locator("#fix-parts li").count() == 3
    assert page.locator("#task-overlay [data-selected=true]").count() == 1
    page.keyboard.press("/")
    page.keyboard.type("sedan")
    page.locator("#label-results li[data-label-id=sedan]").wait_for()
    page.keyboard.press("Enter")
    assert page.locator("#fix-parts li").first.text_content().startswith("Sedan")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Delete")
    assert page.locator("#fix-parts li").count() == 2
    page.keyboard.press("j")  # nothing selected after a removal: j selects the first, then the polygon
    page.keyboard.press("j")
    page.keyboard.press("/")
    page.keyboard.type("van")
    page.locator("#label-results li[data-label-id=van]").wait_for()
    page.keyboard.press("Enter")
    screenshot(page, "review-image-fix")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#review-answers li[data-answer-id='{bo['id']}'][data-verdict=fixed]")
    page.keyboard.press("a")
    page.locator("#empty-panel").wait_for(state="visible")
    context.close()
    assert errors == []
    answers = client.get(f"/api/v1/tasks/{task_id}/annotations", headers=owner).get_json()["items"]
    assert [a["verdict"] for a in answers] == ["accepted", "fixed"]
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    assert consensus["method"] == "reviewed"
    assert [(o["tool"], o["label"]) for o in consensus["result"]["objects"]] == [("bbox", "sedan"), ("polygon", "van")]
