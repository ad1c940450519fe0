"""Money following the work: a lease reserves what its answer could earn, a submit credits the base as
pending, the task's completion settles it (base available, bonus by the project's reward mechanism, the rest back to the budget),
and a lease that ends without an answer gives its reservation back. Flushes, never commits.

Called by the API's labelling views in the same transaction as the work (tasks never imports incentives).
Projects that pay nothing (`rewards` all zero) post nothing. Every posting is keyed by the lease or the
annotation, so a retry or a second worker never pays twice. What is left reserved for a lease is the sum of
the reserve entries of its transactions (`assignment_id`).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from annotator.db import SETTLEMENT_LOCK, advisory_lock
from annotator.errors import BudgetExhausted, InsufficientFunds
from annotator.users.models import User
from incentives import ledger, pricing, rules
from incentives.ledger import Leg
from incentives.models import Account, Entry, LedgerTransaction
from tasks.models import ENDED_UNANSWERED, Annotation, Assignment, Project, ReviewLease, Task
from tasks.quality.scores import Scored, answer_scores

# Answers given here, with a lease: answers imported from elsewhere (no lease) are evidence about the truth, never
# paid, and never the peers a paid answer is priced against.
PAID = Annotation.assignment_id.is_not(None)


def _accounts(session: Session, project: Project) -> tuple[Account, Account]:
    """The project's budget and reserve, not locked: every posting of this module moves them late
    (ledger.post_late), their balances changing as the last statements before commit, so no money operation of a
    project holds its hot rows while it does anything else (issue 21; incentives/README.md)."""
    budget, held = ledger.locked_accounts(session, [("project_budget", project.id, None),
                                                    ("project_reserve", project.id, None)], locked=False)
    return budget, held


def find_accounts(session: Session, project: Project) -> None:
    """Find a paying project's budget and reserve ahead (they are remembered for the transaction): `next` does it
    before its claim locks a task row, so the lease's reservation needs no lookup while the row is held."""
    if rules.Rates.of(project.rewards).most:
        _accounts(session, project)


def _wallets(session: Session, user_ids: set[int], project: Project | None = None) -> None:
    """The pending and available wallets of these contributors (with `project`, its budget and reserve too), found
    (or made) in one statement; not locked: this module's postings move them late (ledger.post_late)."""
    wanted = [(kind, None, user_id) for user_id in sorted(user_ids) for kind in ledger.EARNED_INTO]
    if project is not None:
        wanted += [("project_budget", project.id, None), ("project_reserve", project.id, None)]
    ledger.locked_accounts(session, wanted, locked=False)


def pay_for_answer(session: Session, project: Project, user: User, annotation_id: int, assignment_id: int,
                   task_id: int, now: dt.datetime, *, counted: bool, completes: bool) -> None:
    """Everything a submit does to the money: credit the answer (or give back its reservation when it does not
    count) and settle a task it completed. Every account it moves (the project's budget and reserve, the
    wallets) moves at ledger.apply_late, before commit; the submit's lock on the task row keeps two settlements
    of one task, or a settlement and a take-back of one of its answers, one after the other."""
    if rules.Rates.of(project.rewards).most == 0:
        return
    task = session.get(Task, task_id) if completes else None
    # The answers' scores only read the task's answers (its row is locked by the submit).
    scores = answer_scores(session, project, task, native_only=True) if completes else None
    _wallets(session, {user.id}, project)  # and the project's accounts, in one statement; settle finds the others'
    if counted:
        credit(session, project, user, annotation_id, assignment_id, task_id, now)
    else:
        release(session, project, assignment_id, now, "answered while disqualified")
    if completes:
        settle(session, project, task, now, scores)


