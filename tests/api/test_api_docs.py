"""GET /api/docs: the OpenAPI document as a browsable page (the vendored Swagger UI), under the strict CSP."""
from __future__ import annotations

import re

from annotator.web import PAGE_POLICY
from tests.factories import assert_problem, repo_root, sign_in

VENDOR = "/static/vendor/swagger-ui-dist-5.36.0/"
SCRIPTS = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_the_docs_page_is_html_for_anyone_under_the_strict_policy(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy == PAGE_POLICY
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy and "unsafe-inline" not in policy
    html = response.get_data(as_text=True)
    assert f'<script src="{VENDOR}swagger-ui-bundle.js" defer></script>' in html
    assert f'href="{VENDOR}swagger-ui.css"' in html
    assert '<script type="module" src="/static/js/pages/api_docs.js"></script>' in html
    assert 'data-signed-in="false"' in html


def test_the_docs_page_runs_no_inline_script(client):
    scripts = SCRIPTS.findall(client.get("/api/docs").get_data(as_text=True))
    assert len(scripts) == 2
    assert all('src="/static/' in attributes and body.strip() == "" for attributes, body in scripts)


def test_what_the_docs_page_loads_is_served_from_here(client):
    for path in (f"{VENDOR}swagger-ui-bundle.js", f"{VENDOR}swagger-ui.css", "/static/js/pages/api_docs.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_the_vendored_swagger_ui_carries_its_licence_and_provenance():
    folder = repo_root() / "frontend/static/vendor/swagger-ui-dist-5.36.0"
    assert "Apache License" in (folder / "LICENSE").read_text()
    readme = (folder / "README.md").read_text()
    assert "swagger-ui-dist@5.36.0" in readme and "sha512-" in readme
    table = (repo_root() / "frontend/static/vendor/README.md").read_text()
    assert "`swagger-ui-dist-5.36.0/`" in table
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert "sourceMappingURL" not in (folder / name).read_text(), name  # the maps are not vendored


def test_the_docs_page_knows_who_is_signed_in_and_their_language(client, make_user):
    user = make_user("docs-reader@example.org")
    csrf = sign_in(client, user.email)
    assert client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    html = client.get("/api/docs").get_data(as_text=True)
    assert 'data-signed-in="true"' in html and '<html lang="zh-CN">' in html


def test_the_docs_page_refuses_a_dead_bearer_token_as_the_api_does(client):
    response = client.get("/api/docs", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(response, 401, "not_authenticated")


def test_the_openapi_document_lists_the_docs_page_and_points_to_it(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/docs"]["get"]
    assert operation["security"] == [] and "200" in operation["responses"]
    assert "/api/docs" in spec["info"]["description"] and "API.md" not in spec["info"]["description"]


def test_the_top_bar_links_to_the_docs_page_on_every_page(client):
    for path in ("/login", "/signup", "/api/docs"):
        assert '<a href="/api/docs" id="nav-api"' in client.get(path).get_data(as_text=True), path
