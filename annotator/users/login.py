"""Flask-Login glue: the session cookie for browsers, `Authorization: Bearer` for scripts."""
from __future__ import annotations

from flask import Flask, g, request, session
from flask_login import LoginManager, current_user

from annotator.errors import NotAuthenticated
from annotator.users import service
from annotator.users.models import User
from annotator.web import db_session


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(_load_from_session)
    manager.request_loader(_load_from_header)
    manager.unauthorized_handler(_unauthorized)
    manager.init_app(app)


def _load_from_session(user_id: str) -> User | None:
    if "Authorization" in request.headers:
        return None  # an explicit credential wins over the cookie
    try:
        user = db_session().get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.is_active:
        return None
    if session.get("epoch") != user.session_epoch:
        return None  # signed out elsewhere, a new password, or deactivated since this session began
    g.auth_via = "session"
    return user


def _load_from_header(req) -> User | None:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = service.user_for_token(db_session(), token.strip())
    if user is not None:
        g.auth_via = "token"
    return user


def require_valid_credentials() -> None:
    """A request that presents a bearer token must present a live one, whatever the endpoint."""
    if "Authorization" in request.headers and not current_user.is_authenticated:
        raise NotAuthenticated("The API token is invalid, revoked or malformed.")


def _unauthorized():
    raise NotAuthenticated("Sign in, or send an API token as 'Authorization: Bearer <token>'.")
