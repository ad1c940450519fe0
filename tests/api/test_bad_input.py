"""Every bad input of the foundation issue: a clear problem+json, nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from annotator.users.models import User
from annotator.runtime import runtime
from tests.factories import PASSWORD, assert_problem

GOOD = {"email": "ada@example.org", "password": PASSWORD, "display_name": "Ada"}


def user_count(app) -> int:
    with app.app_context():
        return runtime().session_factory().scalar(select(func.count()).select_from(User))


def post_raw(client, data, content_type="application/json", path="/api/v1/auth/register"):
    return client.post(path, data=data, content_type=content_type)


@pytest.mark.parametrize("raw", [b"{", b"", b"{\"email\": }", b"\xff\xfe{}", b"NaN", b"{\"a\": 1}{"])
def test_malformed_json_is_400(client, app, raw):
    body = assert_problem(post_raw(client, raw), 400, "malformed_body")
    assert "JSON" in body["detail"]
    assert user_count(app) == 0


@pytest.mark.parametrize("raw,kind", [(b"[]", "array"), (b'[{"email": "a@b.c"}]', "array"), (b'"text"', "string"),
                                      (b"42", "number"), (b"null", "null"), (b"true", "boolean")])
def test_a_json_value_that_is_not_an_object_is_400(client, raw, kind):
    body = assert_problem(post_raw(client, raw), 400, "malformed_body")
    assert body["detail"] == f"The body must be a JSON object, not a JSON {kind}."


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""])
def test_wrong_content_type_is_415(client, app, content_type):
    import orjson

    assert_problem(post_raw(client, orjson.dumps(GOOD), content_type), 415, "unsupported_media_type")
    assert user_count(app) == 0


def test_json_with_a_charset_parameter_is_accepted(client):
    import orjson

    assert post_raw(client, orjson.dumps(GOOD), "application/json; charset=utf-8").status_code == 201


def test_a_body_over_the_json_limit_is_413(client, app):
    app.config["ANNOTATOR_MAX_JSON_BYTES"] = 1024
    huge = {**GOOD, "display_name": "x" * 2000}
    assert_problem(client.post("/api/v1/auth/register", json=huge), 413, "payload_too_large")
    assert user_count(app) == 0


def test_a_chunked_body_over_the_limit_without_content_length_is_413(client, app):
    import io

    app.config["ANNOTATOR_MAX_JSON_BYTES"] = 1024
    stream = io.BytesIO(b'{"email": "' + b"a" * 5000 + b'"}')
    response = client.post("/api/v1/auth/register", input_stream=stream, content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_base={"wsgi.input_terminated": True})  # as gunicorn sets for chunked bodies
    assert_problem(response, 413)


def test_the_default_json_limit_is_16_mib(app):
    assert app.config["ANNOTATOR_MAX_JSON_BYTES"] == 16 * 1024 * 1024


def test_unknown_fields_are_422_naming_each(client, app):
    body = assert_problem(client.post("/api/v1/auth/register", json={**GOOD, "is_admin": True, "role": "x"}), 422)
    assert set(body["errors"]) == {"is_admin", "role"}
    assert user_count(app) == 0


def test_missing_required_fields_are_named(client):
    body = assert_problem(client.post("/api/v1/auth/register", json={}), 422)
    assert set(body["errors"]) == {"email", "password", "display_name"}


@pytest.mark.parametrize("field,value", [
    ("display_name", "x" * 10_000),
    ("display_name", "Ada\x00Lovelace"),
    ("display_name", "evil\u202etxt.exe"),
    ("display_name", "isolate\u2066x\u2069"),
    ("display_name", "line\nbreak"),
    ("display_name", "   "),
    ("display_name", 42),
    ("password", "x" * 10_000),
    ("password", "nul\x00inside-password"),
    ("email", "a" * 10_000 + "@example.org"),
    ("email", "ada\x00@example.org"),
    ("locale", "en\u202e"),
])
def test_hostile_strings_are_422_naming_the_field(client, app, field, value):
    body = assert_problem(client.post("/api/v1/auth/register", json={**GOOD, field: value}), 422, "invalid_fields")
    assert field in body["errors"]
    assert user_count(app) == 0


def test_token_names_get_the_same_string_rules(client, make_user, token_for):
    headers = token_for(make_user())
    for name in ("x" * 10_000, "a\x00b", "rtl\u202e", ""):
        body = assert_problem(client.post("/api/v1/auth/tokens", json={"name": name}, headers=headers), 422)
        assert "name" in body["errors"]


def test_chinese_and_emoji_names_are_fine(client):
    response = client.post("/api/v1/auth/register", json={**GOOD, "display_name": "王小明 🐦"})
    assert response.status_code == 201 and response.get_json()["display_name"] == "王小明 🐦"


def test_login_with_a_10000_character_password_is_422_not_hashed(client):
    body = assert_problem(client.post("/api/v1/auth/login", json={"email": "a@b.org", "password": "x" * 10_000}), 422)
    assert "password" in body["errors"]


def test_a_body_less_post_means_an_empty_object(client, app):
    """`curl -X POST .../approve` sends nothing: the schema's defaults apply (here: the missing fields are named),
    where a body of another type is still 415."""
    body = assert_problem(client.post("/api/v1/auth/register"), 422, "invalid_fields")
    assert "email" in body["errors"]
    assert user_count(app) == 0
