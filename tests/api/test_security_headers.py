"""Every page and every API answer carries the security headers; the session cookie is HttpOnly, SameSite=Lax,
and Secure when the request came over HTTPS."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD

PAGES = ["/login", "/signup", "/", "/wallet", "/projects/new", "/projects/1/label", "/projects/1/quality",
         "/projects/1/settings", "/projects/1/import"]


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_content_security_policy_and_the_other_headers(client, make_user, path):
    make_user("pages@example.org")
    client.post("/api/v1/auth/login", json={"email": "pages@example.org", "password": PASSWORD})
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    found = directives(policy)
    assert found["script-src"] == "script-src 'self'" and "unsafe" not in policy
    assert found["frame-ancestors"] == "frame-ancestors 'none'" and found["object-src"] == "object-src 'none'"
    assert found["base-uri"] == "base-uri 'none'"
    assert "http" not in found["img-src"]  # no images from other hosts: instructions cannot beacon
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_api_answers_are_never_stored_and_run_nothing(client, make_user, token_for):
    headers = token_for(make_user("api@example.org"))
    for response in (client.get("/api/v1/me", headers=headers), client.get("/api/v1/projects", headers=headers),
                     client.get("/api/v1/me")):  # an error too
        assert response.headers["Cache-Control"] == "no-store"
        assert directives(response.headers["Content-Security-Policy"])["default-src"] == "default-src 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_is_httponly_and_lax_and_secure_over_https(client, make_user):
    make_user("cookie@example.org")
    plain = client.post("/api/v1/auth/login", json={"email": "cookie@example.org", "password": PASSWORD})
    cookie = next(c for c in plain.headers.getlist("Set-Cookie") if c.startswith("annotator_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain HTTP, as in tests
    secure = client.post("/api/v1/auth/login", json={"email": "cookie@example.org", "password": PASSWORD},
                         base_url="https://annotator.example.org")
    cookie = next(c for c in secure.headers.getlist("Set-Cookie") if c.startswith("annotator_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "; Secure" in cookie
