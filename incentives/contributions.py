"""Data contribution (issue 24): dataset releases, what each contributor's work was worth to one, and revenue split
through the ledger by those shares. Flushes, never commits. The method is in incentives/README.md (Data
contribution); the arithmetic in incentives/shares.py.

A contributor's weight in a release is the sum, over the project's non-gold, unretired tasks, of
- each of their counted answers that agrees with the task's result: its score against the task's consensus
  (tasks.quality.scores: 1 for the same label, partial along the taxonomy, localisation x label for objects)
  times the task's information weight (shares.information_weight: -log2 of the share of the task's answers,
  plus one, that agreed), an answer agreeing when it scores at least AGREES;
- on a task a reviewer fixed, each answer equal to the fix (weight as above) and the fix itself
  (shares.fix_weight) for its reviewer.
Rejected answers and answers given while disqualified are not counted, so they weigh nothing; answers imported
from other tools have no account to pay and are left out. Contributors who have not accepted the project's current
terms (when it has terms) are listed with a share of 0 and the reason; the others' weights become shares of
SHARE_SCALE that add up to it exactly.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.errors import Conflict, NotFound
from annotator.users.models import User
from incentives import budgets, ledger, shares
from incentives.ledger import Leg
from incentives.models import Account, Entry, LedgerTransaction, Revenue
from tasks import exports, projects
from tasks.export_pages import pseudonym
from tasks.models import Annotation, Export, Project, Release, ReleaseShare, Review, Task, TermsAcceptance
from tasks.quality.scores import answer_scores_each

AGREES = 0.5  # an answer scoring this against its task's result agrees with it
# The platform's default revenue-sharing terms, shown at sign-up: a project that sets none shares under them.
PLATFORM_TERMS = ("When a dataset you helped label earns money (a licence, a grant, a model's revenue) and its owner "
                  "records it here, the platform keeps its fee and shares the rest among the dataset's contributors "
                  "in proportion to what their work contributed to it, as incentives/README.md describes.")


@dataclass
class Contribution:
    user_id: int
    weight: float = 0.0
    answers: int = 0
    fixes: int = 0
    rejected: int = 0  # answers a reviewer rejected (they weigh nothing)


def contributions(session: Session, project: Project) -> dict[int, Contribution]:
    """Each contributor's weight in the project's data as it stands (the module's docstring says how)."""
    tasks = session.scalars(select(Task).where(Task.project_id == project.id, Task.is_gold.is_(False),
                                               Task.status != "retired").order_by(Task.id)).all()
    people = {user_id for (user_id,) in session.execute(select(User.id).where(User.kind == "person"))}
    found: dict[int, Contribution] = {}

    def add(user_id: int, weight: float, *, fix: bool = False) -> None:
        one = found.setdefault(user_id, Contribution(user_id))
        one.weight += weight
        if fix:
            one.fixes += 1
        else:
            one.answers += 1

    fixed = {task_id: (result, reviewer_id) for task_id, result, reviewer_id in session.execute(
        select(Annotation.task_id, Review.result, Review.reviewer_id).join(Annotation, Annotation.id == Review.annotation_id)
        .where(Review.project_id == project.id, Review.verdict == "fixed").order_by(Review.id))}
    answers = defaultdict(list)
    for task_id, answer_id, user_id, result in session.execute(
            select(Annotation.task_id, Annotation.id, Annotation.user_id, Annotation.result)
            .where(Annotation.project_id == project.id, Annotation.counted.is_(True)).order_by(Annotation.id)):
        answers[task_id].append((answer_id, user_id, result))
    scored = answer_scores_each(session, project, [task for task in tasks if task.id not in fixed])
    # Everyone who answered here with a lease is listed, with what a reviewer rejected: a share of 0 says why.
    for user_id, verdict in session.execute(
            select(Annotation.user_id, Review.verdict).outerjoin(Review, Review.annotation_id == Annotation.id)
            .where(Annotation.project_id == project.id, Annotation.assignment_id.is_not(None))):
        if user_id in people:
            found.setdefault(user_id, Contribution(user_id)).rejected += verdict == "rejected"
    for task in tasks:
        given = answers.get(task.id, [])
        if task.id in fixed:
            fix, reviewer_id = fixed[task.id]
            agreeing = [(user_id, 1.0) for _, user_id, result in given if result == fix]
            if reviewer_id in people:
                add(reviewer_id, shares.fix_weight(len(given)), fix=True)
        else:
            scores = scored.get(task.id, {})
            agreeing = [(user_id, scores[answer_id].value) for answer_id, user_id, _ in given
                        if answer_id in scores and scores[answer_id].value >= AGREES]
        if not agreeing:
            continue
        bits = shares.information_weight(len(given), len(agreeing))
        for user_id, score in agreeing:
            if user_id in people:
                add(user_id, score * bits)
    return found


def terms_version(project: Project) -> int:
    """The version of the terms contributions are shared under now: the project's, or 0 (the platform's)."""
    return int((project.terms or {}).get("version", 0))


def accepted(session: Session, project_id: int, user_ids: set[int], version: int) -> set[int]:
    if not user_ids:
        return set()
    return set(session.scalars(select(TermsAcceptance.user_id).where(
        TermsAcceptance.project_id == project_id, TermsAcceptance.version == version,
        TermsAcceptance.user_id.in_(user_ids))))


def make_release(session: Session, project: Project, user: User, export_id: int, name: str, now: dt.datetime,
                 secret: bytes) -> Release:
    """Freeze a completed export of the project as a named release with its contribution shares (owner). 404 for an
    export of another project; 409 while it is not completed, when the project's data changed since it was made
    (export again), or when the name is taken."""
    export = session.get(Export, export_id)
    if export is None or export.project_id != project.id:
        raise NotFound("No such export in this project.")
    if export.status != "completed":
        raise Conflict(f"The export is {export.status}: release a completed export.")
    if exports.fingerprint(session, project, export.format, export.include) != export.fingerprint:
        raise Conflict("The project's data changed since this export was made: export again, then release that.")
    if session.scalar(select(Release.id).where(Release.project_id == project.id, Release.name == name)) is not None:
        raise Conflict(f"This project already has a release named {name!r}; releases never change, name a new one.")
    version = terms_version(project)
    found = contributions(session, project)
    agreed = accepted(session, project.id, set(found), version) if version else set(found)
    weights = {user_id: (one.weight if user_id in agreed else 0.0) for user_id, one in found.items()}
    parts = shares.release_shares(weights)
    release = Release(project_id=project.id, export_id=export.id, name=name, sha256=export.sha256,
                      size_bytes=export.size_bytes or 0, licence=project.licence, terms_version=version, card={},
                      share_scale=shares.SHARE_SCALE, created_by=user.id, created_at=now)
    session.add(release)
    session.flush()
    rows = []
    for user_id in sorted(found):
        one = found[user_id]
        reason = None if user_id in agreed else "terms_not_accepted"
        if reason is None and parts[user_id] == 0:
            reason = "rejected" if one.rejected and not one.answers else "no_agreeing_answers"
        rows.append(ReleaseShare(release_id=release.id, user_id=user_id, share=parts[user_id], weight=one.weight,
                                 answers=one.answers, fixes=one.fixes,
                                 terms_version=version if user_id in agreed else None, reason=reason))
    session.add_all(rows)
    release.card = {**(export.card or {}), "release": name, "sha256": export.sha256, "licence": project.licence,
                    "terms_version": version, "share_scale": shares.SHARE_SCALE,
                    "contributors": [{"contributor": pseudonym(secret, project.id, row.user_id), "share": row.share}
                                     for row in sorted(rows, key=lambda r: (-r.share, r.user_id)) if row.share]}
    session.flush()
    return release


def shares_of(session: Session, release_id: int) -> list[ReleaseShare]:
    return list(session.scalars(select(ReleaseShare).where(ReleaseShare.release_id == release_id)
                                .order_by(ReleaseShare.share.desc(), ReleaseShare.user_id)))


def release_for(session: Session, release_id: int, user: User, *, money: bool = False) -> tuple[Release, Project]:
    """The release for its project's owner (with `money`, an administrator too); 404 for anyone else."""
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound("No such release.")
    project = session.get(Project, release.project_id)
    if not (project.owner_id == user.id or (money and user.is_admin)):
        raise NotFound("No such release.")
    return release, project


@dataclass(frozen=True)
class Recorded:
    revenue: Revenue
    paid: dict[int, int]


def record_revenue(session: Session, release: Release, user: User, amount: int, memo: str, fee_bps: int,
                   now: dt.datetime) -> Recorded:
    """Income for the release, from the recorder's side of the outside world, in one ledger transaction: the
    platform's fee (fee_bps of it, rounded down), then the rest to contributors' available wallets by their shares
    (shares.split: the parts and the fee add up to the amount exactly), a line each naming the share. 409 when
    nobody holds a share."""
    ledger.check_amount(amount)
    held = {row.user_id: row.share for row in shares_of(session, release.id) if row.share > 0}
    if not held:
        raise Conflict("Nobody holds a share of this release, so there is nobody to pay.")
    fee = budgets.fee_of(amount, fee_bps)
    paid = {user_id: part for user_id, part in shares.split(amount - fee, held).items() if part}
    world = ledger.account(session, "outside_world", user_id=user.id)
    legs = [Leg(world, -amount)]
    if fee:
        legs.append(Leg(ledger.account(session, "platform_fees"), fee))
    legs += [Leg(ledger.account(session, "wallet_available", user_id=user_id), part)
             for user_id, part in sorted(paid.items())]
    # Keyed by the request's own key (the route's Idempotency-Key answers a repeat before it gets here; a second
    # request racing the first posts under another key and is rolled back with its reply record).
    posted = ledger.post(session, f"revenue:{release.id}:{uuid.uuid4().hex}", "revenue", legs, now,
                         memo=f"revenue of release {release.name!r}: {amount - fee} shared by {len(paid)} "
                              f"contributors" + (f" after a {fee} platform fee" if fee else ""),
                         details={"release_id": release.id, "amount": amount, "fee": fee,
                                  "fee_bps": fee_bps, "share_scale": release.share_scale,
                                  "shares": {str(user_id): share for user_id, share in sorted(held.items())}},
                         project_id=release.project_id)
    row = Revenue(release_id=release.id, amount=amount, fee=fee, memo=memo, created_by=user.id,
                  transaction_id=posted.id, created_at=now)
    session.add(row)
    session.flush()
    return Recorded(row, paid)


def paid_by(session: Session, revenue: Revenue) -> list[dict]:
    """What a revenue posting put in each contributor's available wallet."""
    return [{"user_id": user_id, "amount": int(amount)} for user_id, amount in session.execute(
        select(Account.user_id, Entry.amount).join(Entry, Entry.account_id == Account.id)
        .where(Entry.transaction_id == revenue.transaction_id, Account.kind == "wallet_available")
        .order_by(Account.user_id))]


def mine(session: Session, user: User) -> list[dict]:
    """The releases the user holds a row in, newest first, with their share and what the release's revenue paid
    them."""
    rows = session.execute(select(Release, ReleaseShare).join(ReleaseShare, ReleaseShare.release_id == Release.id)
                           .where(ReleaseShare.user_id == user.id).order_by(Release.id.desc())).all()
    totals: dict[int, int] = defaultdict(int)
    for release_id, amount in session.execute(
            select(Revenue.release_id, Entry.amount).join(LedgerTransaction, LedgerTransaction.id == Revenue.transaction_id)
            .join(Entry, Entry.transaction_id == LedgerTransaction.id).join(Account, Account.id == Entry.account_id)
            .where(Account.user_id == user.id, Account.kind == "wallet_available")):
        totals[release_id] += int(amount)
    projects_by_id = {p.id: p for p in session.scalars(select(Project).where(
        Project.id.in_({release.project_id for release, _ in rows})))} if rows else {}
    return [{"release_id": release.id, "project_id": release.project_id,
             "project_name": projects_by_id[release.project_id].name, "name": release.name, "share": row.share,
             "share_scale": release.share_scale, "earned": totals.get(release.id, 0), "answers": row.answers,
             "fixes": row.fixes, "reason": row.reason, "terms_version": row.terms_version,
             "created_at": release.created_at} for release, row in rows]


def verify(session: Session) -> list[str]:
    """Every revenue transaction's contributor legs are its release's shares split by the largest-remainder rule,
    its fee the recorded one, and it all adds up to the amount."""
    breaches = []
    for revenue, details in session.execute(select(Revenue, LedgerTransaction.details).join(
            LedgerTransaction, LedgerTransaction.id == Revenue.transaction_id).order_by(Revenue.id)):
        held = {row.user_id: row.share for row in shares_of(session, revenue.release_id) if row.share > 0}
        expected = {user_id: part for user_id, part in shares.split(revenue.amount - revenue.fee, held).items() if part}
        legs: dict[int, int] = defaultdict(int)
        fee = 0
        for kind, user_id, amount in session.execute(
                select(Account.kind, Account.user_id, Entry.amount).join(Entry, Entry.account_id == Account.id)
                .where(Entry.transaction_id == revenue.transaction_id)):
            if kind == "wallet_available":
                legs[user_id] += int(amount)
            elif kind == "platform_fees":
                fee += int(amount)
        if dict(legs) != expected or fee != revenue.fee:
            breaches.append(f"revenue {revenue.id} of release {revenue.release_id} paid {dict(legs)} (fee {fee}) but "
                            f"its shares call for {expected} (fee {revenue.fee})")
        if details.get("release_id") != revenue.release_id:
            breaches.append(f"revenue {revenue.id}'s transaction names another release")
    return breaches


def accept_terms(session: Session, project_id: int, user: User, version: int, now: dt.datetime) -> TermsAcceptance:
    """Accept the project's current terms (409 for another version: read them again)."""
    project = projects.visible(session, project_id, user)
    current = terms_version(project)
    if not current:
        raise Conflict("This project shares under the platform's terms, accepted at sign-up.")
    if version != current:
        raise Conflict(f"The terms are at version {current}; read them and accept that version.")
    found = session.get(TermsAcceptance, (project.id, user.id, version))
    if found is None:
        found = TermsAcceptance(project_id=project.id, user_id=user.id, version=version, accepted_at=now)
        session.add(found)
        session.flush()
    return found
