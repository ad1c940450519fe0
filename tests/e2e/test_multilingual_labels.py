"""Multilingual labels in the browser (issue 19): on a taxonomy made in English with Chinese names and aliases,
searching "轿车" finds Sedan in the English UI; switched to Chinese, the workspace shows the Chinese names, finds
a label by its English alias, and the answer names the label by id; the settings form keeps names and aliases."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tasks.models import Annotation
from tests.e2e.browser import drag_box, objects, screenshot, sign_in, submit_for_next, watched_page
from tests.factories import create_project, jpeg, run_jobs, upload

pytestmark = pytest.mark.e2e
# Tools in the order the settings form lists them, so that saving the form unchanged sends the same schema.
CARS = {"tools": ["classify", "bbox"], "labels": [
    {"id": "car", "name": "Car", "names": {"zh": "汽车"}, "children": [
        {"id": "sedan", "name": "Sedan", "names": {"zh": "轿车", "zh-Hant": "轎車"}, "aliases": ["saloon", "Berline"]},
        {"id": "suv", "name": "SUV", "names": {"zh": "越野车"}, "aliases": ["sport utility vehicle"]}]},
    {"id": "truck", "name": "Truck", "names": {"zh": "卡车"}, "aliases": ["lorry"]}]}


@pytest.fixture
def car_project(app, client, make_user, token_for):
    owner = token_for(make_user("owner@example.org"))
    project = create_project(client, owner, label_schema=CARS, overlap=1, visibility="public")
    files = {f"car{n}.jpg": jpeg(640, 480, color=(50 * n, 100, 180), pattern=n) for n in range(2)}
    assert upload(client, project["id"], owner, files).status_code == 202
    run_jobs(app)
    return {**project, "owner": owner}


def ready(page) -> int:
    page.wait_for_function("() => document.getElementById('workspace').dataset.state === 'ready'")
    return int(page.get_attribute("#task-content", "data-task-id"))


def results(page, query) -> list[tuple[str, str]]:
    """(label id, shown name) of the label search's results for `query`."""
    page.keyboard.press("/")
    page.locator("#label-search").wait_for(state="visible")
    page.fill("#label-search", query)
    page.locator("#label-results li").first.wait_for()
    return [(item.get_attribute("data-label-id"), item.locator(".swatch-name").text_content())
            for item in page.locator("#label-results li").all()]


def test_chinese_names_are_found_in_english_and_shown_in_chinese_where_the_search_finds_english_aliases(
        browser, live_server, car_project, make_user, db):
    make_user("annotator@example.org")
    context, page, errors = watched_page(browser)
    try:
        sign_in(page, live_server, "annotator@example.org")
        page.goto(f"{live_server}/projects/{car_project['id']}/label")
        ready(page)
        assert results(page, "轿车") == [("sedan", "Sedan")]  # the English UI shows `name`, finds the Chinese one
        assert results(page, "lorry") == [("truck", "Truck")]
        assert page.text_content("#label-results li .muted") == "lorry · truck"  # what it was found by
        screenshot(page, "labels-multilingual-en")
        page.keyboard.press("Escape")

        with page.expect_navigation():
            page.select_option("#language", "zh-CN")  # the switcher reloads the page in Chinese
        task = ready(page)
        assert page.get_attribute("#label-search", "placeholder") == "按名称或编号搜索标签"
        assert results(page, "saloon") == [("sedan", "轿车")]  # an English alias finds the Chinese name
        assert page.text_content("#label-results li .muted") == "saloon · 汽车 › 轿车"
        assert results(page, "sedan")[0] == ("sedan", "轿车")  # and so does the id / English name
        assert results(page, "车")[:4] == [("car", "汽车"), ("truck", "卡车"), ("sedan", "轿车"), ("suv", "越野车")]
        page.fill("#label-search", "轿车")
        page.locator("#label-results li").first.wait_for()
        assert page.locator("#label-results li").all_text_contents()[0].startswith("轿车")
        assert page.text_content("#label-results li .muted") == "汽车 › 轿车"  # the path in Chinese too
        screenshot(page, "labels-multilingual-zh-search")
        page.keyboard.press("Enter")  # picks it: the image's label and the label new boxes get
        assert page.locator("#labels").text_content().startswith("轿车")
        drag_box(page, (60, 60), (300, 220))
        assert "轿车" in objects(page)[0]
        screenshot(page, "labels-multilingual-zh-picked")
        submit_for_next(page, task)
    finally:
        context.close()
    assert errors == []
    answer = db.scalars(select(Annotation).where(Annotation.task_id == task)).one()
    assert answer.result["labels"] == ["sedan"] and answer.result["objects"][0]["label"] == "sedan"


def test_the_settings_form_shows_names_and_aliases_as_json_and_saving_keeps_them(browser, live_server, car_project,
                                                                                client):
    context, page, errors = watched_page(browser, 1280, 900)
    try:
        sign_in(page, live_server, "owner@example.org")
        page.goto(f"{live_server}/projects/{car_project['id']}/settings")
        page.wait_for_function("() => document.getElementById('project-form-page').dataset.state === 'ready'")
        assert '"names"' in page.input_value("#taxonomy") and '"saloon"' in page.input_value("#taxonomy")
        page.fill("#taxonomy-search", "越野")  # the preview searches every name too
        assert page.locator("#taxonomy-tree li").first.get_attribute("data-label-id") == "suv"
        page.fill("input[name=name]", "Cars, renamed")
        page.click("#save")
        page.wait_for_function("() => document.getElementById('saved').textContent !== ''")
        screenshot(page, "labels-multilingual-settings")
    finally:
        context.close()
    assert errors == []
    project = client.get(f"/api/v1/projects/{car_project['id']}", headers=car_project["owner"]).get_json()
    assert project["name"] == "Cars, renamed" and project["schema_version"] == 1  # the same schema, not a new one
    assert project["label_schema"]["labels"] == CARS["labels"]


def test_in_the_demo_bo_reads_the_birds_in_chinese_and_finds_one_by_its_scientific_name(browser, live_server, seeded,
                                                                                        client):
    from annotator import demo

    bo = next(user for user in demo.ANNOTATORS if user.locale == "zh-CN")
    client.post("/api/v1/auth/login", json={"email": bo.email, "password": demo.PASSWORD})
    project_id = next(p["id"] for p in client.get("/api/v1/projects").get_json()["items"]
                      if p["name"] == demo.IMAGE_PROJECT)
    context, page, errors = watched_page(browser)
    try:
        sign_in(page, live_server, bo.email, demo.PASSWORD)
        page.goto(f"{live_server}/projects/{project_id}/label")
        ready(page)
        assert results(page, "Setophaga") == [("yellow_warbler", "黄林莺")]
        assert page.text_content("#label-results li .muted") == "Setophaga petechia · 鸟类 › 莺 › 黄林莺"
        screenshot(page, "labels-multilingual-demo")
        assert results(page, "Yellow Warbler")[0] == ("yellow_warbler", "黄林莺")
    finally:
        context.close()
    assert errors == []
