"""Signing in as the demo owner in a real browser."""
from __future__ import annotations

import pytest

from annotator import demo
from annotator.web import runtime
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(app):
    with app.app_context():
        session = runtime().session_factory()
        demo.seed(session, runtime().passwords, runtime().storage)
        session.commit()
        session.close()


def test_the_demo_owner_signs_in_and_out(live_server, page, seeded):
    page.goto(live_server + "/")
    assert page.url == live_server + "/login"
    screenshot(page, "login")
    page.fill("input[name=email]", demo.OWNER.email)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.wait_for_function("document.getElementById('display-name').textContent.length > 0")
    assert page.text_content("#display-name") == demo.OWNER.display_name
    assert page.text_content("#email") == demo.OWNER.email
    screenshot(page, "home")
    page.click("#logout")  # a cookie-authenticated POST: works only if the CSRF token is sent
    page.wait_for_url(live_server + "/login")
    page.goto(live_server + "/")
    assert page.url == live_server + "/login"


def test_a_wrong_password_shows_the_message_next_to_the_form(live_server, page, seeded):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", demo.OWNER.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert error.text_content() == "Wrong email or password."
    assert page.url == live_server + "/login"
    screenshot(page, "login-error")
