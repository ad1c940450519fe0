"""Every mapped class, imported so Base.metadata is complete for Alembic and tests."""
from __future__ import annotations

from annotator.audit import AuditEvent
from annotator.db import Base
from annotator.users.models import ApiToken, User
from incentives.models import Account, Entry, LedgerTransaction
from tasks.models import (Annotation, Assignment, Flag, IdempotencyRecord, Import, Media, Project, ProjectMember,
                          ProjectSchemaVersion, Qualification, QualityReport, Task, TaskConsensus)

__all__ = ["Account", "Annotation", "ApiToken", "AuditEvent", "Assignment", "Base", "Entry", "Flag", "IdempotencyRecord", "Import",
           "LedgerTransaction", "Media", "Project", "ProjectMember", "ProjectSchemaVersion", "Qualification",
           "QualityReport", "Task", "TaskConsensus", "User"]
