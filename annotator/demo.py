"""The demo seed: an owner and three annotators (projects join as their issue lands)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.users import service
from annotator.users.models import User
from annotator.users.passwords import Passwords

PASSWORD = "demo-password"


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    locale: str


OWNER = DemoUser("owner@demo.local", "Demo Owner", "en")
ANNOTATORS = (DemoUser("alice@demo.local", "Alice (annotator)", "en"),
              DemoUser("bo@demo.local", "王博 (annotator)", "zh-CN"),
              DemoUser("carmen@demo.local", "Carmen (annotator)", "en"))
EVERYONE = (OWNER, *ANNOTATORS)


def seed(session: Session, passwords: Passwords) -> list[User]:
    """Create whichever demo users are missing; running it twice changes nothing."""
    users = []
    for demo in EVERYONE:
        user = session.scalar(select(User).where(User.email == demo.email))
        if user is None:
            user = service.register(session, passwords, email=demo.email, password=PASSWORD,
                                    display_name=demo.display_name, locale=demo.locale)
        users.append(user)
    return users


def is_seeded(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.email == OWNER.email)) is not None


def logins() -> str:
    return "\n".join(f"  {d.email:<22} {PASSWORD}   {d.display_name}" for d in EVERYONE)
