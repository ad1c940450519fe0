"""/api/docs in a real browser: the vendored Swagger UI draws every operation under the strict CSP (no violation,
no console error), for anyone; signed in, "Try it out" reads and writes as the visitor (the CSRF token added)."""
from __future__ import annotations

import json
import re

import pytest

from annotator import demo
from tests.e2e.browser import SCREENSHOTS, screenshot, sign_in

pytestmark = pytest.mark.e2e

# Runs before the page's own scripts (Playwright injects it, outside the page's CSP): keeps every violation.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`));
"""


ACCENT = "rgb(47, 111, 222)"  # --accent in app.css


def watch(page) -> list[str]:
    """Console errors and warnings (Chromium reports CSP refusals there too) of the page, as they come."""
    page.add_init_script(RECORD_VIOLATIONS)
    problems: list[str] = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(
        f"{message.type}: {message.text}"))
    return problems


def operation(page, method: str, path: str):
    return page.locator(f".opblock-{method.lower()}", has=page.locator(
        f".opblock-summary-path[data-path='{path}']"))


def tried(page, method: str, path: str) -> dict:
    """Open an operation, press "Try it out" and "Execute" (no parameters), and read the JSON it answered."""
    block = operation(page, method, path)
    block.locator(".opblock-summary-control").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    body = block.locator(".live-responses-table .response-col_description pre.microlight").first
    body.wait_for()
    return json.loads(body.text_content())


def opened_docs(page, live_server):
    page.goto(live_server + "/api/docs")
    page.locator("#swagger-ui[data-state=ready]").wait_for()
    operation(page, "GET", "/api/v1/projects").wait_for()


def test_anyone_reads_every_operation_with_no_csp_violation(live_server, page):
    problems = watch(page)
    opened_docs(page, live_server)
    paths = page.locator(".opblock-summary-path").evaluate_all("nodes => nodes.map((n) => n.dataset.path)")
    assert {"/api/v1/projects", "/api/v1/auth/login", "/api/v1/projects/{project_id}/tasks", "/api/docs"} <= set(paths)
    assert page.locator(".swagger-ui .info .title").text_content().startswith("Annotator API")
    project = operation(page, "GET", "/api/v1/projects/{project_id}")
    project.locator(".opblock-summary-control").click()  # open one: parameters and the answer's schema render
    project.locator(".parameters-container").wait_for()
    project.screenshot(path=str(SCREENSHOTS / "api-docs-operation.png"))
    problem = page.locator("section.models article[data-json-schema-level='0']", has=page.locator(
        ".json-schema-2020-12__title", has_text=re.compile("^Problem$")))
    problem.locator(".json-schema-2020-12-accordion").click()  # a schema's properties
    problem.locator(".json-schema-2020-12-body", has_text="detail").wait_for()
    # The app's bare `button` rule (white on the accent blue) stays out of Swagger UI's controls.
    toggle = problem.locator(".json-schema-2020-12-accordion")
    assert toggle.evaluate("b => getComputedStyle(b).backgroundColor") != ACCENT
    screenshot(page, "api-docs")
    assert page.evaluate("window.cspViolations") == []
    assert problems == []
    assert page.is_hidden("#nav-links") and page.is_visible("#nav-api")


def test_a_visitor_tries_an_operation_with_an_api_token_given_to_authorize(live_server, page, make_user, token_for):
    problems = watch(page)
    user = make_user("token-reader@example.org")
    bearer = token_for(user)["Authorization"].removeprefix("Bearer ")
    opened_docs(page, live_server)
    page.click(".swagger-ui .auth-wrapper button.authorize")
    dialog = page.locator(".swagger-ui .dialog-ux .modal-ux")
    scheme = dialog.locator(".auth-container", has_text="bearer")
    scheme.locator("input").fill(bearer)
    dialog.screenshot(path=str(SCREENSHOTS / "api-docs-authorize.png"))
    scheme.locator("button.authorize").click()
    scheme.locator("button.btn-done").click()
    assert tried(page, "GET", "/api/v1/me")["email"] == user.email
    assert page.evaluate("window.cspViolations") == []
    assert problems == []


def test_signed_in_try_it_out_reads_and_writes_as_you(live_server, page, seeded):
    problems = watch(page)
    sign_in(page, live_server, demo.OWNER.email, demo.PASSWORD)
    page.click("#nav-api")
    page.wait_for_url(live_server + "/api/docs")
    operation(page, "GET", "/api/v1/projects").wait_for()
    page.locator("#nav-links").wait_for(state="visible")
    assert tried(page, "GET", "/api/v1/me")["email"] == demo.OWNER.email
    write = operation(page, "PATCH", "/api/v1/me")  # a cookie-authenticated write: refused without X-CSRF-Token
    write.locator(".opblock-summary-control").click()
    write.locator("button.try-out__btn").click()
    write.locator("textarea.body-param__text").fill(json.dumps({"display_name": "Owner via the docs"}))
    write.locator("button.execute").click()
    answer = write.locator(".live-responses-table .response .response-col_status").first
    answer.wait_for()
    assert answer.text_content().strip() == "200"
    screenshot(page, "api-docs-try-it-out")
    assert page.evaluate("window.cspViolations") == []
    assert problems == []
    page.goto(live_server + "/")
    page.wait_for_function("() => document.getElementById('who').textContent === 'Owner via the docs'")


def test_the_page_follows_the_readers_language(live_server, page):
    page.add_init_script("localStorage.setItem('annotator.locale', 'zh-CN')")
    opened_docs(page, live_server)
    assert page.text_content("#api-docs h1") == "API 文档"
    assert page.get_attribute("html", "lang") == "zh-CN"
