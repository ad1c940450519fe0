"""Every mapped class, imported so Base.metadata is complete for Alembic and tests."""
from __future__ import annotations

from annotator.db import Base
from annotator.users.models import ApiToken, User
from tasks.models import (Annotation, Assignment, Flag, IdempotencyRecord, Import, Media, Project, ProjectMember,
                          ProjectSchemaVersion, Qualification, Task)

__all__ = ["Annotation", "ApiToken", "Assignment", "Base", "Flag", "IdempotencyRecord", "Import", "Media", "Project",
           "ProjectMember", "ProjectSchemaVersion", "Qualification", "Task", "User"]
