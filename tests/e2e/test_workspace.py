"""The image workspace in a real browser: draw boxes with labels found by search, undo, keep a draft across a
reload, submit straight into the next task and see the earnings move; a second annotator never gets the same
task; text spans made by selecting text; the shortcut list; the page in Chinese."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tasks.models import Annotation
from tests.e2e.browser import drag_box, objects, screenshot, sign_in, watched_page
from tests.factories import BIRDS, create_project, create_text_project, deposit, jpeg, run_jobs, upload

pytestmark = pytest.mark.e2e
RATES = {"per_annotation": 50, "agreement_bonus": 20}
SCHEMA = {**BIRDS, "tools": ["bbox", "polygon", "keypoint"],
          "labels": BIRDS["labels"] + [{"id": "mammal", "name": "哺乳类", "children": [{"id": "bat", "name": "蝙蝠"}]}]}


def ready_task(page) -> int:
    page.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
    return int(page.get_attribute("#task-content", "data-task-id"))


def choose_by_search(page, query):
    page.keyboard.press("/")
    page.locator("#label-search").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "label-search"
    page.keyboard.type(query)
    page.locator("#label-results li").first.wait_for()
    page.keyboard.press("Enter")


@pytest.fixture
def image_project(app, client, make_user, token_for):
    owner = token_for(make_user("owner@example.org"))
    project = create_project(client, owner, label_schema=SCHEMA, overlap=1, visibility="public", rewards=RATES,
                             instructions="Draw a **tight** box around every bird. [guide](javascript:alert(1))")
    deposit(client, app, project["id"], owner, 10_000)
    files = {f"bird{n}.jpg": jpeg(640, 480, color=(40 * n, 120, 200 - 30 * n), pattern=n) for n in range(4)}
    assert upload(client, project["id"], owner, files).status_code == 202
    run_jobs(app)
    return project


def test_an_annotator_draws_two_boxes_undoes_one_keeps_a_draft_and_submits_into_the_next_task(
        browser, live_server, image_project, make_user, db):
    make_user("a1@example.org")
    make_user("a2@example.org")
    first = browser.new_context(viewport={"width": 1280, "height": 800})
    second = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    try:
        page, other = first.new_page(), second.new_page()
        for p in (page, other):
            p.on("pageerror", lambda error: errors.append(str(error)))
            p.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        sign_in(page, live_server, "a1@example.org")
        page.goto(f"{live_server}/projects/{image_project['id']}/label")
        task = ready_task(page)
        assert page.get_attribute("#tools [data-tool=bbox]", "aria-pressed") == "true"  # the first drawing tool
        assert page.locator("#instructions strong").text_content() == "tight"
        assert page.locator("#instructions a").count() == 0  # the javascript: link is text, not a link
        earned_before = int(page.get_attribute("#pending", "data-earned"))

        choose_by_search(page, "黄林")  # by a part of the Chinese name
        drag_box(page, (40, 40), (200, 160))
        page.keyboard.press("Escape")  # deselect, so the next label is not given to this box
        choose_by_search(page, "bat")  # by id
        drag_box(page, (300, 200), (420, 330))
        assert [text.split("·")[1].split("Hide")[0].strip() for text in objects(page)] == ["黄林莺", "蝙蝠"]
        screenshot(page, "workspace-two-boxes")
        page.keyboard.press("Control+z")
        assert len(objects(page)) == 1 and "黄林莺" in objects(page)[0]
        page.keyboard.press("Control+Shift+z")
        assert len(objects(page)) == 2
        page.keyboard.press("Control+z")

        page.wait_for_timeout(400)  # the draft is saved a moment after the last edit
        page.reload()
        assert ready_task(page) == task  # the same lease
        assert page.is_visible("#workspace-note")
        assert len(objects(page)) == 1 and "黄林莺" in objects(page)[0]

        sign_in(other, live_server, "a2@example.org")
        other.goto(f"{live_server}/projects/{image_project['id']}/label")
        assert ready_task(other) != task  # overlap 1: the task leased to the first annotator is not offered

        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{task}'")
        following = ready_task(page)
        assert following != task and objects(page) == []  # a fresh task, no leftovers
        page.wait_for_function(f"() => Number(document.getElementById('pending').dataset.earned) > {earned_before}")
        screenshot(page, "workspace-next-task")

        answer = db.scalars(select(Annotation).where(Annotation.task_id == task)).one()
        [box] = answer.result["objects"]
        assert box["label"] == "yellow_warbler" and box["tool"] == "bbox"
        assert box["bbox"] == pytest.approx([40, 40, 160, 120], abs=1.5)  # image pixels, whatever the zoom

        page.keyboard.press("?")
        page.locator("#help-dialog").wait_for(state="visible")
        assert page.locator("#help-rows tr").count() >= 20
        screenshot(page, "workspace-shortcuts")
    finally:
        first.close()
        second.close()
    assert errors == []


def test_spans_are_made_by_selecting_text_and_sent_in_code_points(browser, live_server, client, make_user,
                                                                  token_for, db):
    owner = token_for(make_user("owner@example.org"))
    project = create_text_project(client, owner, visibility="public", overlap=1)
    text = "𝒳 the Yellow Warbler <img src=x onerror=alert(1)> sang"
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": text}}],
                       headers=owner).status_code == 201
    make_user("reader@example.org")
    context, page, errors = watched_page(browser, 1200, 760)
    try:
        sign_in(page, live_server, "reader@example.org")
        page.goto(f"{live_server}/projects/{project['id']}/label")
        ready_task(page)
        assert page.text_content("#task-text") == text and page.locator("#task-text img").count() == 0
        # Select "Yellow Warbler" (UTF-16 offsets 7..21 of the text node; code points 6..20).
        page.evaluate("""() => {
            const node = document.getElementById('task-text').firstChild;
            const range = document.createRange();
            range.setStart(node, 7); range.setEnd(node, 21);
            const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
            document.getElementById('task-text').dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""")
        assert page.evaluate("document.activeElement.id") == "label-search"  # a new span asks for its label
        page.keyboard.type("species")
        page.keyboard.press("Enter")
        assert page.locator("#task-text mark").text_content() == "Yellow Warbler"
        page.keyboard.press("Escape")  # the new span is no longer selected
        assert page.locator("#recent .chip").all_text_contents() == ["1 Species mention"]  # only what was chosen
        choose_by_search(page, "positive")  # no span selected: the whole text's class
        page.keyboard.press("2")  # the second most recent label, "species", for the whole text: one class only
        page.keyboard.press("2")  # and back to "positive"
        screenshot(page, "workspace-text-spans")
        page.keyboard.press("Control+Enter")
        page.locator("#done-panel").wait_for(state="visible")
    finally:
        context.close()
    assert errors == []
    answer = db.scalars(select(Annotation)).one()
    assert [{k: s[k] for k in ("start", "end", "label")} for s in answer.result["spans"]] == [
        {"start": 6, "end": 20, "label": "species"}]
    assert answer.result["labels"] == ["positive"]


def test_the_workspace_speaks_chinese_for_a_chinese_speaking_user(browser, live_server, image_project, make_user,
                                                                 client, token_for):
    user = make_user("zh@example.org")
    headers = token_for(user)
    assert client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=headers).status_code == 200
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server, "zh@example.org")
        page.goto(f"{live_server}/projects/{image_project['id']}/label")
        ready_task(page)
        assert page.text_content("#submit [data-i18n='ws.submit']") == "提交"
        assert page.text_content("#tools [data-tool=bbox]") == "矩形框"
        assert page.get_attribute("#label-search", "placeholder") == "按名称或编号搜索标签"
        assert page.text_content("#pending").startswith("待结算")
        screenshot(page, "workspace-zh")
    finally:
        context.close()


def open_workspace(browser, live_server, project, email):
    """A watched page of `email`, signed in, on the project's workspace: (context, page, errors)."""
    context, page, errors = watched_page(browser)
    sign_in(page, live_server, email)
    page.goto(f"{live_server}/projects/{project['id']}/label")
    return context, page, errors


def click_at(page, point, **options):
    x, y = page.evaluate("p => window.annotatorStage.clientPoint(p)", list(point))
    page.mouse.click(x, y, **options)


def test_polygons_keypoints_moving_resizing_zooming_and_hiding_by_keyboard_and_mouse(browser, live_server,
                                                                                    image_project, make_user, db):
    make_user("editor@example.org")
    context, page, errors = open_workspace(browser, live_server, image_project, "editor@example.org")
    try:
        task = ready_task(page)
        choose_by_search(page, "sparrow")  # the label new objects get
        page.keyboard.press("p")  # polygon: click the corners, close on the first
        for point in [(100, 100), (220, 110), (200, 220), (110, 200)]:
            click_at(page, point)
        click_at(page, (101, 101))
        page.keyboard.press("Escape")
        page.keyboard.press("k")
        click_at(page, (500, 60))  # a keypoint
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        drag_box(page, (300, 300), (400, 380))
        assert len(objects(page)) == 3

        page.keyboard.press("v")  # select: move the box by 20 px, then pull its south-east corner out
        drag_box(page, (350, 340), (370, 360))
        drag_box(page, (420, 400), (460, 430))
        scale = page.evaluate("window.annotatorStage.view().scale")
        page.keyboard.press("+")
        assert page.evaluate("window.annotatorStage.view().scale") > scale
        page.keyboard.press("0")
        assert page.evaluate("window.annotatorStage.view().scale") == pytest.approx(scale)
        page.keyboard.press("Tab")  # the next object: the polygon (the box was selected, the last one)
        page.keyboard.press("h")  # hidden, still part of the answer
        assert "hidden-object" in page.get_attribute("#objects li:nth-child(1)", "class")
        page.keyboard.press("Tab")
        page.keyboard.press("Delete")  # the keypoint goes
        assert len(objects(page)) == 2
        screenshot(page, "workspace-editing")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{task}'")
    finally:
        context.close()
    assert errors == []
    answer = db.scalars(select(Annotation).where(Annotation.task_id == task)).one()
    polygon, box = answer.result["objects"]
    assert polygon["tool"] == "polygon" and polygon["label"] == "sparrow" and len(polygon["points"]) == 4
    assert polygon["points"][0] == pytest.approx([100, 100], abs=1.5)
    assert box["tool"] == "bbox" and box["bbox"] == pytest.approx([320, 320, 140, 110], abs=2)


def test_skip_and_flag_with_a_reason_move_on_and_are_recorded(browser, live_server, image_project, make_user, db):
    from tasks.models import Assignment, Flag

    make_user("skipper@example.org")
    context, page, errors = open_workspace(browser, live_server, image_project, "skipper@example.org")
    try:
        skipped = ready_task(page)
        page.keyboard.press("Shift+S")
        page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{skipped}'")
        flagged = ready_task(page)
        page.keyboard.press("Shift+F")
        page.locator("#flag-dialog").wait_for(state="visible")
        page.check("input[name=reason][value=private_data]")
        page.fill("textarea[name=note]", "a face <script>alert(1)</script>")
        screenshot(page, "workspace-flag")
        page.click("#flag-dialog button[value=flag]")
        page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{flagged}'")
        kept = ready_task(page)
        page.keyboard.press("Shift+F")  # opened again on the next task, then closed with Esc: nothing is flagged
        page.locator("#flag-dialog").wait_for(state="visible")
        page.keyboard.press("Escape")
        page.locator("#flag-dialog").wait_for(state="hidden")
        page.wait_for_timeout(300)
        assert ready_task(page) == kept
    finally:
        context.close()
    assert errors == []
    assert db.scalars(select(Flag.task_id)).all() == [flagged]
    flag = db.scalars(select(Flag).where(Flag.task_id == flagged)).one()
    assert (flag.reason, flag.note) == ("private_data", "a face <script>alert(1)</script>")
    assert db.scalars(select(Assignment.status).where(Assignment.task_id == skipped)).one() == "skipped"