def reserve(session: Session, project: Project, assignment_id: int, now: dt.datetime, *, late: bool = False,
            tier: tuple[int, float] = (0, 1.0)) -> None:
    """Reserve the most the lease's answer could earn at the lease's expert `tier` (its number and multiplier; 0:
    none), which the reservation keeps for the credit and the settlement. The budget moves at ledger.apply_late,
    which refuses (409 budget_exhausted, the whole transaction rolled back) when the budget cannot."""
    rates = rules.Rates.of(project.rewards).at_tier(*tier)
    if rates.most == 0:
        return
    budget, held = _accounts(session, project)
    key = f"reserve:{assignment_id}" + (":late" if late else "")
    ledger.post_late(session, key, "reserve", [Leg(budget, -rates.most), Leg(held, rates.most)], now,
                     memo=f"reserved for lease {assignment_id}{rates.tier_words}", project_id=project.id,
                     assignment_id=assignment_id,
                     details={"rule_version": rules.RULES_VERSION, "most": rates.most,
                              "per_annotation": rates.per_annotation, "agreement_bonus": rates.agreement_bonus,
                              **rates.tier_details()})


def _rates_in(details: dict | None) -> rules.Rates | None:
    """The rates a reservation was made at (with its tier), from its details; None for one made before
    reservations kept them."""
    if not details or "per_annotation" not in details:
        return None
    return rules.Rates(int(details["per_annotation"]), int(details["agreement_bonus"]), int(details.get("tier", 0)),
                       float(details.get("multiplier", 1.0)))


# Far from empty: a budget that held this many leases' worth when this request found it cannot have been emptied by
# the leases other requests committed in the few milliseconds since.
NEAR_EMPTY_LEASES = 64


def budget_short(session: Session, project: Project) -> bool:
    """Whether the budget, as last committed, cannot take what this transaction's late postings take from it
    (read without a lock: ledger.apply_late's guard decides). The balance the account lookup read serves while the
    budget is far from empty; near empty it is read again, so a lease that ended leases could pay for is not
    refused on an older figure. A project that pays nothing has no budget to read."""
    rates = rules.Rates.of(project.rewards)
    if rates.most == 0:
        return False
    budget, _ = _accounts(session, project)
    taking = ledger.late_delta(session, budget)
    if ledger.committed_balance(session, budget) + taking >= NEAR_EMPTY_LEASES * rates.most:
        return False
    return ledger.balance_now(session, budget) + taking < 0


def left(session: Session, project: Project, assignment_id: int) -> int:
    """What is still reserved for the lease (a project that never reserved has no reserve account: 0)."""
    return _left_for(session, project, [assignment_id]).get(assignment_id, 0)


def release(session: Session, project: Project, assignment_id: int, now: dt.datetime, why: str) -> None:
    """Give back to the budget whatever is still reserved for a lease that ended without an answer to settle."""
    amount = left(session, project, assignment_id)
    if amount <= 0:
        return
    budget, held = _accounts(session, project)
    ledger.post_late(session, f"release:{assignment_id}", "release", [Leg(held, -amount), Leg(budget, amount)], now,
                memo=f"released: lease {assignment_id} {why}", project_id=project.id, assignment_id=assignment_id)


def credit(session: Session, project: Project, user: User, annotation_id: int, assignment_id: int, task_id: int,
           now: dt.datetime) -> None:
    """The base for a counted answer, from the lease's reservation to the annotator's pending wallet, at the rate
    the lease reserved: an owner changing the rates while the lease lives changes neither what the work earns nor
    whether it can be paid."""
    reserved_at, still_held = _reservation(session, project, assignment_id)
    rates = reserved_at or rules.Rates.of(project.rewards)
    if rates.most == 0:
        return
    if still_held < rates.per_annotation:  # a late answer whose reservation was given back
        reserve(session, project, assignment_id, now, late=True, tier=(rates.tier, rates.multiplier))
    _, held = _accounts(session, project)
    pending = ledger.account(session, "wallet_pending", user_id=user.id)
    earned = rules.base(rates, task_id)
    if earned.amount:
        ledger.post_late(session, f"credit:{annotation_id}", "credit", [Leg(held, -earned.amount),
                                                                        Leg(pending, earned.amount)], now,
                         memo=earned.explanation, details={**earned.details(), **rates.tier_details()},
                         project_id=project.id, task_id=task_id,
                         annotation_id=annotation_id, assignment_id=assignment_id)


def _reservation(session: Session, project: Project, assignment_id: int) -> tuple[rules.Rates | None, int]:
    """In one query: the rates the lease's reservation was made at (None for none, or one made before
    reservations kept them) and what is still reserved for it (as left())."""
    _, held = _accounts(session, project)
    row = session.execute(_RESERVATION, {"key": f"reserve:{assignment_id}", "reserve_id": held.id,
                                         "assignment_id": assignment_id}).first()
    if row is None:
        return None, 0
    details, still_held = row
    return _rates_in(details), int(still_held)


