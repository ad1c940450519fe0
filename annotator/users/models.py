from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotator.db import Base, Timestamped, UTCDateTime

LOCALES = ("en", "zh-CN")


USER_KINDS = ("person", "external")


class User(Timestamped, Base):
    """A person with an account, or (kind "external") a contributor known only by the pseudonym a file of answers
    imported into one project gave them: no e-mail, no password, never active, so no session, token or wallet;
    their answers are analysed like anyone's and never paid."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("external_project_id", "display_name"),  # one pseudonym per project (NULLs never collide)
        CheckConstraint("kind = 'person' AND email IS NOT NULL AND password_hash IS NOT NULL AND external_project_id "
                        "IS NULL OR kind = 'external' AND email IS NULL AND password_hash IS NULL AND "
                        "external_project_id IS NOT NULL AND NOT is_active", name="kind_fits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (trimmed, lower-case) so uniqueness ignores case. None for an external contributor.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="person", server_default="person")
    # The project whose imported answers named them (no foreign key: users sit below projects in the layers).
    external_project_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    locale: Mapped[str] = mapped_column(String(10), nullable=False, default="en", server_default="en")
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    # Every session carries the epoch it began in; signing out, a new password or deactivation moves it on,
    # which ends every other session at once.
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login's user protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Timestamped, Base):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # The first characters, so a user can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")
