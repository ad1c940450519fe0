"""Review: the project's review policy, the queue it fills, review leases, verdicts (accept, reject, fix) and
appeals. Flushes, never commits; what a verdict or a decision does to the money is the caller's
(annotator.workflows.moderation asks incentives.payments in the same transaction).

- A verdict is given once per answer (409 already_decided after that); nobody reviews their own answer.
- A rejected answer leaves agreement, consensus and Dawid-Skene (`counted` false) and the task's count of
  answers, so a complete task it leaves under its overlap opens again for another answer; it stays in the
  ledger and the audit log.
- A fix is the reviewer's corrected result (validated as any answer is): it becomes the task's reviewed result,
  which consensus and exports show instead of the inferred one (`method` "reviewed"). The fixed answer itself
  keeps its place and its pay: it was the basis the reviewer corrected.
- An appeal against a rejection is the author's, within the policy's `appeal_days`, once; someone who is
  neither the rejection's reviewer nor the author (a reviewer or a manager of the project) decides it, once.
  An overturned rejection puts the answer back where it was (counted unless its author is disqualified).
- The queue: completed tasks are looked at once each (a review item per task, `passed` when the policy does not
  pick it), and answers the policy names one by one (a new annotator's first ones, failed gold answers) get an
  item each. `next` leases the oldest queued item to a reviewer who wrote none of its answers, with the
  labelling lease's rules: one live lease per item, heartbeat, an expired lease's item handed out again.
  An item is done when every answer it covers has a verdict.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from annotator.errors import AlreadyDecided, AppealWindowClosed, Conflict, LeaseExpired, NotFound, PermissionDenied
from annotator.users.models import User
from tasks import annotations, projects
from tasks.models import Annotation, Appeal, Project, Qualification, Review, ReviewItem, ReviewLease, Task
from tasks.quality.consensus import task_consensus
from tasks.quality.scores import answer_scores

VERDICTS = {"accept": "accepted", "reject": "rejected", "fix": "fixed"}
DECISIONS = {"uphold": "upheld", "overturn": "overturned"}
# A project without a review policy: no queue, appeals within a week.
POLICY_DEFAULTS = {"sample_rate": 0.0, "below_agreement": None, "gold_failures": False, "first_answers": 0,
                   "appeal_days": 7, "reviewer_pay": 0}
# Why an item is in the queue, in the order the reasons are checked (the first that holds is the item's).
REASONS = ("below_agreement", "sample", "gold_failure", "first_answers")
GOLD_PASS = 0.5  # a gold answer scoring under this (or under the project's min_gold_accuracy) failed
SWEEP_BATCH = 200  # completed tasks looked at per call to `next`


def policy_of(project: Project) -> dict[str, Any]:
    return {**POLICY_DEFAULTS, **(project.review or {})}


def queues(project: Project) -> bool:
    """Whether the project's policy sends anything to the queue."""
    policy = policy_of(project)
    return bool(policy["sample_rate"] or policy["below_agreement"] is not None or policy["gold_failures"]
                or policy["first_answers"])


