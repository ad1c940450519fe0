"""The task browser: a project's tasks filtered by status, gold, who answered, flags, and how sure the consensus
is, for the people who run and review the project."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from annotator.errors import InvalidInput
from tasks.models import Annotation, Flag, Project, Task, TaskConsensus
from tasks.quality.consensus import project_consensus, project_signature

FLAGGED = ("open", "any", "none")


@dataclass(frozen=True)
class Filters:
    """What the browser asks for; None is no filter. Ranges are closed intervals on [0, 1]."""

    status: str | None = None
    gold: bool | None = None
    annotator_id: int | None = None
    flagged: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    min_agreement: float | None = None
    max_agreement: float | None = None

    @classmethod
    def of(cls, args: dict[str, Any]) -> Filters:
        found = cls(**{name: args.get(name) for name in cls.__dataclass_fields__})
        for low, high in (("min_confidence", "max_confidence"), ("min_agreement", "max_agreement")):
            if getattr(found, low) is not None and getattr(found, high) is not None \
                    and getattr(found, low) > getattr(found, high):
                raise InvalidInput({low: [f"Must not be above {high}."]})
        return found

    @property
    def on_consensus(self) -> bool:
        return any(value is not None for value in (self.min_confidence, self.max_confidence, self.min_agreement,
                                                   self.max_agreement))


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def tasks_query(session: Session, project: Project, filters: Filters, on_request_limit: int) -> Select:
    """The project's tasks matching `filters`, in id order.

    The consensus ranges use what the dashboard shows: small projects (up to `on_request_limit` answers) infer
    every task's consensus now; larger ones filter on the quality job's stored consensus (as of its last run).
    A task without a consensus (no answer yet) matches no range.
    """
    statement = select(Task).where(Task.project_id == project.id).order_by(Task.id)
    if filters.status is not None:
        statement = statement.where(Task.status == filters.status)
    if filters.gold is not None:
        statement = statement.where(Task.is_gold.is_(filters.gold))
    if filters.annotator_id is not None:
        statement = statement.where(Task.id.in_(select(Annotation.task_id).where(
            Annotation.user_id == filters.annotator_id)))
    if filters.flagged is not None:
        flags = select(Flag.task_id).where(Flag.project_id == project.id)
        if filters.flagged == "open":
            statement = statement.where(Task.id.in_(flags.where(Flag.status == "open")))
        elif filters.flagged == "any":
            statement = statement.where(Task.id.in_(flags))
        else:
            statement = statement.where(Task.id.not_in(flags))
    if not filters.on_consensus:
        return statement
    if project_signature(session, project.id).annotations <= on_request_limit:
        matching = [task_id for task_id, found in project_consensus(session, project).items()
                    if _within(found.confidence, filters.min_confidence, filters.max_confidence)
                    and _within(found.agreement, filters.min_agreement, filters.max_agreement)]
        return statement.where(Task.id.in_(matching))
    conditions = []
    for column, low, high in ((TaskConsensus.confidence, filters.min_confidence, filters.max_confidence),
                              (TaskConsensus.agreement, filters.min_agreement, filters.max_agreement)):
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    return statement.where(Task.id.in_(select(TaskConsensus.task_id).where(
        TaskConsensus.project_id == project.id, and_(*conditions))))


def answer_counts(session: Session, task_ids: list[int]) -> dict[int, int]:
    """Every answer of each task, given here or imported; a task without any is absent."""
    if not task_ids:
        return {}
    return dict(session.execute(select(Annotation.task_id, func.count()).where(Annotation.task_id.in_(task_ids))
                                .group_by(Annotation.task_id)).all())
