"""A live server on loopback and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil

import pytest

from annotator import demo
from annotator.runtime import runtime
from tests.factories import IN_CI, on_loopback

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def _chromium() -> str | None:
    return os.environ.get("ANNOTATOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        message = "Chromium is needed for browser tests: apt-get install -y chromium"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_server(app):
    with on_loopback(app) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def seeded(app):
    with app.app_context():
        session = runtime().session_factory()
        demo.seed(session, runtime().passwords, runtime().storage)
        session.commit()
        session.close()
