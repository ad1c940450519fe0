"""NUL and other control characters in any string a request carries are a 422 naming the field, never a 500 (on
PostgreSQL a NUL cannot even be sent to the database)."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from marshmallow import ValidationError, fields

import annotator.api
from annotator.api.fields import In
from tests.factories import PASSWORD, assert_problem, create_project


def _request_schemas() -> list[type[In]]:
    for module in pkgutil.iter_modules(annotator.api.__path__):
        importlib.import_module(f"annotator.api.{module.name}")
    found, todo = [], [In]
    while todo:
        schema = todo.pop()
        found.append(schema)
        todo += schema.__subclasses__()
    return found


STRING_FIELDS = [(schema, name) for schema in _request_schemas() for name, field in schema._declared_fields.items()
                 if isinstance(field, fields.String)]


def test_the_walk_finds_the_request_bodies_it_is_meant_to_check():
    names = {(schema.__name__, name) for schema, name in STRING_FIELDS}
    assert {("LoginIn", "email"), ("LoginIn", "password"), ("MemberIn", "email"), ("RegisterIn", "email"),
            ("RegisterIn", "display_name")} <= names


@pytest.mark.parametrize("schema, name", STRING_FIELDS, ids=[f"{s.__name__}.{n}" for s, n in STRING_FIELDS])
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\u202e"])
def test_every_string_field_of_every_request_refuses_control_characters(schema, name, character):
    with pytest.raises(ValidationError) as caught:
        schema().load({name: f"a{character}b@example.org"}, partial=True)
    assert name in caught.value.messages


def test_a_nul_in_the_email_of_a_sign_in_is_a_422_naming_the_field(client, make_user):
    make_user("ada@example.org")
    body = assert_problem(client.post("/api/v1/auth/login", json={"email": "ada\x00@example.org",
                                                                  "password": PASSWORD}), 422, "invalid_fields")
    assert "email" in body["errors"]
    body = assert_problem(client.post("/api/v1/auth/login", json={"email": "ada@example.org",
                                                                  "password": "pass\x00word"}), 422, "invalid_fields")
    assert "password" in body["errors"]


def test_a_nul_in_a_new_members_email_is_a_422_naming_the_field(client, owner):
    project = create_project(client, owner)
    body = assert_problem(client.post(f"/api/v1/projects/{project['id']}/members",
                                      json={"email": "b\x00@example.org", "role": "annotator"}, headers=owner), 422)
    assert "email" in body["errors"]
