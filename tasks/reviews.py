"""A reviewer's verdict on an answer. Flushes, never commits.

A verdict is final: an answer is reviewed once (409 already_decided after that). The project's owner,
managers and reviewers review; nobody reviews their own answer. What a rejection does to the money is the
caller's (the API asks `incentives.payments.claw_back` in the same transaction). A rejected answer keeps its
place in the task's count and in agreement: agreement measures the annotators as they answered.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotator.errors import AlreadyDecided, PermissionDenied
from annotator.users.models import User
from tasks import projects
from tasks.models import Annotation, Project, Review, Task

VERDICTS = {"accept": "accepted", "reject": "rejected"}


def review(session: Session, annotation_id: int, reviewer: User, verdict: str, note: str,
           now: dt.datetime) -> tuple[Review, Annotation, Project]:
    """Record the verdict on an answer: 404 unless the reviewer is the project's staff (reviewer and up)."""
    answer, seen = projects.staff_row(session, Annotation, annotation_id, reviewer, "annotation", need="reviewer")
    # The task's row, then the answer's: the order a revision takes them, and a rejection's take-back needs the
    # task held (incentives.payments.claw_back) so that a settlement of the answer in flight finishes first.
    session.get(Task, answer.task_id, with_for_update=True)
    answer = session.get(Annotation, annotation_id, with_for_update=True, populate_existing=True)
    if answer.user_id == reviewer.id:
        raise PermissionDenied("You cannot review your own answer.")
    earlier = session.scalar(select(Review).where(Review.annotation_id == answer.id))
    if earlier is not None:
        raise AlreadyDecided(f"This answer was already {earlier.verdict}.")
    made = Review(project_id=answer.project_id, annotation_id=answer.id, reviewer_id=reviewer.id,
                  verdict=VERDICTS[verdict], note=note, created_at=now)
    session.add(made)
    session.flush()
    return made, answer, seen.project


def answers_page(session: Session, task: Task, page: int, per_page: int) -> tuple[list[tuple[Annotation, str | None]], int]:
    """A page of the task's answers, oldest first, each with its verdict (None before review), and the total."""
    statement = (select(Annotation, Review.verdict).outerjoin(Review, Review.annotation_id == Annotation.id)
                 .where(Annotation.task_id == task.id).order_by(Annotation.id))
    total = session.scalar(select(func.count()).where(Annotation.task_id == task.id)) or 0
    return [tuple(row) for row in session.execute(statement.limit(per_page).offset((page - 1) * per_page))], total
