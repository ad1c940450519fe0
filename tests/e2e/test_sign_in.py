"""Signing in as the demo owner in a real browser."""
from __future__ import annotations

import pytest

from annotator import demo
from tests.e2e.browser import screenshot

pytestmark = pytest.mark.e2e


def test_the_demo_owner_signs_in_and_out(live_server, page, seeded):
    page.goto(live_server + "/")
    assert page.url == live_server + "/login"
    screenshot(page, "login")
    page.fill("input[name=email]", demo.OWNER.email)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")
    assert page.text_content("#who") == demo.OWNER.display_name
    assert page.text_content("#welcome") == f"Welcome, {demo.OWNER.display_name}"
    assert demo.OWNER.email in page.text_content("#signed-in-as")
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


def sign_in_as_owner(page, live_server):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", demo.OWNER.email)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")


def test_the_language_switch_changes_the_page_and_is_remembered_for_the_user(live_server, page, seeded):
    sign_in_as_owner(page, live_server)
    assert page.text_content("[data-i18n='nav.projects']") == "Projects"
    with page.expect_navigation():
        page.select_option("#language", "zh-CN")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")
    assert page.text_content("[data-i18n='nav.projects']") == "项目"
    assert page.text_content("#welcome").startswith("欢迎")
    assert page.get_attribute("html", "lang") == "zh-CN"
    screenshot(page, "home-zh")
    page.context.clear_cookies()  # a new session: the language is the user's, kept by the server
    sign_in_as_owner(page, live_server)
    assert page.text_content("[data-i18n='nav.wallet']") == "钱包"
    with page.expect_navigation():
        page.select_option("#language", "en")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")
    assert page.text_content("[data-i18n='nav.wallet']") == "Wallet"


def test_a_new_user_signs_up_in_chinese_sees_bad_input_named_and_lands_signed_in(live_server, page, app):
    from sqlalchemy import select

    from annotator.users.models import User

    page.goto(live_server + "/login")
    page.click("#to-signup")
    page.wait_for_url(live_server + "/signup")
    with page.expect_navigation():
        page.select_option("#language", "zh-CN")  # before signing in: this browser remembers it
    assert page.text_content("h1") == "创建账号"
    page.fill("input[name=display_name]", "<img src=x onerror=alert(1)>新人")
    page.fill("input[name=email]", "newcomer@example.org")
    page.fill("input[name=password]", "short")
    page.click("button[type=submit]")
    page.locator("#signup-errors").wait_for(state="visible")
    assert page.text_content("#signup-errors").startswith("密码")  # the field as the page names it
    screenshot(page, "signup-error-zh")
    page.fill("input[name=password]", "a much longer passphrase 2026")
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")
    assert page.text_content("#who") == "<img src=x onerror=alert(1)>新人"  # text, not an image
    assert page.text_content("#welcome").startswith("欢迎")
    with app.app_context():
        from annotator.runtime import runtime

        session = runtime().session_factory()
        assert session.scalar(select(User.locale).where(User.email == "newcomer@example.org")) == "zh-CN"
        session.close()
