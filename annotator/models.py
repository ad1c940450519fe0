"""Every mapped class, imported so Base.metadata is complete for Alembic and tests."""
from __future__ import annotations

from annotator.db import Base
from annotator.users.models import ApiToken, User

__all__ = ["ApiToken", "Base", "User"]