# What the lease's transactions put on the project's reserve: its few transactions (by lease), then each one's
# entries (by transaction), summing those on the reserve. Entries are only ever found by their transaction here,
# whatever the statistics say: given the reserve's id as a condition, a planner that believes the reserve has few
# entries scans all of them, the whole project's (5 ms at 4,500 entries on a project a few minutes old, growing).
_lease_transaction = aliased(LedgerTransaction)
_ON_RESERVE = (select(func.sum(case((Entry.account_id == bindparam("reserve_id"), Entry.amount), else_=0)))
               .where(Entry.transaction_id == _lease_transaction.id).scalar_subquery())
_RESERVATION = select(LedgerTransaction.details, (
    select(func.coalesce(func.sum(_ON_RESERVE), 0))
    .where(_lease_transaction.assignment_id == bindparam("assignment_id")).scalar_subquery())).where(
    LedgerTransaction.idempotency_key == bindparam("key"))


def settle(session: Session, project: Project, task: Task, now: dt.datetime,
           scores: dict[int, Scored] | None = None, *, bonus: bool = True) -> int:
    """Settle every credited, unsettled answer of a completed task; returns how many.

    Each answer's base (what its credit actually put in pending, whatever the rates are now) moves from pending
    to available, its bonus (the agreement bonus times its score against the task's consensus, partial along
    the taxonomy, its objects' breakdown in the details; never more than its lease still holds) from the reservation to available, and the rest of
    the reservation back to the budget. `bonus=False` (a task withdrawn by its owner) pays the bases only.
    `scores` (answer_scores, computed before taking the locks by a caller that has them) saves the work while
    the project's money is locked.
    """
    rates = rules.Rates.of(project.rewards)
    if rates.most == 0:
        return 0
    if scores is None and bonus:
        scores = answer_scores(session, project, task, native_only=True)
    budget, held = _accounts(session, project)
    # What the task's answers are and what the ledger holds for them: the submit's lock on the task row keeps these
    # still, so they are read before the settlement lock below.
    rows = session.execute(select(Annotation.id, Annotation.user_id, Annotation.assignment_id, Annotation.result).where(
        Annotation.task_id == task.id, Annotation.counted.is_(True), PAID).order_by(Annotation.id)).all()
    _wallets(session, {row.user_id for row in rows})
    keys, credited, reserved, reserved_at = _task_ledger(session, project, rows)
    if pricing.reads_history(project):  # a settlement without bonus too: it is history for those after it
        # Priced on the workers' earlier settlements: the project's settlements take turns from here to commit,
        # so each sees every one before it and the ledger's order is the order they saw (the replay's order).
        advisory_lock(session, SETTLEMENT_LOCK, project.id)
    # Every counted answer is priced (they are each other's peers), whether or not it is settled below.
    prices = pricing.price_task(session, project, task, [(row.id, row.user_id, row.result) for row in rows],
                                scores or {}) if bonus else {}
    postings, settled = [], 0
    for annotation_id, user_id, assignment_id, _ in rows:
        if f"credit:{annotation_id}" not in keys or f"settle:{annotation_id}" in keys \
                or (f"clawback:{annotation_id}" in keys and f"restore:{annotation_id}" not in keys):
            continue  # never credited, settled already, or taken back by a reviewer's rejection (not overturned)
        pending = ledger.account(session, "wallet_pending", user_id=user_id)
        available = ledger.account(session, "wallet_available", user_id=user_id)
        base = int(credited.get(annotation_id, 0))
        held_for_it = max(reserved.get(assignment_id, 0), 0)
        if bonus:
            scored = (scores or {}).get(annotation_id) or Scored(0.0)
            price = prices[annotation_id]
            # At the rates (and expert tier) the answer's lease reserved.
            paid_at = reserved_at.get(assignment_id, rates)
            extra = rules.bonus(paid_at, price.fraction, task.id, gold=task.is_gold, objects=scored.objects,
                                mechanism=price.reason)
            extra_amount, explanation = min(extra.amount, held_for_it), extra.explanation
            details = {**extra.details(), "base": base, "bonus": extra_amount, "peer_score": price.peer_score,
                       "agreement_score": scored.value,  # what the replay prices other mechanisms on
                       **paid_at.tier_details()}
        else:
            extra_amount, explanation = 0, f"no bonus: task {task.id} was withdrawn"
            details = {"rule_version": rules.RULES_VERSION, "base": base, "bonus": 0, "explanation": explanation}
        rest = held_for_it - extra_amount
        legs = [Leg(pending, -base), Leg(available, base)] if base else []
        if extra_amount:
            legs += [Leg(held, -extra_amount), Leg(available, extra_amount)]
        if rest > 0:
            legs += [Leg(held, -rest), Leg(budget, rest)]
        if legs:
            postings.append(ledger.Posting(f"settle:{annotation_id}", "bonus", legs, f"{base} base + {explanation}",
                                           details, project.id, task.id, annotation_id, assignment_id))
        settled += 1
    ledger.post_late_many(session, postings, now)  # in the answers' order, as they were posted one by one
    return settled


