"""Administering accounts: the directory of users (searched, filtered, with when each was last active), switching
an account off and on, granting and taking back the administrator's right.

Two rules guard every change: an administrator never changes their own standing (someone else must), and the
platform keeps at least one active administrator. The second is checked with the active administrators' rows
locked, so two administrators demoting each other at the same moment cannot leave nobody in charge."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from annotator.audit import AuditEvent
from annotator.errors import LastAdmin, NotFound, OwnAccount, PermissionDenied
from annotator.users import service
from annotator.users.models import User
from tasks.models import Assignment

STATUSES = ("active", "deactivated", "admins")


def directory(q: str = "", status: str | None = None) -> Select:
    """Users, newest first: `q` a case-insensitive piece of the e-mail or display name; `status` one of
    STATUSES (admins: active or not). Accounts only: external contributors (imported pseudonyms) are not listed."""
    statement = select(User).where(User.kind == "person").order_by(User.id.desc())
    if q:
        needle = q.lower()  # e-mails are stored lower-case
        statement = statement.where(or_(User.email.contains(needle, autoescape=True),
                                        func.lower(User.display_name).contains(needle, autoescape=True)))
    if status == "active":
        statement = statement.where(User.is_active.is_(True))
    elif status == "deactivated":
        statement = statement.where(User.is_active.is_(False))
    elif status == "admins":
        statement = statement.where(User.is_admin.is_(True))
    return statement


def last_active(db: Session, user_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """When each user last took a task or did something the audit log records; absent when neither is known.
    (Signing in is not recorded, so an account that only signed in has no time here.)"""
    ids = list(user_ids)
    if not ids:
        return {}
    # The latest assignment is the one with the highest id: found in the (user_id, project_id, id) index alone,
    # without reading every assignment row of a busy annotator.
    latest = select(func.max(Assignment.id)).where(Assignment.user_id.in_(ids)).group_by(Assignment.user_id)
    times = [*db.execute(select(Assignment.user_id, Assignment.created_at).where(Assignment.id.in_(latest))),
             *db.execute(select(AuditEvent.actor_id, func.max(AuditEvent.created_at))
                         .where(AuditEvent.actor_id.in_(ids)).group_by(AuditEvent.actor_id))]
    seen: dict[int, dt.datetime] = {}
    for user_id, moment in times:
        if moment is not None and (user_id not in seen or moment > seen[user_id]):
            seen[user_id] = moment
    return seen


def set_active(db: Session, actor: User, user_id: int, active: bool, now: dt.datetime) -> tuple[User, bool]:
    """Deactivate or reactivate someone else's account; (the user, whether anything changed). Deactivating ends
    their sessions and revokes their tokens (service.set_active); asking for what already is changes nothing."""
    user = _other(db, actor, user_id, "You cannot deactivate or reactivate your own account; another "
                                      "administrator can.")
    if user.is_active == active:
        return user, False
    if not active and user.is_admin:
        _keep_an_admin(db, actor, user)
    service.set_active(db, user, active, now)
    return user, True


def set_admin(db: Session, actor: User, user_id: int, grant: bool) -> tuple[User, bool]:
    """Grant or take back someone else's administrator right; (the user, whether anything changed)."""
    user = _user(db, user_id)
    if user.id == actor.id and grant:
        return user, False  # already one: nothing to do
    if user.id == actor.id:
        _keep_an_admin(db, actor, user)  # the only one hears that first
        raise OwnAccount("You cannot remove your own administrator right; another administrator can.")
    if user.is_admin == grant:
        return user, False
    if not grant:
        _keep_an_admin(db, actor, user)
    user.is_admin = grant
    return user, True


def _user(db: Session, user_id: int) -> User:
    """An account by id; an external contributor (an imported pseudonym, never active) is no account: NotFound."""
    user = db.get(User, user_id)
    if user is None or user.kind != "person":
        raise NotFound("No such user.")
    return user


def _other(db: Session, actor: User, user_id: int, refusal: str) -> User:
    user = _user(db, user_id)
    if user.id == actor.id:
        raise OwnAccount(refusal)
    return user


def _keep_an_admin(db: Session, actor: User, leaving: User) -> None:
    """`leaving` stops being an active administrator: refused unless another stays. The active administrators'
    rows are locked first (in id order), so a concurrent demotion waits and then sees this one."""
    admins = db.scalars(select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True))
                        .order_by(User.id).with_for_update()).all()
    if actor.id not in admins:
        raise PermissionDenied("You are no longer an administrator.")
    if not [admin for admin in admins if admin != leaving.id]:
        raise LastAdmin("You are the only administrator: make someone else an administrator first.")
