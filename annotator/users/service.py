"""Account operations. Flushes, never commits: the caller owns the transaction."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.db import utcnow
from annotator.errors import EmailTaken, InvalidCredentials, InvalidInput, NotFound
from annotator.users.models import ApiToken, User
from annotator.users.passwords import Passwords

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "ann_"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, email: str, field: str = "password") -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == normalise_email(email):
        problems.append("The password must not be your email address.")
    if problems:
        raise InvalidInput({field: problems})


def register(
    session: Session, passwords: Passwords, *, email: str, password: str, display_name: str,
    locale: str = "en", is_admin: bool = False,
) -> User:
    email = normalise_email(email)
    check_password_rules(password, email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(f"An account with {email} already exists.")
    user = User(email=email, display_name=display_name.strip(), locale=locale,
                password_hash=passwords.hash(password), is_admin=is_admin)
    try:
        with session.begin_nested():  # a concurrent sign-up may win the unique index
            session.add(user)
    except IntegrityError:
        raise EmailTaken(f"An account with {email} already exists.") from None
    return user


def authenticate(session: Session, passwords: Passwords, *, email: str, password: str) -> User:
    """The user with these credentials; one error for an unknown email and a wrong password."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise InvalidCredentials("Wrong email or password.")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return user


def change_password(session: Session, passwords: Passwords, user: User, current: str, new: str) -> None:
    """A new password, given the current one; every session the user has moves to a new epoch (they end)."""
    if not passwords.verify(user.password_hash, current):
        raise InvalidInput({"current_password": ["This is not your current password."]})
    check_password_rules(new, user.email, field="new_password")
    user.password_hash = passwords.hash(new)
    user.session_epoch += 1


def set_active(session: Session, user: User, active: bool, now: dt.datetime) -> None:
    """Deactivated: no sign-in, no session, no token works from now on (they are checked on every request), and
    the tokens are revoked, so reactivating the account does not bring them back: its owner makes new ones."""
    user.is_active = active
    user.session_epoch += 1
    if not active:
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough to keep them secret at rest.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token row and the plaintext token, which is not stored and cannot be shown again."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip(), token_hash=hash_token(plaintext),
                   prefix=plaintext[:10])
    session.add(row)
    session.flush()
    return row, plaintext


def revoke_token(session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("No such token.")
    row.revoked_at = utcnow()


def tokens_query(user_id: int) -> Select:
    """The user's API tokens, oldest first."""
    return select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)


def user_for_token(session: Session, plaintext: str) -> User | None:
    """The active owner of a live token, or None for a revoked, unknown or malformed one."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    return session.scalar(_USER_FOR_TOKEN, {"token_hash": hash_token(plaintext)})


# One prebuilt query for the token and its user: this runs on every scripted request.
_USER_FOR_TOKEN = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.is_active.is_(True))


def users_by_id(session: Session, ids: set[int | None]) -> dict[int, User]:
    """The users with these ids (None ignored), in one statement."""
    wanted = [user_id for user_id in ids if user_id is not None]
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}
