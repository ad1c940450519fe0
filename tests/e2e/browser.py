"""Shared helpers for the browser tests: screenshots, watched pages, signing in, drawing on the canvas.

The fixtures (browser, live_server, page, seeded) are in tests/e2e/conftest.py.
"""
from __future__ import annotations

from pathlib import Path

from tests.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def watched_page(browser, width: int = 1280, height: int = 800):
    """A new browser context and page whose JavaScript errors and dialogs (an alert would be an XSS) are
    collected in the returned list: (context, page, errors)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return context, page, errors


def sign_in(page, live_server, email, password=PASSWORD):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")


def drag_box(page, start, end):
    """Drag on the canvas from one image point to another (image pixels)."""
    x1, y1 = page.evaluate("p => window.annotatorStage.clientPoint(p)", list(start))
    x2, y2 = page.evaluate("p => window.annotatorStage.clientPoint(p)", list(end))
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=4)
    page.mouse.move(x2, y2, steps=4)
    page.mouse.up()


def objects(page) -> list[str]:
    return page.locator("#objects li").all_text_contents()


def submit_for_next(page, task: int) -> None:
    """Submit the answer with Ctrl+Enter and wait until the workspace shows another task than `task`."""
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => document.getElementById('task-content').dataset.taskId !== '{task}'")
