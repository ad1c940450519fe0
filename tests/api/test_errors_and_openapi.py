"""One error shape everywhere under /api/, and an OpenAPI document that describes every endpoint."""
from __future__ import annotations

from openapi_spec_validator import validate

from tests.factories import assert_problem


def test_unknown_api_path_is_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(client.get("/api/v2/me"), 404)


def test_wrong_method_is_405_problem_with_allow(client):
    response = client.put("/api/v1/me")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_non_integer_path_id_is_404_problem(client, make_user, token_for):
    assert_problem(client.delete("/api/v1/auth/tokens/abc", headers=token_for(make_user())), 404)


def test_an_unexpected_error_is_a_problem_500_not_html(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/v1/_boom")
    def boom():
        raise RuntimeError("kaboom")

    response = client.get("/api/v1/_boom")
    body = assert_problem(response, 500, "internal_error")
    assert "kaboom" not in body["detail"]


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_openapi_is_a_valid_3_1_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_openapi_describes_every_api_route_with_its_schemas(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in spec["paths"], f"{rule.rule} missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            undocumented = "tags" not in operation and rule.endpoint != "api.openapi.openapi"
            assert not undocumented, f"{method} {rule.rule} is not declared with annotator.api.core.route"


def test_openapi_carries_the_request_schema_and_its_limits(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"email", "password", "display_name"}
    assert schema["additionalProperties"] is False
    tokens = spec["paths"]["/api/v1/auth/tokens"]["get"]
    assert {"page", "per_page"} <= {p["name"] for p in tokens["parameters"]}
    assert "201" in spec["paths"]["/api/v1/auth/tokens"]["post"]["responses"]