def _task_ledger(session: Session, project: Project,
                 rows: list) -> tuple[set[str], dict[int, int], dict[int, int], dict[int, rules.Rates]]:
    """What the ledger holds for a task's answers, in one query over their postings' legs: the keys posted among
    their credit, settle and clawback keys; what each credit put in pending; what is still reserved for each
    answer's lease (as _left_for); and the rates (and tier) each lease's reservation was made at."""
    wanted = {f"{what}:{row.id}" for row in rows for what in ("credit", "settle", "clawback", "restore")}
    leases = [row.assignment_id for row in rows]
    # The postings first (by key or by lease: a unique and an indexed lookup on one table), then each one's legs by
    # the entries' transaction index (OFFSET 0 keeps that lookup per posting): a plan that cannot grow with the
    # ledger, whatever the planner last learnt of its size (stale statistics made a join that scanned every entry).
    postings = (select(LedgerTransaction.id).where(or_(LedgerTransaction.idempotency_key.in_(sorted(wanted)),
                                                       LedgerTransaction.assignment_id.in_(leases)))
                .cte("postings").prefix_with("MATERIALIZED", dialect="postgresql"))
    its_legs = select(Account.kind, Account.project_id, Entry.amount).join(Account, Account.id == Entry.account_id)
    if session.get_bind().dialect.name == "postgresql":
        its_legs = its_legs.where(Entry.transaction_id == LedgerTransaction.id).offset(0).lateral("legs")
        on = true()
    else:  # SQLite has no LATERAL (and looks entries up by the transaction's index as it is)
        its_legs = its_legs.add_columns(Entry.transaction_id).subquery("legs")
        on = its_legs.c.transaction_id == LedgerTransaction.id
    legs = session.execute(
        select(LedgerTransaction.idempotency_key, LedgerTransaction.annotation_id, LedgerTransaction.assignment_id,
               its_legs.c.kind, its_legs.c.project_id, its_legs.c.amount, LedgerTransaction.details)
        .select_from(postings).join(LedgerTransaction, LedgerTransaction.id == postings.c.id)
        .join(its_legs, on)).all()
    keys, credited, reserved, reserved_at = set(), {}, {}, {}
    for key, annotation_id, assignment_id, kind, account_project, amount, details in legs:
        if key in wanted:
            keys.add(key)
        if key == f"reserve:{assignment_id}" and assignment_id in leases and _rates_in(details) is not None:
            reserved_at[assignment_id] = _rates_in(details)
        if kind == "wallet_pending" and key == f"credit:{annotation_id}":
            credited[annotation_id] = int(amount)
        if kind == "project_reserve" and account_project == project.id and assignment_id in leases:
            reserved[assignment_id] = reserved.get(assignment_id, 0) + int(amount)
    return keys, credited, reserved, reserved_at


def _left_for(session: Session, project: Project, assignment_ids: list[int]) -> dict[int, int]:
    """What is still reserved for each of these leases, in one query."""
    if not assignment_ids:
        return {}
    return {assignment_id: int(amount) for assignment_id, amount in session.execute(ledger.entry_sums(
        LedgerTransaction.assignment_id, kinds=("project_reserve",),
        where=(Account.project_id == project.id, LedgerTransaction.assignment_id.in_(assignment_ids))))}


