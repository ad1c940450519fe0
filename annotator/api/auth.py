"""Accounts: register, sign in and out, CSRF token, personal API tokens, /me."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from marshmallow import Schema, fields, validate

from annotator import audit, ratelimit
from annotator.api.core import Page, no_content, paginate, route
from annotator.api.fields import EmailAddress, In, PageQuery, Password, SafeString
from annotator.api.schemas import UserOut
from annotator.errors import SignupClosed
from annotator.ratelimit import FailureLimiter
from annotator.users import service
from annotator.users.models import LOCALES, User
from annotator.web import csrf_token, db_session, request_now
from annotator.runtime import runtime
from tasks import projects

bp = Blueprint("auth_api", __name__)
TAG = "accounts"


class RegisterIn(In):
    email = EmailAddress(required=True)
    password = Password(required=True)
    display_name = SafeString(required=True, max_length=100)
    locale = fields.String(load_default="en", validate=validate.OneOf(LOCALES))


class LoginIn(In):
    email = SafeString(required=True, max_length=254)  # looked up, not checked: a wrong one is a failed sign-in
    password = Password(required=True)


class CsrfOut(Schema):
    csrf_token = fields.String()


class TokenIn(In):
    name = SafeString(required=True, max_length=100)


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "Shown once; only its hash is stored."})


@route(bp, "/auth/register", methods=["POST"], auth=False, body=RegisterIn, response=UserOut, status=201,
       summary="Create an account; invitations waiting for the address become memberships", tag=TAG)
def register(payload: dict):
    if not current_app.config["ANNOTATOR_OPEN_SIGNUP"]:
        raise SignupClosed("Sign-up is closed; ask an administrator for an account.")
    ratelimit.limit("signups", request.remote_addr or "unknown")
    db = db_session()
    user = service.register(db, runtime().passwords, **payload)
    _accept_invitations(db, user)
    db.commit()
    return user


def _accept_invitations(db, user: User) -> None:
    """Invitations waiting for the user's address become memberships (audit-logged)."""
    for invitation in projects.accept_invitations(db, user, request_now()):
        audit.record(db, user.id, "invitation_accepted", request_now(), project_id=invitation.project_id,
                     target="invitation", target_id=invitation.id, role=invitation.role)


def _login_limiters() -> tuple[FailureLimiter, FailureLimiter]:
    cfg, redis = current_app.config, runtime().redis
    window = cfg["ANNOTATOR_LOGIN_WINDOW_SECONDS"]
    return (FailureLimiter(redis, "login-account", cfg["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"], window),
            FailureLimiter(redis, "login-address", cfg["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ADDRESS"], window))


@route(bp, "/auth/login", methods=["POST"], auth=False, body=LoginIn, response=UserOut,
       summary="Sign in; sets the session cookie (invitations waiting for your address become memberships)", tag=TAG)
def login(payload: dict):
    per_account, per_address = _login_limiters()
    account, address = service.normalise_email(payload["email"]), request.remote_addr or "unknown"
    per_account.attempt(account)
    per_address.attempt(address)
    db = db_session()
    user = service.authenticate(db, runtime().passwords, **payload)  # InvalidCredentials: the attempts stay counted
    _accept_invitations(db, user)  # one made while the account was being created is not lost
    db.commit()  # a rehashed password, accepted invitations
    per_account.succeeded(account, forget_all=True)
    per_address.succeeded(address)
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    login_user(user)
    session["epoch"] = user.session_epoch
    return user


@route(bp, "/auth/logout", methods=["POST"], status=204, summary="Sign out", tag=TAG)
def logout():
    """Signing out ends every session of this user, on every device (API tokens are revoked one by one)."""
    db = db_session()
    user = db.get(User, current_user.id)
    user.session_epoch += 1
    db.commit()
    logout_user()
    session.clear()
    return no_content()


class PasswordIn(In):
    current_password = Password(required=True)
    new_password = Password(required=True)


@route(bp, "/auth/password", methods=["POST"], body=PasswordIn, status=204,
       summary="Change your password: every other session ends (this one goes on)", tag=TAG)
def change_password(payload: dict):
    limiter = FailureLimiter(runtime().redis, "password", current_app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                             current_app.config["ANNOTATOR_LOGIN_WINDOW_SECONDS"])
    limiter.attempt(str(current_user.id))
    db = db_session()
    user = db.get(User, current_user.id)
    service.change_password(db, runtime().passwords, user, payload["current_password"], payload["new_password"])
    audit.record(db, user.id, "password_changed", request_now(), target="user", target_id=user.id)
    db.commit()
    limiter.succeeded(str(current_user.id))
    if g.get("auth_via") == "session":
        session["epoch"] = user.session_epoch  # this session goes on
    return no_content()


@route(bp, "/auth/csrf", methods=["GET"], auth=False, response=CsrfOut,
       summary="The CSRF token for cookie-authenticated unsafe requests (X-CSRF-Token)", tag=TAG)
def csrf():
    return {"csrf_token": csrf_token()}


@route(bp, "/auth/tokens", methods=["POST"], body=TokenIn, response=NewTokenOut, status=201,
       summary="Create a personal API token (shown once)", tag=TAG)
def create_token(payload: dict):
    ratelimit.limit("tokens", str(current_user.id))
    db = db_session()
    row, plaintext = service.create_token(db, current_user, payload["name"])
    db.commit()
    return {**{name: getattr(row, name) for name in TokenOut().fields}, "token": plaintext}


@route(bp, "/auth/tokens", methods=["GET"], query=PageQuery, response=TokenOut, paged=True,
       summary="Your API tokens (never the tokens themselves)", tag=TAG)
def list_tokens(args: dict) -> Page:
    return paginate(db_session(), service.tokens_query(current_user.id), args["page"], args["per_page"])


@route(bp, "/auth/tokens/<int:token_id>", methods=["DELETE"], status=204, summary="Revoke a token", tag=TAG)
def revoke_token(token_id: int):
    db = db_session()
    service.revoke_token(db, current_user, token_id)
    db.commit()
    return no_content()


@route(bp, "/me", methods=["GET"], response=UserOut, summary="The signed-in user", tag=TAG)
def me():
    return current_user


class MeIn(In):
    display_name = SafeString(max_length=100, validate=validate.Length(min=1))
    locale = fields.String(validate=validate.OneOf(LOCALES))


@route(bp, "/me", methods=["PATCH"], body=MeIn, response=UserOut,
       summary="Change your display name or language (the pages follow `locale`)", tag=TAG)
def update_me(payload: dict):
    db = db_session()
    user = db.get(User, current_user.id)
    if "display_name" in payload:
        user.display_name = payload["display_name"].strip()
    if "locale" in payload:
        user.locale = payload["locale"]
    db.commit()
    return user
