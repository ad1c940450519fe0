"""Every mapped class, imported so Base.metadata is complete for Alembic and tests."""
from __future__ import annotations

from annotator.db import Base
from annotator.users.models import ApiToken, User
from tasks.models import Import, Media, Project, ProjectMember, ProjectSchemaVersion, Task

__all__ = ["ApiToken", "Base", "Import", "Media", "Project", "ProjectMember", "ProjectSchemaVersion", "Task",
           "User"]