def _posted(session: Session, key: str) -> int | None:
    return session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == key))


def claw_back(session: Session, project: Project, annotation: Annotation, now: dt.datetime) -> int:
    """Take back what a rejected answer earned, settled or still pending; returns the amount taken.

    One transaction (kind `clawback`, naming the credit and settlement it takes back in its details) moves
    what the answer's postings put in the contributor's wallets, and whatever its lease still has reserved,
    back to the project's budget. Nothing else is undone: what the settlement returned to the budget stays
    there. 409 insufficient_funds, writing nothing, when the contributor has already been paid it out.
    """
    # The task's row first, as a submit takes it before crediting and settling: a settlement of this answer in
    # flight has committed (and is seen below) or waits until this take-back has.
    session.get(Task, annotation.task_id, with_for_update=True)
    credited = _posted(session, f"credit:{annotation.id}")
    key = f"clawback:{annotation.id}"
    if credited is None or _posted(session, key) is not None:
        return 0
    settled = _posted(session, f"settle:{annotation.id}")
    # What it moves, locked in one statement in id order (as late postings take them at commit) and checked now.
    budget, held, *_ = ledger.locked_accounts(session, [("project_budget", project.id, None),
                                                        ("project_reserve", project.id, None),
                                                        *[(kind, None, annotation.user_id) for kind in ledger.EARNED_INTO]])
    earned = session.execute(ledger.entry_sums(Entry.account_id, kinds=ledger.EARNED_INTO, where=(
        LedgerTransaction.id.in_([t for t in (credited, settled) if t is not None]),))).all()
    legs = [Leg(session.get(Account, account_id), -int(amount)) for account_id, amount in earned if amount]
    taken = -sum(leg.amount for leg in legs)
    still_held = left(session, project, annotation.assignment_id)
    if still_held > 0:
        legs.append(Leg(held, -still_held))
    if taken + still_held <= 0:
        return 0
    legs.append(Leg(budget, taken + still_held))
    try:
        ledger.post(session, key, "clawback", legs, now,
                    memo=f"rejected by a reviewer: {taken} taken back for answer {annotation.id} on task "
                         f"{annotation.task_id}",
                    details={"takes_back": [t for t in (credited, settled) if t is not None], "taken": taken,
                             "released": still_held},
                    project_id=project.id, task_id=annotation.task_id, annotation_id=annotation.id,
                    assignment_id=annotation.assignment_id)
    except InsufficientFunds:
        raise InsufficientFunds("The contributor has already been paid what this answer earned, so it cannot be "
                                "taken back from their wallet.") from None
    return taken


def restore(session: Session, project: Project, annotation: Annotation, appeal_id: int, now: dt.datetime) -> int:
    """An overturned rejection gives back exactly what its take-back took: one transaction reversing the
    `clawback` (ledger.reverse: never an edit), the contributor's wallets and the lease's reservation as they
    were, from the project's budget. Returns the amount restored to the wallets (0 when nothing was taken).
    A task complete by now settles the answer if it was not settled before the rejection (the caller does).
    409 insufficient_funds, writing nothing, when the budget cannot give it back."""
    taken = _posted(session, f"clawback:{annotation.id}")
    if taken is None:
        return 0
    key = f"restore:{annotation.id}"
    try:
        reversal = ledger.reverse(session, taken, key, now,
                                  memo=f"appeal {appeal_id} overturned the rejection of answer {annotation.id}: "
                                       "its pay restored")
    except InsufficientFunds:
        raise InsufficientFunds("The project's budget cannot give back what the rejection took; deposit and decide "
                                "again.") from None
    return int(session.scalar(ledger.entry_sums(kinds=ledger.EARNED_INTO,
                                                where=(LedgerTransaction.id == reversal.id,))) or 0)


def review_pay(project: Project) -> int:
    return int((project.review or {}).get("reviewer_pay") or 0)


