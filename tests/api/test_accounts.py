"""Accounts per API.md: register, login, logout, CSRF, tokens, /me."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from annotator.users.models import ApiToken, User
from annotator.users.service import hash_token
from annotator.runtime import runtime
from tests.factories import PASSWORD, assert_problem, sign_in


def register(client, **overrides):
    body = {"email": "ada@example.org", "password": PASSWORD, "display_name": "Ada", **overrides}
    return client.post("/api/v1/auth/register", json=body)


def test_register_creates_a_user_and_never_returns_the_password_hash(client, app):
    response = register(client, locale="zh-CN")
    assert response.status_code == 201
    body = response.get_json()
    assert body["email"] == "ada@example.org" and body["display_name"] == "Ada"
    assert body["locale"] == "zh-CN" and body["is_admin"] is False
    assert "password" not in str(body) and "hash" not in str(body)
    with app.app_context():
        user = runtime().session_factory().scalar(select(User))
        assert user.password_hash.startswith("$argon2id$")


def test_register_with_an_existing_email_in_other_case_is_409(client):
    assert register(client).status_code == 201
    assert_problem(register(client, email="  ADA@Example.org "), 409, "email_taken")


def test_register_rejects_an_invalid_email(client):
    body = assert_problem(register(client, email="not-an-email"), 422, "invalid_fields")
    assert "email" in body["errors"]


def test_register_rejects_a_short_password(client):
    body = assert_problem(register(client, password="short9chr"), 422)
    assert "password" in body["errors"]


def test_register_rejects_the_email_as_password(client):
    body = assert_problem(register(client, email="longname@example.org", password="LongName@example.org"), 422)
    assert body["errors"]["password"] == ["The password must not be your email address."]


def test_register_rejects_an_unknown_locale(client):
    assert "locale" in assert_problem(register(client, locale="xx"), 422)["errors"]


def test_register_is_refused_when_signup_is_closed(client, app):
    app.config["ANNOTATOR_OPEN_SIGNUP"] = False
    assert_problem(register(client), 403, "signup_closed")


def test_login_sets_a_session_cookie_that_me_accepts(client, make_user):
    make_user("grace@example.org", name="Grace")
    response = client.post("/api/v1/auth/login", json={"email": "Grace@Example.org", "password": PASSWORD})
    assert response.status_code == 200 and response.get_json()["display_name"] == "Grace"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = client.get("/api/v1/me").get_json()
    assert set(me) >= {"id", "email", "display_name", "is_admin", "locale"}
    assert me["email"] == "grace@example.org"


def test_unknown_email_and_wrong_password_get_the_same_401(client, make_user):
    make_user("grace@example.org")
    wrong = client.post("/api/v1/auth/login", json={"email": "grace@example.org", "password": "wrong password!"})
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@example.org", "password": PASSWORD})
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.get_json() == unknown.get_json()


def test_login_of_a_deactivated_account_is_the_same_401(client, make_user, app):
    user = make_user("gone@example.org")
    with app.app_context():
        session = runtime().session_factory()
        session.get(User, user.id).is_active = False
        session.commit()
    response = client.post("/api/v1/auth/login", json={"email": "gone@example.org", "password": PASSWORD})
    assert_problem(response, 401, "invalid_credentials")


def test_repeated_failures_on_one_account_are_rate_limited_even_with_the_right_password(client, make_user, app):
    app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    make_user("grace@example.org")
    for _ in range(3):
        assert client.post("/api/v1/auth/login", json={"email": "grace@example.org", "password": "x" * 12}).status_code == 401
    limited = client.post("/api/v1/auth/login", json={"email": "grace@example.org", "password": PASSWORD})
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= app.config["ANNOTATOR_LOGIN_WINDOW_SECONDS"]


def test_repeated_failures_from_one_address_are_rate_limited_across_accounts(client, make_user, app):
    app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    make_user("grace@example.org")
    for n in range(4):
        client.post("/api/v1/auth/login", json={"email": f"guess{n}@example.org", "password": "x" * 12})
    assert_problem(client.post("/api/v1/auth/login", json={"email": "grace@example.org", "password": PASSWORD}), 429)
    other = app.test_client()
    ok = other.post("/api/v1/auth/login", json={"email": "grace@example.org", "password": PASSWORD},
                    environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200


def test_a_successful_login_resets_the_account_failure_count(client, make_user, app):
    app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_user("grace@example.org")
    bad = {"email": "grace@example.org", "password": "x" * 12}
    assert app.test_client().post("/api/v1/auth/login", json=bad).status_code == 401
    sign_in(app.test_client(), "grace@example.org")
    assert app.test_client().post("/api/v1/auth/login", json=bad).status_code == 401
    assert app.test_client().post("/api/v1/auth/login", json=bad).status_code == 401  # 2nd since the reset
    assert_problem(app.test_client().post("/api/v1/auth/login", json=bad), 429)


def test_logout_ends_the_session(client, make_user):
    make_user("grace@example.org")
    csrf = sign_in(client, "grace@example.org")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_problem(client.get("/api/v1/me"), 401, "not_authenticated")


def test_cookie_authenticated_post_without_csrf_token_is_403(client, make_user):
    make_user("grace@example.org")
    sign_in(client, "grace@example.org")
    assert_problem(client.post("/api/v1/auth/tokens", json={"name": "ci"}), 403, "csrf_failed")
    assert_problem(client.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert client.get("/api/v1/me").status_code == 200  # still signed in: the logout was refused


def test_cookie_authenticated_post_with_a_wrong_csrf_token_is_403(client, make_user, app):
    make_user("grace@example.org")
    sign_in(client, "grace@example.org")
    response = client.post("/api/v1/auth/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "made-up"})
    assert_problem(response, 403, "csrf_failed")
    with app.app_context():
        assert runtime().session_factory().scalar(select(ApiToken)) is None


def test_token_is_shown_once_stored_hashed_and_works_as_bearer(client, make_user, app):
    make_user("grace@example.org")
    csrf = sign_in(client, "grace@example.org")
    created = client.post("/api/v1/auth/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) >= {"id", "name", "token"} and body["name"] == "laptop"
    with app.app_context():
        row = runtime().session_factory().get(ApiToken, body["id"])
        assert row.token_hash == hash_token(body["token"]) and body["token"] not in row.token_hash
    listed = client.get("/api/v1/auth/tokens").get_json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    bearer = app.test_client()
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).get_json()["email"] == \
        "grace@example.org"


def test_bearer_requests_need_no_csrf_token(client, make_user, token_for):
    headers = token_for(make_user())
    response = client.post("/api/v1/auth/tokens", json={"name": "script"}, headers=headers)
    assert response.status_code == 201


def test_a_revoked_token_is_401(client, make_user, token_for):
    headers = token_for(make_user())
    token_id = client.get("/api/v1/auth/tokens", headers=headers).get_json()["items"][0]["id"]
    assert client.delete(f"/api/v1/auth/tokens/{token_id}", headers=headers).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=headers), 401)


def test_made_up_and_malformed_bearer_tokens_are_401_on_every_endpoint(client):
    for header in ("Bearer ann_madeup", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000):
        assert_problem(client.get("/api/v1/me", headers={"Authorization": header}), 401)
        assert_problem(client.get("/api/v1/auth/csrf", headers={"Authorization": header}), 401)


def test_a_bad_bearer_token_wins_over_a_valid_cookie(client, make_user):
    make_user("grace@example.org")
    sign_in(client, "grace@example.org")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer ann_revoked"}), 401)


def test_revoking_another_users_token_is_404_and_keeps_it(client, make_user, token_for):
    mine, theirs = token_for(make_user()), token_for(make_user())
    their_id = client.get("/api/v1/auth/tokens", headers=theirs).get_json()["items"][0]["id"]
    assert_problem(client.delete(f"/api/v1/auth/tokens/{their_id}", headers=mine), 404)
    assert client.get("/api/v1/me", headers=theirs).status_code == 200


def test_me_without_credentials_is_401_problem(client):
    response = client.get("/api/v1/me")
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["Cache-Control"] == "no-store"


def test_tokens_list_pages(client, make_user, token_for):
    headers = token_for(make_user())
    for n in range(4):
        client.post("/api/v1/auth/tokens", json={"name": f"t{n}"}, headers=headers)
    page = client.get("/api/v1/auth/tokens?page=2&per_page=2", headers=headers).get_json()
    assert page["total"] == 5 and page["page"] == 2 and page["per_page"] == 2
    assert [t["name"] for t in page["items"]] == ["t1", "t2"]
    assert_problem(client.get("/api/v1/auth/tokens?per_page=501", headers=headers), 422)
    assert_problem(client.get("/api/v1/auth/tokens?page=zero", headers=headers), 422)


def test_parallel_wrong_guesses_cannot_exceed_the_account_limit(client, make_user, app):
    import threading

    app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    make_user("grace@example.org")
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def guess(n: int) -> None:
        barrier.wait()
        response = app.test_client().post("/api/v1/auth/login",
                                          json={"email": "grace@example.org", "password": f"wrong-guess-{n:04d}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(401) == 3 and statuses.count(429) == 9


def test_you_change_your_language_and_name_and_the_change_stays(client, make_user, token_for):
    headers = token_for(make_user("lang@example.org"))
    changed = client.patch("/api/v1/me", json={"locale": "zh-CN", "display_name": "  李明 "}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["locale"] == "zh-CN"
    again = client.get("/api/v1/me", headers=headers).get_json()
    assert (again["locale"], again["display_name"]) == ("zh-CN", "李明")


@pytest.mark.parametrize("body, field", [
    ({"locale": "fr"}, "locale"), ({"locale": None}, "locale"), ({"display_name": ""}, "display_name"),
    ({"display_name": "x" * 101}, "display_name"), ({"email": "new@example.org"}, "email"),
    ({"is_admin": True}, "is_admin")])
def test_bad_changes_to_yourself_are_422_and_change_nothing(client, make_user, token_for, body, field):
    headers = token_for(make_user("lang2@example.org"))
    problem = assert_problem(client.patch("/api/v1/me", json=body, headers=headers), 422)
    assert field in problem["errors"], problem
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert (me["locale"], me["email"], me["is_admin"]) == ("en", "lang2@example.org", False)


def test_changing_yourself_needs_you_signed_in(client):
    assert_problem(client.patch("/api/v1/me", json={"locale": "en"}), 401, "not_authenticated")
