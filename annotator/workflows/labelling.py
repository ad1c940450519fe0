"""Labelling: take the next task, keep it alive, answer it, skip it, flag it; each with its money step."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from annotator.errors import NotFound, PermissionDenied, TermsNotAccepted
from annotator.users.models import User
from incentives import contributions, ledger, payments
from tasks import annotations, assignment, projects, skills
from tasks.models import Assignment, Flag, Project


def take_next(db: Session, project_id: int, user: User, now: dt.datetime, *,
              max_open_leases: int) -> assignment.Lease | None:
    """The caller's next task with a lease (the same one while it lives), its most reserved from the budget;
    None when nothing is left for them."""
    project = projects.visible(db, project_id, user)
    if project.visibility != "public" and projects.role_of(db, project, user) is None:
        # An administrator sees every project, but labels (and spends the budget of) private ones only as a member.
        raise PermissionDenied("Only the project's members label a private project.")
    if project.terms and not contributions.accepted(db, project.id, {user.id}, project.terms["version"]):
        raise TermsNotAccepted(f"This project shares what its data earns under its own terms (version "
                               f"{project.terms['version']}): read and accept them first "
                               f"(POST /api/v1/projects/{project.id}/terms/accept).")
    # One annotator holds at most `max_open_leases` live leases across projects (one per project is the rule
    # within a project): a new project's work beyond that is refused until one is answered or lapses.
    payments.find_accounts(db, project)  # before the claim: the task row it locks is held for less
    tier = skills.tier_of(db, project, user.id)  # the expert tier a new lease is paid at (rewards.tiers)
    lease = assignment.next_task(db, project, user, now, max_open_leases=max_open_leases, tier=tier[0])
    if lease is not None and lease.new:
        _reserve(db, project, lease.assignment_id, now, tier)
    return lease


def _reserve(db: Session, project: Project, assignment_id: int, now: dt.datetime, tier: tuple[int, float]) -> None:
    """Reserve the new lease's most (at its tier), the budget moving now, as the last statement before commit. With
    the budget short, first take back what ended leases still hold (their releases move it too), before any hot
    row is locked: a release job committing at the same moment then never waits on a row this request holds."""
    payments.reserve(db, project, assignment_id, now, tier=tier)
    if payments.budget_short(db, project):
        payments.release_lapsed(db, now, project_id=project.id)
    ledger.apply_late(db)  # 409 budget_exhausted when the budget still cannot


def held(db: Session, assignment_id: int, user: User) -> tuple[Assignment, Project]:
    """The caller's assignment, locked, and its project: NotFound if unknown or in a project they cannot see."""
    found = db.get(Assignment, assignment_id, with_for_update=True)
    if found is None:
        raise NotFound("No such assignment.")
    project = projects.visible(db, found.project_id, user)
    return assignment.owned_assignment(db, found, user), project


def heartbeat(db: Session, assignment_id: int, user: User, now: dt.datetime) -> Assignment:
    """Keep the caller's lease alive."""
    lease, project = held(db, assignment_id, user)
    return assignment.heartbeat(db, lease, project, now)


def submit(db: Session, assignment_id: int, user: User, result: Any, lead_time_ms: int | None,
           now: dt.datetime) -> annotations.Saved:
    """Answer the leased task; a counted answer is credited (or the lease's reservation given back) and a task
    it completes is settled, in the same transaction."""
    found = annotations.held_for_submit(db, assignment_id)
    if found is None:
        raise NotFound("No such assignment.")
    lease, project = found
    projects.visible(db, project.id, user)  # NotFound for a project they cannot see (found in the session)
    saved = annotations.submit(db, project, lease, user, result, lead_time_ms, now)
    payments.pay_for_answer(db, project, user, saved.id, saved.assignment_id, saved.task_id, now,
                            counted=saved.counted, completes=saved.completed or saved.gold)
    return saved  # the accounts move at commit (ledger.apply_late in before_commit), after the reply is recorded


def skip(db: Session, assignment_id: int, user: User, reason: str | None, now: dt.datetime) -> Assignment:
    """Give the task back (never offered to the caller again) and its reservation to the budget."""
    lease, project = held(db, assignment_id, user)
    annotations.skip(db, lease, reason, now)
    payments.release(db, project, lease.id, now, "skipped")
    return lease


def flag(db: Session, assignment_id: int, user: User, reason: str, note: str, now: dt.datetime) -> Flag:
    """Report the task (withheld until resolved) and give its reservation back."""
    lease, project = held(db, assignment_id, user)
    report = annotations.flag(db, lease, user, reason, note, now)
    payments.release(db, project, lease.id, now, "flagged")
    return report