def reserve_review(session: Session, project: Project, lease_id: int, now: dt.datetime) -> None:
    """Reserve the project's reviewer pay for a review lease, as a labelling lease reserves (409
    budget_exhausted, nothing written, when the budget cannot)."""
    amount = review_pay(project)
    if not amount:
        return
    budget, held = ledger.locked_accounts(session, [("project_budget", project.id, None),
                                                    ("project_reserve", project.id, None)])
    try:
        ledger.post(session, f"review-reserve:{lease_id}", "reserve", [Leg(budget, -amount), Leg(held, amount)], now,
                    memo=f"reserved for review lease {lease_id}", details={"reviewer_pay": amount},
                    project_id=project.id, review_lease_id=lease_id)
    except InsufficientFunds:
        raise BudgetExhausted("The project's budget cannot pay for another review.") from None


def _review_left(session: Session, project: Project, lease_ids: list[int]) -> dict[int, int]:
    if not lease_ids:
        return {}
    return {lease_id: int(amount) for lease_id, amount in session.execute(ledger.entry_sums(
        LedgerTransaction.review_lease_id, kinds=("project_reserve",),
        where=(Account.project_id == project.id, LedgerTransaction.review_lease_id.in_(lease_ids))))}


def pay_review(session: Session, project: Project, lease_id: int, reviewer_id: int, now: dt.datetime) -> int:
    """Pay the reviewer what their finished review lease reserved, to their available wallet; returns it."""
    amount = _review_left(session, project, [lease_id]).get(lease_id, 0)
    if amount <= 0:
        return 0
    budget, held, available = ledger.locked_accounts(session, [("project_budget", project.id, None),
                                                               ("project_reserve", project.id, None),
                                                               ("wallet_available", None, reviewer_id)])
    ledger.post(session, f"review-pay:{lease_id}", "review_pay", [Leg(held, -amount), Leg(available, amount)], now,
                memo=f"paid for review lease {lease_id}", details={"reviewer_pay": amount}, project_id=project.id,
                review_lease_id=lease_id)
    return amount


def release_reviews(session: Session, project: Project, now: dt.datetime) -> int:
    """Give back to the budget what review leases that ended unpaid (expired, released, or finished by another
    reviewer's verdicts) still have reserved; returns how many."""
    ended = session.scalars(select(ReviewLease.id).where(
        ReviewLease.project_id == project.id, ReviewLease.status.in_(("expired", "released")),
        ReviewLease.id.in_(select(LedgerTransaction.review_lease_id).where(
            LedgerTransaction.project_id == project.id, LedgerTransaction.kind == "reserve",
            LedgerTransaction.review_lease_id.is_not(None))))).all()
    released = 0
    for lease_id, amount in sorted(_review_left(session, project, list(ended)).items()):
        if amount <= 0:
            continue
        budget, held = ledger.locked_accounts(session, [("project_budget", project.id, None),
                                                        ("project_reserve", project.id, None)])
        ledger.post(session, f"review-release:{lease_id}", "release", [Leg(held, -amount), Leg(budget, amount)], now,
                    memo=f"released: review lease {lease_id} ended unpaid", project_id=project.id,
                    review_lease_id=lease_id)
        released += 1
    return released


def release_lapsed(session: Session, now: dt.datetime, project_id: int | None = None) -> int:
    """Give back the reservations of leases that ended unanswered (skipped, flagged, expired, released)."""
    # Labelling leases' releases only: a review lease's release has no assignment, and one NULL in a NOT IN list
    # makes it never true (nothing would be released again, anywhere).
    given_back = select(LedgerTransaction.assignment_id).where(LedgerTransaction.kind == "release",
                                                               LedgerTransaction.assignment_id.is_not(None))
    query = (select(LedgerTransaction.assignment_id).where(LedgerTransaction.kind == "reserve")
             .join(Assignment, Assignment.id == LedgerTransaction.assignment_id)
             .where(Assignment.status.in_(ENDED_UNANSWERED), LedgerTransaction.assignment_id.not_in(given_back))
             .distinct().order_by(LedgerTransaction.assignment_id))  # two releasers post their keys in one order
    if project_id is not None:
        query = query.where(LedgerTransaction.project_id == project_id)
    released = 0
    for assignment_id in session.scalars(query).all():
        # The lease's row, as a late submit on it holds it: what it still has reserved is read after that submit
        # has credited from it (or before it starts), never beside it.
        found = session.get(Assignment, assignment_id, with_for_update=True, populate_existing=True)
        if found.status not in ENDED_UNANSWERED:
            continue
        project = session.get(Project, found.project_id)
        if left(session, project, assignment_id) > 0:
            release(session, project, assignment_id, now, found.status)
            released += 1
    return released