def _drawn(project_id: int, task_id: int) -> float:
    """The task's fixed draw in [0, 1) for the random sample: the same on every look, independent of order."""
    digest = hashlib.sha256(f"review-sample:{project_id}:{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def task_agreement(session: Session, project: Project, task: Task) -> float | None:
    """How much the task's counted answers agree: the share of agreeing answer pairs for labels, else the mean
    score of its answers against their consensus (objects, spans); None with fewer than two answers."""
    found = task_consensus(session, project, task)
    if found.agreement is not None:
        return found.agreement
    scores = answer_scores(session, project, task)
    return sum(s.value for s in scores.values()) / len(scores) if len(scores) >= 2 else None


def sweep(session: Session, project: Project, now: dt.datetime) -> int:
    """Put what the policy picks in the queue: completed tasks not looked at yet (a batch), a new annotator's
    first answers, failed gold answers. Returns how many items were queued. Idempotent and safe beside another
    sweep (a unique key per item, duplicates skipped)."""
    policy = policy_of(project)
    rows: list[dict] = []
    if policy["sample_rate"] or policy["below_agreement"] is not None:
        looked = exists().where(ReviewItem.task_id == Task.id, ReviewItem.annotation_id.is_(None))
        for task in session.scalars(select(Task).where(
                Task.project_id == project.id, Task.status == "completed", Task.is_gold.is_(False), ~looked)
                .order_by(Task.id).limit(SWEEP_BATCH)):
            reason, agreement = None, None
            if policy["below_agreement"] is not None:
                agreement = task_agreement(session, project, task)
                if agreement is not None and agreement < policy["below_agreement"]:
                    reason = "below_agreement"
            if reason is None and _drawn(project.id, task.id) < policy["sample_rate"]:
                reason = "sample"
            rows.append({"key": f"task:{task.id}", "task_id": task.id, "annotation_id": None,
                         "reason": reason or "none", "agreement": agreement,
                         "status": "queued" if reason else "passed"})
    if policy["gold_failures"]:
        bar = max((project.qualification or {}).get("min_gold_accuracy") or 0.0, GOLD_PASS)
        for answer_id, task_id in session.execute(select(Annotation.id, Annotation.task_id).join(
                Task, Task.id == Annotation.task_id).where(
                Annotation.project_id == project.id, Task.is_gold.is_(True), Annotation.gold_score < bar,
                ~_answer_item_exists()).order_by(Annotation.id).limit(SWEEP_BATCH)):
            rows.append(_answer_row(answer_id, task_id, "gold_failure"))
    if policy["first_answers"]:
        ranked = (select(Annotation.id, Annotation.task_id, func.row_number().over(
            partition_by=Annotation.user_id, order_by=Annotation.id).label("nth"))
            .join(Task, Task.id == Annotation.task_id)
            .where(Annotation.project_id == project.id, Task.is_gold.is_(False),
                   Annotation.assignment_id.is_not(None)).subquery())
        for answer_id, task_id in session.execute(
                select(ranked.c.id, ranked.c.task_id).where(ranked.c.nth <= policy["first_answers"], ~exists().where(
                    ReviewItem.project_id == project.id, ReviewItem.annotation_id == ranked.c.id))
                .order_by(ranked.c.id).limit(SWEEP_BATCH)):
            rows.append(_answer_row(answer_id, task_id, "first_answers"))
    if not rows:
        return 0
    session.execute(insert_skipping_duplicates(session, ReviewItem.__table__),
                    [{**row, "project_id": project.id, "created_at": now, "done_at": None} for row in rows])
    return sum(row["status"] == "queued" for row in rows)


def _answer_item_exists():
    return exists().where(ReviewItem.annotation_id == Annotation.id)


def _answer_row(answer_id: int, task_id: int, reason: str) -> dict:
    return {"key": f"answer:{answer_id}", "task_id": task_id, "annotation_id": answer_id, "reason": reason,
            "agreement": None, "status": "queued"}


@dataclass(frozen=True)
class Leased:
    """A review lease, its item, the item's task and the answers it covers (with their verdicts)."""

    lease: ReviewLease
    item: ReviewItem
    task: Task
    answers: list[tuple[Annotation, Review | None]]
    new: bool = False  # leased by this call (not a live lease handed back)


def expire(session: Session, project_id: int, now: dt.datetime) -> list[int]:
    """Leases of the project past their time end (`expired`); returns their ids (their reviewer-pay reservations go
    back to the budget). Their items are not touched: a `leased` item without a live lease is claimable
    (_CLAIMABLE), so `next` writes an item row once in its transaction (on PostgreSQL a row written twice by one
    transaction has its foreign keys checked again, locking the task's row: a deadlock beside a verdict, which
    holds the task's row and waits for the item's)."""
    ended = session.scalars(select(ReviewLease.id).where(
        ReviewLease.project_id == project_id, ReviewLease.status == "leased", ReviewLease.expires_at <= now)
        .order_by(ReviewLease.id)).all()
    if ended:
        session.execute(update(ReviewLease).where(ReviewLease.id.in_(ended), ReviewLease.status == "leased")
                        .values(status="expired", finished_at=now).execution_options(synchronize_session=False))
    return list(ended)


def _claimable():
    """Queued, or leased with no live lease (expired, or lapsed and not yet marked so)."""
    live = exists().where(ReviewLease.item_id == ReviewItem.id, ReviewLease.status == "leased",
                          ReviewLease.expires_at > bindparam("now"))
    return or_(ReviewItem.status == "queued", and_(ReviewItem.status == "leased", ~live))


def next_item(session: Session, project: Project, reviewer: User, now: dt.datetime) -> Leased | None:
    """The reviewer's live lease in the project if they hold one, else the oldest queued item none of whose
    answers are theirs, leased to them; None when there is nothing to review."""
    held = session.scalar(select(ReviewLease).where(
        ReviewLease.project_id == project.id, ReviewLease.reviewer_id == reviewer.id,
        ReviewLease.status == "leased", ReviewLease.expires_at > now).order_by(ReviewLease.id).limit(1))
    if held is not None:
        return _leased(session, held)
    sweep(session, project, now)
    theirs = exists().where(Annotation.task_id == ReviewItem.task_id, Annotation.user_id == reviewer.id)
    # One candidate at a time: on PostgreSQL it is locked (SKIP LOCKED), and locking more than the one taken would
    # hide them from reviewers asking at the same moment (they would be told there is nothing).
    candidate = (select(ReviewItem.id).where(ReviewItem.project_id == project.id, _claimable(), ~theirs)
                 .order_by(ReviewItem.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    tried: set[int] = set()
    while (item_id := session.scalar(candidate.where(ReviewItem.id.not_in(tried or {0})), {"now": now})) is not None:
        tried.add(item_id)
        item = session.get(ReviewItem, item_id)
        if not _open_answers(session, item):  # judged meanwhile outside the queue
            _finish_item(session, item, now)
            continue
        # Compare and set: of two reviewers who read the same claimable item, one takes it.
        taken = session.execute(update(ReviewItem).where(ReviewItem.id == item_id, _claimable())
                                .values(status="leased").execution_options(synchronize_session=False),
                                {"now": now}).rowcount
        if taken != 1:
            continue
        lease = ReviewLease(project_id=project.id, item_id=item_id, reviewer_id=reviewer.id, status="leased",
                            expires_at=now + dt.timedelta(seconds=project.lease_seconds), created_at=now)
        session.add(lease)
        session.flush()
        session.refresh(item)
        return _leased(session, lease, new=True)
    return None


def queue_counts(session: Session, project_id: int, now: dt.datetime) -> tuple[dict[str, int], dict[str, int]]:
    """The project's review items by status (a leased one without a live lease counts as queued) and, for those
    picked, by reason."""
    queue = {status: 0 for status in ("queued", "leased", "done", "passed")}
    reasons: dict[str, int] = {}
    claimable = and_(ReviewItem.status == "leased", _claimable())
    for status, stale, reason, count in session.execute(
            select(ReviewItem.status, claimable, ReviewItem.reason, func.count())
            .where(ReviewItem.project_id == project_id)
            .group_by(ReviewItem.status, claimable, ReviewItem.reason), {"now": now}):
        shown = "queued" if stale else status
        queue[shown] = queue.get(shown, 0) + count
        if status != "passed":
            reasons[reason] = reasons.get(reason, 0) + count
    return queue, reasons


def _leased(session: Session, lease: ReviewLease, *, new: bool = False) -> Leased:
    item = session.get(ReviewItem, lease.item_id)
    task = session.get(Task, item.task_id)
    query = (select(Annotation, Review).outerjoin(Review, Review.annotation_id == Annotation.id)
             .where(Annotation.task_id == task.id).order_by(Annotation.id))
    if item.annotation_id is not None:
        query = query.where(Annotation.id == item.annotation_id)
    return Leased(lease, item, task, [(answer, verdict) for answer, verdict in session.execute(query)], new)


def _covered(item: ReviewItem):
    """The answers an item covers: its one answer, or every answer on its task."""
    if item.annotation_id is not None:
        return Annotation.id == item.annotation_id
    return Annotation.task_id == item.task_id


def _open_answers(session: Session, item: ReviewItem) -> int:
    """How many of the item's answers have no verdict yet."""
    return session.scalar(select(func.count()).select_from(Annotation).where(
        _covered(item), ~exists().where(Review.annotation_id == Annotation.id))) or 0


def _finish_item(session: Session, item: ReviewItem, now: dt.datetime, by_lease: int | None = None) -> None:
    """The item is done: the lease whose verdict finished it is `done` (its holder is paid); any other live lease
    on it is `released` (its reservation goes back to the budget)."""
    item.status, item.done_at = "done", now
    live = update(ReviewLease).where(ReviewLease.item_id == item.id, ReviewLease.status == "leased") \
        .execution_options(synchronize_session=False)
    if by_lease is not None:
        session.execute(live.where(ReviewLease.id == by_lease).values(status="done", finished_at=now))
    session.execute(live.values(status="released", finished_at=now))


def heartbeat(session: Session, lease_id: int, reviewer: User, now: dt.datetime, project: Project) -> ReviewLease:
    lease = _own_lease(session, lease_id, reviewer)
    if lease.status != "leased" or lease.expires_at <= now:
        raise LeaseExpired("The review lease has expired; ask for the next item.")
    lease.expires_at = now + dt.timedelta(seconds=project.lease_seconds)
    return lease


def release(session: Session, lease_id: int, reviewer: User, now: dt.datetime) -> ReviewLease:
    """Give the item back to the queue (the reviewer will not finish it)."""
    lease = _own_lease(session, lease_id, reviewer, lock=True)
    if lease.status != "leased":
        raise Conflict(f"This review lease is {lease.status}.")
    lease.status, lease.finished_at = "released", now
    session.execute(update(ReviewItem).where(ReviewItem.id == lease.item_id, ReviewItem.status == "leased")
                    .values(status="queued").execution_options(synchronize_session=False))
    return lease


def _own_lease(session: Session, lease_id: int, reviewer: User, *, lock: bool = False) -> ReviewLease:
    lease = session.get(ReviewLease, lease_id, with_for_update=lock, populate_existing=lock)
    if lease is None or lease.reviewer_id != reviewer.id:
        raise NotFound("No such review lease.")
    return lease


@dataclass(frozen=True)
class Verdict:
    """A verdict given, its answer and project, and the review lease it finished (for the reviewer's pay)."""

    review: Review
    answer: Annotation
    project: Project
    finished_lease: ReviewLease | None


def review(session: Session, annotation_id: int, reviewer: User, verdict: str, note: str, now: dt.datetime,
           result: Any = None) -> Verdict:
    """Record the verdict on an answer: 404 unless the reviewer is the project's staff (reviewer and up)."""
    answer, seen = projects.staff_row(session, Annotation, annotation_id, reviewer, "annotation", need="reviewer")
    # The task's row, then the answer's: the order a revision takes them, and a rejection's take-back needs the
    # task held (incentives.payments.claw_back) so that a settlement of the answer in flight finishes first.
    task = session.get(Task, answer.task_id, with_for_update=True, populate_existing=True)
    answer = session.get(Annotation, annotation_id, with_for_update=True, populate_existing=True)
    if answer.user_id == reviewer.id:
        raise PermissionDenied("You cannot review your own answer.")
    earlier = session.scalar(select(Review).where(Review.annotation_id == answer.id))
    if earlier is not None:
        raise AlreadyDecided(f"This answer was already {earlier.verdict}.")
    project = seen.project
    fixed = None
    if verdict == "fix":
        fixed = annotations.check_result(session, project, task, result)
    lease = session.scalar(select(ReviewLease).join(ReviewItem, ReviewItem.id == ReviewLease.item_id).where(
        ReviewLease.reviewer_id == reviewer.id, ReviewLease.status == "leased",
        ReviewItem.status == "leased", or_(ReviewItem.annotation_id == answer.id,
                                           and_(ReviewItem.annotation_id.is_(None), ReviewItem.task_id == task.id))))
    made = Review(project_id=answer.project_id, annotation_id=answer.id, reviewer_id=reviewer.id,
                  verdict=VERDICTS[verdict], note=note, result=fixed,
                  review_lease_id=lease.id if lease is not None else None, created_at=now)
    session.add(made)
    if verdict == "reject":
        _leave(project, task, answer)
    session.flush()
    finished = _items_done(session, answer, now, lease)
    return Verdict(made, answer, project, finished)


def _leave(project: Project, task: Task, answer: Annotation) -> None:
    """A rejected answer leaves agreement and the task's count: a complete task under its overlap opens again."""
    answer.counted = False
    if answer.assignment_id is None:
        return  # imported answers never filled the task's overlap
    task.submitted -= 1
    if task.status == "completed" and not task.is_gold and task.submitted < _room(project, task):
        task.status = "open"


def _room(project: Project, task: Task) -> int:
    return task.wanted if task.wanted is not None else project.overlap


def _items_done(session: Session, answer: Annotation, now: dt.datetime,
                lease: ReviewLease | None) -> ReviewLease | None:
    """Items covering the answer that now have a verdict on every answer are done; returns the reviewer's lease
    when it was one of them (its holder is paid for the review)."""
    items = session.scalars(select(ReviewItem).where(
        ReviewItem.status.in_(("queued", "leased")),
        or_(ReviewItem.annotation_id == answer.id,
            and_(ReviewItem.annotation_id.is_(None), ReviewItem.task_id == answer.task_id)))).all()
    finished = None
    for item in items:
        if _open_answers(session, item) == 0:
            mine = lease is not None and lease.item_id == item.id
            if mine:
                finished = lease
            _finish_item(session, item, now, lease.id if mine else None)
    if finished is not None:
        session.refresh(finished)
    return finished


def appeal(session: Session, review_id: int, user: User, reason: str, now: dt.datetime) -> Appeal:
    """The answer's author appeals a rejection: 404 to anyone else, 409 for anything but a standing rejection,
    after the project's appeal window, or a second time."""
    found = session.get(Review, review_id)
    answer = session.get(Annotation, found.annotation_id) if found is not None else None
    if answer is None or answer.user_id != user.id:
        raise NotFound("No such review.")
    if session.scalar(select(Appeal.id).where(Appeal.review_id == found.id)) is not None:
        raise AlreadyDecided("You have already appealed this review.")
    if found.verdict != "rejected":
        raise Conflict(f"Only a rejection can be appealed; this answer was {found.verdict}.")
    project = session.get(Project, found.project_id)
    closes = appeal_closes(project, found)
    if now > closes:
        raise AppealWindowClosed(f"The appeal window closed at {closes.isoformat()}.")
    made = Appeal(project_id=found.project_id, review_id=found.id, annotation_id=answer.id, user_id=user.id,
                  reason=reason, status="open", note="", restored=0, created_at=now)
    try:
        with session.begin_nested():  # the unique review_id decides between two appeals at once
            session.add(made)
    except IntegrityError:
        raise AlreadyDecided("You have already appealed this review.") from None
    return made


def appeal_closes(project: Project, rejection: Review) -> dt.datetime:
    return rejection.created_at + dt.timedelta(days=policy_of(project)["appeal_days"])


@dataclass(frozen=True)
class Decided:
    appeal: Appeal
    review: Review
    answer: Annotation
    task: Task
    project: Project


def decide(session: Session, appeal_id: int, user: User, decision: str, note: str, now: dt.datetime) -> Decided:
    """Uphold or overturn an appeal, once: 404 unless the user reviews in the project, 403 for the rejection's
    reviewer and the answer's author, 409 when it was decided already. An overturn puts the answer back: counted
    again (unless its author is disqualified) and in the task's count."""
    mine = session.get(Appeal, appeal_id)
    if mine is not None and mine.user_id == user.id:  # the author knows the appeal exists: 403, not 404
        raise PermissionDenied("You cannot decide your own appeal.")
    found, seen = projects.staff_row(session, Appeal, appeal_id, user, "appeal", need="reviewer")
    rejection = session.get(Review, found.review_id)
    if user.id == rejection.reviewer_id:
        raise PermissionDenied("You made this rejection: someone else decides its appeal.")
    # The task's row first (the order a verdict and a settlement take), then the appeal: compare and set, so
    # of two decisions at once one decides.
    answer = session.get(Annotation, found.annotation_id)
    task = session.get(Task, answer.task_id, with_for_update=True, populate_existing=True)
    status = DECISIONS[decision]
    taken = session.execute(update(Appeal).where(Appeal.id == found.id, Appeal.status == "open").values(
        status=status, decided_by=user.id, note=note, decided_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        session.refresh(found)
        raise AlreadyDecided(f"This appeal was already {found.status}.")
    session.refresh(found)
    if decision == "overturn":
        rejection.verdict = "overturned"
        answer = session.get(Annotation, answer.id, with_for_update=True, populate_existing=True)
        answer.counted = _counts(session, seen.project, answer)
        task.submitted += answer.assignment_id is not None
        if answer.assignment_id is not None and task.status == "open" and not task.is_gold and task.submitted >= _room(seen.project, task):
            task.status = "completed"
    session.flush()
    return Decided(found, rejection, answer, task, seen.project)


def _counts(session: Session, project: Project, answer: Annotation) -> bool:
    """Whether the answer would count were it given now: not while its author is disqualified (in the project or
    in a subtree its labels are in)."""
    standing = session.get(Qualification, (project.id, answer.user_id))
    if standing is not None and standing.disqualified:
        return False
    return not annotations.in_lost_subtree(session, project, answer.user_id, answer.result)


def appeals_query(project_id: int | None = None, user_id: int | None = None, status: str | None = None):
    query = select(Appeal).order_by(Appeal.id.desc())
    if project_id is not None:
        query = query.where(Appeal.project_id == project_id)
    if user_id is not None:
        query = query.where(Appeal.user_id == user_id)
    if status is not None:
        query = query.where(Appeal.status == status)
    return query


def answers_page(session: Session, task: Task, page: int, per_page: int) -> tuple[list[tuple[Annotation, str | None]], int]:
    """A page of the task's answers, oldest first, each with its verdict (None before review), and the total."""
    statement = (select(Annotation, Review.verdict).outerjoin(Review, Review.annotation_id == Annotation.id)
                 .where(Annotation.task_id == task.id).order_by(Annotation.id))
    total = session.scalar(select(func.count()).where(Annotation.task_id == task.id)) or 0
    return [tuple(row) for row in session.execute(statement.limit(per_page).offset((page - 1) * per_page))], total


@dataclass(frozen=True)
class ReviewerStats:
    user_id: int
    reviews: int
    accepted: int
    rejected: int
    fixed: int
    overturned: int
    upheld: int
    gold_checked: int
    gold_agreeing: int
    median_seconds: float | None


def reviewer_stats(session: Session, project: Project) -> list[ReviewerStats]:
    """Each reviewer measured: verdicts by kind; against gold (a verdict on a gold answer agrees when it accepts a
    passing one or rejects a failing one); against appeals (their rejections upheld or overturned); and the median
    time from taking a review lease to each verdict given under it."""
    bar = max((project.qualification or {}).get("min_gold_accuracy") or 0.0, GOLD_PASS)
    rows = session.execute(
        select(Review.reviewer_id, Review.verdict, Review.created_at, Annotation.gold_score, Task.is_gold,
               ReviewLease.created_at, Appeal.status)
        .join(Annotation, Annotation.id == Review.annotation_id).join(Task, Task.id == Annotation.task_id)
        .outerjoin(ReviewLease, ReviewLease.id == Review.review_lease_id)
        .outerjoin(Appeal, Appeal.review_id == Review.id)
        .where(Review.project_id == project.id).order_by(Review.reviewer_id, Review.id)).all()
    found: dict[int, dict] = {}
    for reviewer_id, verdict, at, gold_score, is_gold, leased_at, appeal_status in rows:
        one = found.setdefault(reviewer_id, {"counts": {}, "gold": [0, 0], "times": []})
        one["counts"][verdict] = one["counts"].get(verdict, 0) + 1
        if appeal_status == "upheld":
            one["counts"]["upheld"] = one["counts"].get("upheld", 0) + 1
        if is_gold and gold_score is not None and verdict in ("accepted", "rejected", "overturned"):
            one["gold"][0] += 1
            judged_failing = verdict == "rejected"
            one["gold"][1] += int(judged_failing == (gold_score < bar))
        if leased_at is not None:
            one["times"].append((at - leased_at).total_seconds())
    stats = []
    for reviewer_id, one in found.items():
        counts, times = one["counts"], sorted(one["times"])
        median = None
        if times:
            middle = len(times) // 2
            median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
        stats.append(ReviewerStats(reviewer_id, sum(c for k, c in counts.items() if k != "upheld"),
                                   counts.get("accepted", 0), counts.get("rejected", 0) + counts.get("overturned", 0),
                                   counts.get("fixed", 0), counts.get("overturned", 0), counts.get("upheld", 0),
                                   one["gold"][0], one["gold"][1], median))
    return stats
