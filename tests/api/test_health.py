from __future__ import annotations

from annotator.app import create_app
from tests.factories import FAST_ARGON2


def test_healthz_is_ok_when_database_and_queue_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "queue": "ok"}


def _app_with(tmp_path, **overrides):
    config = {"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "i"),
              "DATABASE_URL": f"sqlite:///{tmp_path / 'ok.db'}", **FAST_ARGON2, **overrides}
    return create_app(config)


def test_healthz_names_the_queue_when_redis_is_down(tmp_path, redis_url):
    app = _app_with(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "ok", "queue": "down"}


def test_healthz_names_the_database_when_it_is_down(tmp_path, redis_url):
    app = _app_with(tmp_path, REDIS_URL=redis_url,
                    DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "down", "queue": "ok"}


def test_the_favicon_is_served_not_a_404_on_every_page(client):
    moved = client.get("/favicon.ico")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert b'rel="icon"' in client.get("/login").data