def verify(session: Session) -> list[str]:
    """The money-follows-work invariants, in words: no answer credited or settled twice (the keys hold it;
    this checks), a rejected answer's pay all taken back, and what each project's reserve holds is exactly what its leases still have reserved, with
    nothing held for a lease that ended unanswered once the minutely release has run."""
    breaches = []
    for kind in ("credit", "bonus"):
        for annotation_id, times in session.execute(
                select(LedgerTransaction.annotation_id, func.count()).where(LedgerTransaction.kind == kind)
                .group_by(LedgerTransaction.annotation_id).having(func.count() > 1)):
            breaches.append(f"annotation {annotation_id} has {times} {kind} postings")
    reversed_ = select(LedgerTransaction.reverses_id).where(LedgerTransaction.reverses_id.is_not(None))
    taken_back = select(LedgerTransaction.annotation_id).where(LedgerTransaction.kind == "clawback",
                                                               LedgerTransaction.id.not_in(reversed_))
    for annotation_id, net in session.execute(ledger.entry_sums(
            LedgerTransaction.annotation_id, kinds=ledger.EARNED_INTO,
            where=(LedgerTransaction.annotation_id.in_(taken_back),)).having(func.sum(Entry.amount) != 0)):
        breaches.append(f"annotation {annotation_id} was rejected but its contributor keeps {net} of its pay")
    # An overturned rejection gives back exactly what it took: the take-back and its reversal cancel per account.
    clawbacks = aliased(LedgerTransaction)
    for annotation_id, account_id, net in session.execute(
            select(LedgerTransaction.annotation_id, Entry.account_id, func.sum(Entry.amount))
            .join(Entry, Entry.transaction_id == LedgerTransaction.id)
            .join(clawbacks, or_(clawbacks.id == LedgerTransaction.id, clawbacks.id == LedgerTransaction.reverses_id))
            .where(clawbacks.kind == "clawback", clawbacks.id.in_(reversed_))
            .group_by(LedgerTransaction.annotation_id, Entry.account_id).having(func.sum(Entry.amount) != 0)):
        breaches.append(f"annotation {annotation_id}'s overturned rejection left {net} moved on account {account_id}")
    for lease_id, times in session.execute(
            select(LedgerTransaction.review_lease_id, func.count()).where(LedgerTransaction.kind == "review_pay")
            .group_by(LedgerTransaction.review_lease_id).having(func.count() > 1)):
        breaches.append(f"review lease {lease_id} was paid {times} times")
    held = ledger.entry_sums(LedgerTransaction.assignment_id, kinds=("project_reserve",),
                             where=(LedgerTransaction.assignment_id.is_not(None),)).subquery()
    for assignment_id, amount in session.execute(select(held.c.assignment_id, held.c.total).where(held.c.total < 0)):
        breaches.append(f"lease {assignment_id} took {-amount} more from the reserve than was reserved for it")
    held = ledger.entry_sums(LedgerTransaction.review_lease_id, kinds=("project_reserve",),
                             where=(LedgerTransaction.review_lease_id.is_not(None),)).subquery()
    for lease_id, amount in session.execute(select(held.c.review_lease_id, held.c.total).where(held.c.total < 0)):
        breaches.append(f"review lease {lease_id} took {-amount} more from the reserve than was reserved for it")
    for project_id, balance in session.execute(select(Account.project_id, Account.balance).where(
            Account.kind == "project_reserve")):
        reserved = session.scalar(ledger.entry_sums(kinds=("project_reserve",), where=(
            Account.project_id == project_id, or_(LedgerTransaction.assignment_id.is_not(None),
                                                  LedgerTransaction.review_lease_id.is_not(None)))))
        if int(reserved or 0) != balance:
            breaches.append(f"project {project_id}'s reserve holds {balance} but its leases have {reserved} reserved")
    return breaches
