"""Per-request plumbing: database sessions, Redis, body limits, CSRF, response headers."""
from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
from flask import Flask, current_app, g, has_request_context, request, session
from flask.json.provider import JSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from annotator import queue
from annotator.db import make_engine, make_session_factory, write_intent
from annotator.errors import CsrfFailed
from annotator.users.passwords import Passwords
from tasks.storage import LocalStorage

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Runtime:
    """What the app holds for its lifetime, in app.extensions["annotator"]."""

    engine: Engine
    session_factory: sessionmaker
    passwords: Passwords
    redis_url: str | None
    instance_path: str
    storage: LocalStorage
    _redis: redis.Redis | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def redis(self) -> redis.Redis:
        """The Redis client, connecting (or starting the embedded server) on first use."""
        with self._lock:
            if self._redis is None:
                url = self.redis_url or queue.embedded_redis_url(self.instance_path)
                self._redis = queue.connect(url)
            return self._redis


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


def runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["annotator"]


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
    app.url_map.converters["int"] = BoundedInt  # before any route is added
    app.session_interface = SessionCookies()
    engine = make_engine(app.config["DATABASE_URL"])
    factory = make_session_factory(engine)
    queue.install_after_commit(factory)
    passwords = Passwords(app.config["ANNOTATOR_ARGON2_TIME_COST"], app.config["ANNOTATOR_ARGON2_MEMORY_KIB"],
                          app.config["ANNOTATOR_ARGON2_PARALLELISM"])
    app.extensions["annotator"] = Runtime(engine, factory, passwords, app.config.get("REDIS_URL"),
                                          app.instance_path, LocalStorage(app.config["ANNOTATOR_STORAGE_PATH"]))
    app.json = OrjsonProvider(app)
    if app.config["ANNOTATOR_TRUSTED_PROXIES"]:
        hops = int(app.config["ANNOTATOR_TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(_limit_body)
    app.after_request(_headers)
    app.teardown_appcontext(_close_session)


def _close_session(_exc: BaseException | None) -> None:
    db = g.pop("db_session", None)
    if db is not None:
        db.close()


def _limit_body() -> None:
    # Multipart uploads may be large; every other body is held to the JSON limit.
    if request.mimetype != "multipart/form-data":
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
