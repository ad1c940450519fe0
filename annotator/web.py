"""Request plumbing: the request's database session and `now`, body limits, CSRF, response headers, cookies.

The app's lifetime objects (engine, Redis, storage, settings) are in `annotator.runtime`."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any

import orjson
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask.json.provider import JSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from annotator.db import utcnow, write_intent
from annotator.errors import CsrfFailed
from annotator.runtime import Runtime, runtime, use_resolver

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


class OrjsonProvider(JSONProvider):
    """orjson for speed; aware datetimes come out as ISO 8601 with their offset."""

    @staticmethod
    def dumps_bytes(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dumps_bytes(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps_bytes(obj), mimetype="application/json")


def request_now() -> datetime:
    """This request's one `now`, taken when it is first asked for (after the rate limit, usually after SQLite's
    write lock): every row the request writes (the action, its audit event) carries the same time. Outside a
    request, the time now."""
    if not has_request_context():
        return utcnow()
    if "now" not in g:
        g.now = utcnow()
    return g.now


def db_session() -> Session:
    """This request's (or app context's) database session, closed at teardown.

    A request that may write (POST, PUT, PATCH, DELETE) starts its transaction with the intent to
    write: on SQLite that is BEGIN IMMEDIATE, because a transaction that has read cannot start
    writing once another writer has committed ("database is locked"). Reads stay concurrent.
    """
    if "db_session" not in g:
        session = runtime().session_factory()
        if has_request_context() and request.method in UNSAFE_METHODS:
            write_intent(session)
        g.db_session = session
    return g.db_session


class BoundedInt(IntegerConverter):
    """<int:...> that stops at the database's BIGINT, so an absurd id is a 404, not an overflow."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    use_resolver(_pushed_runtime)
    app.url_map.converters["int"] = BoundedInt  # before any route is added
    app.session_interface = SessionCookies()
    app.json = OrjsonProvider(app)
    if app.config["ANNOTATOR_TRUSTED_PROXIES"]:
        hops = int(app.config["ANNOTATOR_TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(_start_request)
    app.after_request(_headers)
    app.teardown_appcontext(_close_session)


def _pushed_runtime() -> Runtime | None:
    """The Runtime of the pushed app context (for jobs, the outbox, rate limits), None outside one."""
    return runtime(current_app) if has_app_context() else None


def _close_session(_exc: BaseException | None) -> None:
    db = g.pop("db_session", None)
    if db is not None:
        db.close()


def _start_request() -> None:
    g.pop("now", None)  # an app context reused across requests (tests) must not lend its `now` to the next
    _limit_body()


def _limit_body() -> None:
    # Multipart uploads and files of answers may be large; every other body is held to the JSON limit.
    if request.mimetype != "multipart/form-data" and not request.path.endswith("/answers/import"):
        request.max_content_length = current_app.config["ANNOTATOR_MAX_JSON_BYTES"]


def csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Cookie-authenticated unsafe requests must echo the session's CSRF token."""
    if request.method not in UNSAFE_METHODS or g.get("auth_via") == "token":
        return
    if not current_user.is_authenticated:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    expected = session.get("csrf_token", "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed(f"Send the token from GET /api/v1/auth/csrf in the {CSRF_HEADER} header.")


# Pages run only our own scripts (ES modules from /static, no inline script, no eval), styles from /static
# (the scripts set styles through the CSSOM, which CSP allows), images from here only (instructions cannot
# beacon annotators' addresses to other hosts), and no page may be framed.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"  # JSON, files: nothing in them runs


def _headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", PAGE_POLICY if response.mimetype == "text/html" else DATA_POLICY)
    if request.path.startswith("/api/"):
        # API answers carry personal data: never store them in shared caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (directly, or through a trusted proxy),
    not only when ANNOTATOR_SECURE_COOKIES says so: it then never travels back over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))
