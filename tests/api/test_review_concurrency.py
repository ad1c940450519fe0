"""The review API (issue 23) under real concurrency on PostgreSQL: reviewers racing for the queue never share an
item, an appeal is decided once, a rejection is appealed once, an answer is judged once, and a reviewer is paid
once per review lease, whatever finishes it at the same moment."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from annotator.runtime import runtime
from incentives import ledger
from incentives.models import LedgerTransaction
from tasks.assignment import recount
from tasks.models import Annotation, Appeal, Review, ReviewItem, ReviewLease, Task
from tests.factories import funded, in_parallel, invoke, label_all, person, verified, wallet

pytestmark = pytest.mark.postgres

PAY = 15  # reviewer pay, minor units
EARNED = 70  # what an answer of `funded`'s rates earns when both answers agree: 50 + a bonus of 20


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    headers: dict


@dataclass(frozen=True)
class Team:
    owner: Person
    annotators: list[Person]  # two: every task of overlap 2 gets one answer from each
    reviewers: list[Person]  # role reviewer
    manager: Person


def _person(app, email: str) -> Person:
    user_id, headers = person(app, email)
    return Person(user_id, email, headers)


def _team(app, reviewers: int) -> Team:
    return Team(_person(app, "owner@example.org"), [_person(app, f"a{n}@example.org") for n in range(2)],
                [_person(app, f"r{n}@example.org") for n in range(reviewers)], _person(app, "manager@example.org"))


def _project(app, team: Team, tasks: int, **review) -> dict:
    """A funded text project of overlap 2 whose tasks both annotators answered alike (each task completed and
    settled: each answer earned EARNED), its reviewers and manager members, with the review policy `review`."""
    client = app.test_client()
    project = funded(client, team.owner.headers, amount=10**5, tasks=tasks)
    for member, role in [*((r, "reviewer") for r in team.reviewers), (team.manager, "manager")]:
        added = client.post(f"/api/v1/projects/{project['id']}/members", json={"email": member.email, "role": role},
                            headers=team.owner.headers)
        assert added.status_code == 201, added.get_json()
    if review:
        made = client.patch(f"/api/v1/projects/{project['id']}", json={"review": review}, headers=team.owner.headers)
        assert made.status_code == 200, made.get_json()
    for annotator in team.annotators:
        assert len(label_all(client, project, annotator.headers)) == tasks
    return project


def _answers_of(app, project_id: int, user_id: int) -> list[int]:
    """The user's answers in the project, by task."""
    with runtime(app).session_factory() as session:
        return list(session.scalars(select(Annotation.id).where(
            Annotation.project_id == project_id, Annotation.user_id == user_id).order_by(Annotation.task_id)))


def _race(app, calls: list[tuple[str, dict | None, dict]]) -> list[tuple[int, dict | None]]:
    """POST each (path, json body, headers) at the same moment, each from its own client and thread:
    [(status, body)] in the order given."""
    def send(index: int):
        path, body, headers = calls[index]
        response = app.test_client().post(path, json=body, headers=headers)
        return response.status_code, response.get_json() if response.status_code != 204 else None

    return in_parallel(len(calls), send)


def _review_next(project_id: int, person: Person) -> tuple[str, None, dict]:
    return f"/api/v1/projects/{project_id}/review/next", None, person.headers


def _verdict(answer_id: int, person: Person, verdict: str) -> tuple[str, dict, dict]:
    body = {"verdict": verdict, "note": f"{verdict} by {person.email}"}
    if verdict == "fix":
        body["result"] = {"labels": ["negative"]}
    return f"/api/v1/annotations/{answer_id}/review", body, person.headers


def _decide(appeal_id: int, person: Person, decision: str) -> tuple[str, dict, dict]:
    return f"/api/v1/appeals/{appeal_id}/decide", {"decision": decision, "note": f"{decision}d"}, person.headers


def _code(reply: tuple[int, dict | None]) -> tuple[int, str | None]:
    status, body = reply
    return status, (body or {}).get("code") if status >= 400 else None


def _postings(app, **where) -> int:
    """How many ledger transactions match `where` (column name: value)."""
    with runtime(app).session_factory() as session:
        return session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            *(getattr(LedgerTransaction, name) == value for name, value in where.items()))) or 0


def _sound(app) -> None:
    """The ledger's invariants hold, as `annotator ledger verify` checks them."""
    assert verified(app) == []
    checked = invoke(app, "ledger", "verify")
    assert checked.exit_code == 0, checked.output


# ---- 1. the queue -------------------------------------------------------------------------------------------------

REVIEWERS, ITEMS = 8, 5


def _queue_state(app, project_id: int) -> dict[str, int]:
    with runtime(app).session_factory() as session:
        return dict(session.execute(select(ReviewItem.status, func.count()).where(
            ReviewItem.project_id == project_id).group_by(ReviewItem.status)).all())


def _leases_unshared(app, project_id: int, replies: list[tuple[int, dict | None]]) -> dict[int, dict]:
    """Of concurrent review/next replies: each 200 holds its own item (its own task) and its own lease, and the
    table holds exactly one live lease per leased item. Returns the 200 replies by the reviewer's index."""
    assert {status for status, _ in replies} <= {200, 204}, replies
    got = {index: body for index, (status, body) in enumerate(replies) if status == 200}
    items = [body["review_lease"]["item_id"] for body in got.values()]
    tasks = [body["task"]["id"] for body in got.values()]
    leases = [body["review_lease"]["id"] for body in got.values()]
    assert len(set(items)) == len(set(tasks)) == len(set(leases)) == len(got), got  # nobody shares an item
    assert all(body["reason"] == "sample" and len(body["answers"]) == 2 for body in got.values())
    with runtime(app).session_factory() as session:
        live = session.execute(select(ReviewLease.id, ReviewLease.item_id).where(
            ReviewLease.project_id == project_id, ReviewLease.status == "leased")).all()
        leased_items = session.scalars(select(ReviewItem.id).where(
            ReviewItem.project_id == project_id, ReviewItem.status == "leased")).all()
    assert {lease for lease, _ in live} >= set(leases)
    assert len({item for _, item in live}) == len(live), live  # one live lease per leased item
    assert sorted(item for _, item in live) == sorted(leased_items)
    return got


def _all_leased(app, project_id: int, team: Team) -> dict[int, dict]:
    """Reviewers ask at once, those still without an item again at once, until every item is leased (a few
    rounds at most): {reviewer's index: the reply that leased them an item}."""
    holders: dict[int, dict] = {}
    for _attempt in range(ITEMS):
        waiting = [index for index in range(REVIEWERS) if index not in holders]
        replies = _race(app, [_review_next(project_id, team.reviewers[index]) for index in waiting])
        got = _leases_unshared(app, project_id, replies)
        holders.update({waiting[index]: body for index, body in got.items()})
        held = [body["review_lease"]["item_id"] for body in holders.values()]
        assert len(set(held)) == len(held), holders  # never an item leased out twice, over the rounds either
        if len(holders) == ITEMS:
            break
    assert len(holders) == ITEMS and _queue_state(app, project_id).get("leased") == ITEMS, holders
    return holders


def _reserved_once_each(app, project_id: int) -> None:
    """Every review lease of the project reserved the reviewer pay once; an ended one gave it back once."""
    with runtime(app).session_factory() as session:
        leases = session.execute(select(ReviewLease.id, ReviewLease.status).where(
            ReviewLease.project_id == project_id)).all()
        for lease_id, status in leases:
            kinds = sorted(session.scalars(select(LedgerTransaction.kind).where(
                LedgerTransaction.review_lease_id == lease_id)))
            assert kinds == (["reserve"] if status == "leased" else ["release", "reserve"]), (lease_id, status, kinds)


def test_reviewers_asking_for_the_next_item_at_once_never_share_one(pg_app):
    """Five completed tasks, sample_rate 1.0, eight reviewers asking at once (three projects over): no item, task or
    lease is handed to two of them, each leased item has one live lease; asking again at once, each holder gets
    their own lease back and the others nothing; once every lease has lapsed, asking at once hands each item out
    once again, and each lapsed lease's reservation goes back to the budget once."""
    team = _team(pg_app, REVIEWERS)
    for _round in range(3):
        project = _project(pg_app, team, ITEMS, sample_rate=1.0, reviewer_pay=PAY)
        pid = project["id"]
        first = _all_leased(pg_app, pid, team)
        _reserved_once_each(pg_app, pid)

        again = _race(pg_app, [_review_next(pid, r) for r in team.reviewers])  # the same live lease, or nothing
        assert {index: body["review_lease"]["id"] for index, (status, body) in enumerate(again) if status == 200} == {
            index: body["review_lease"]["id"] for index, body in first.items()}, again
        assert sum(status == 204 for status, _ in again) == REVIEWERS - ITEMS

        with runtime(pg_app).session_factory() as session:
            session.execute(update(ReviewLease).where(ReviewLease.project_id == pid).values(
                expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
            session.commit()
        second = _all_leased(pg_app, pid, team)
        old = {body["review_lease"]["id"] for body in first.values()}
        assert not old & {body["review_lease"]["id"] for body in second.values()}
        with runtime(pg_app).session_factory() as session:
            statuses = session.scalars(select(ReviewLease.status).where(ReviewLease.id.in_(old))).all()
        assert statuses == ["expired"] * ITEMS
        _reserved_once_each(pg_app, pid)
        budget = pg_app.test_client().get(f"/api/v1/projects/{pid}/budget", headers=team.owner.headers).get_json()
        assert budget["reserved"] == ITEMS * PAY  # the five live leases', nothing of the lapsed ones
    _sound(pg_app)


def test_reviewers_asking_at_once_are_told_204_only_when_no_item_is_left(pg_app):
    """204 means nothing is left to review: eight reviewers asking at once for five queued items get five items
    and three 204s, never a 204 while an item still waits in the queue."""
    team = _team(pg_app, REVIEWERS)
    for _round in range(3):
        pid = _project(pg_app, team, ITEMS, sample_rate=1.0)["id"]
        replies = _race(pg_app, [_review_next(pid, r) for r in team.reviewers])
        got = _leases_unshared(pg_app, pid, replies)
        waiting = _queue_state(pg_app, pid).get("queued", 0)
        assert (len(got), waiting) == (ITEMS, 0), (
            f"{REVIEWERS - len(got)} reviewers were told 204 while {waiting} items were still queued")


# ---- 2, 3. appeals ------------------------------------------------------------------------------------------------

DECIDED = {"overturn": "overturned", "uphold": "upheld"}


def _post(app, call: tuple[str, dict | None, dict], status: int) -> dict:
    path, body, headers = call
    response = app.test_client().post(path, json=body, headers=headers)
    assert response.status_code == status, (path, response.status_code, response.get_json())
    return response.get_json()


def _status(app, call: tuple[str, dict | None, dict]) -> int:
    path, body, headers = call
    return app.test_client().post(path, json=body, headers=headers).status_code


def _appeal(review_id: int, author: Person) -> tuple[str, dict, dict]:
    return f"/api/v1/reviews/{review_id}/appeal", {"reason": "I read it twice"}, author.headers


def _task_counts_right(session, task_id: int, submitted: int, status: str) -> None:
    task = session.get(Task, task_id)
    assert recount(session, task_id) == (task.leased, task.submitted)
    assert (task.submitted, task.status) == (submitted, status)


def test_two_people_deciding_one_appeal_at_once_decide_it_once(pg_app):
    """A manager and a second reviewer decide the same appeal at the same moment (overturn and overturn, overturn
    and uphold, six appeals): one 200, one 409 already_decided; an overturn reverses the take-back once."""
    team = _team(pg_app, 2)
    rejecter, second = team.reviewers
    author = team.annotators[0]
    pairs = [("overturn", "overturn"), ("overturn", "uphold"), ("uphold", "overturn")] * 2
    pid = _project(pg_app, team, len(pairs))["id"]
    deciders = (team.manager, second)
    upheld = 0
    for answer_id, decisions in zip(_answers_of(pg_app, pid, author.id), pairs):
        review = _post(pg_app, _verdict(answer_id, rejecter, "reject"), 201)
        assert review["taken_back"] == EARNED
        appeal = _post(pg_app, _appeal(review["id"], author), 201)
        replies = _race(pg_app, [_decide(appeal["id"], who, decision) for who, decision in zip(deciders, decisions)])
        assert sorted(_code(reply) for reply in replies) == [(200, None), (409, "already_decided")], replies
        won = 0 if replies[0][0] == 200 else 1
        decision, body = decisions[won], replies[won][1]
        overturned = decision == "overturn"
        upheld += not overturned
        assert (body["status"], body["decided_by"]) == (DECIDED[decision], deciders[won].id)
        assert body["restored"] == (EARNED if overturned else 0)
        assert _postings(pg_app, idempotency_key=f"restore:{answer_id}") == int(overturned)
        assert _postings(pg_app, kind="reversal", annotation_id=answer_id) == int(overturned)
        assert _postings(pg_app, kind="clawback", annotation_id=answer_id) == 1
        with runtime(pg_app).session_factory() as session:
            stored = session.get(Appeal, appeal["id"])
            assert (stored.status, stored.decided_by) == (DECIDED[decision], deciders[won].id)
            assert session.get(Review, review["id"]).verdict == ("overturned" if overturned else "rejected")
            answer = session.get(Annotation, answer_id)
            assert answer.counted == overturned
            _task_counts_right(session, answer.task_id, 2 if overturned else 1, "completed" if overturned else "open")
    assert upheld and upheld < len(pairs)
    assert wallet(pg_app.test_client(), author.headers)["balance"] == EARNED * (len(pairs) - upheld)
    _sound(pg_app)


def test_an_author_appealing_one_rejection_twice_at_once_appeals_it_once(pg_app):
    """Two appeals of the same rejection by its author at the same moment (six rejections): exactly one 201 and
    one appeal row; the other 409."""
    team = _team(pg_app, 1)
    author = team.annotators[0]
    rounds = 6
    pid = _project(pg_app, team, rounds)["id"]
    codes = set()
    for answer_id in _answers_of(pg_app, pid, author.id):
        review = _post(pg_app, _verdict(answer_id, team.reviewers[0], "reject"), 201)
        replies = _race(pg_app, [_appeal(review["id"], author)] * 2)
        statuses = sorted(status for status, _ in replies)
        assert statuses == [201, 409], replies
        codes.add(next(_code(reply)[1] for reply in replies if reply[0] == 409))
        made = next(body for status, body in replies if status == 201)
        assert (made["status"], made["review_id"]) == ("open", review["id"])
        with runtime(pg_app).session_factory() as session:
            assert session.scalars(select(Appeal.id).where(Appeal.review_id == review["id"])).all() == [made["id"]]
    # The second is 409 already_decided whether it came after the first or lost to it on the unique index.
    assert codes == {"already_decided"}, codes
    mine = pg_app.test_client().get("/api/v1/me/appeals", headers=author.headers).get_json()
    assert mine["total"] == rounds
    _sound(pg_app)


# ---- 4. verdicts --------------------------------------------------------------------------------------------------

def test_two_verdicts_on_one_answer_at_once_judge_it_once(pg_app):
    """Two reviewers judge the same answer at the same moment (reject and reject, reject and accept, reject and
    fix, six answers): one 201, one 409 already_decided, one review row; a winning rejection takes the answer's pay
    back once and takes it out of its task's count once."""
    team = _team(pg_app, 2)
    author = team.annotators[0]
    pairs = [("reject", "reject"), ("reject", "accept"), ("fix", "reject"), ("reject", "fix"),
             ("accept", "reject"), ("reject", "reject")]
    pid = _project(pg_app, team, len(pairs))["id"]
    rejected = 0
    for answer_id, verdicts in zip(_answers_of(pg_app, pid, author.id), pairs):
        replies = _race(pg_app, [_verdict(answer_id, who, verdict) for who, verdict in zip(team.reviewers, verdicts)])
        assert sorted(_code(reply) for reply in replies) == [(201, None), (409, "already_decided")], replies
        won = 0 if replies[0][0] == 201 else 1
        body, rejection = replies[won][1], verdicts[won] == "reject"
        rejected += rejection
        assert (body["reviewer_id"], body["taken_back"]) == (team.reviewers[won].id, EARNED if rejection else 0)
        assert _postings(pg_app, kind="clawback", annotation_id=answer_id) == int(rejection)
        with runtime(pg_app).session_factory() as session:
            judged = session.scalars(select(Review).where(Review.annotation_id == answer_id)).all()
            assert [(r.reviewer_id, r.verdict) for r in judged] == [(team.reviewers[won].id, body["verdict"])]
            answer = session.get(Annotation, answer_id)
            assert answer.counted == (not rejection)
            _task_counts_right(session, answer.task_id, 1 if rejection else 2, "open" if rejection else "completed")
    assert wallet(pg_app.test_client(), author.headers)["balance"] == EARNED * (len(pairs) - rejected)
    _sound(pg_app)


# ---- 5. reviewer pay ----------------------------------------------------------------------------------------------

def _lease_money(session, lease_id: int) -> tuple[dict[str, int], int]:
    """The lease's postings by kind, and what the project's reserve still holds for it."""
    kinds: dict[str, int] = {}
    for kind in session.scalars(select(LedgerTransaction.kind).where(LedgerTransaction.review_lease_id == lease_id)):
        kinds[kind] = kinds.get(kind, 0) + 1
    held = session.scalar(ledger.entry_sums(kinds=("project_reserve",), where=(
        LedgerTransaction.review_lease_id == lease_id,)))
    return kinds, int(held or 0)


def _each_lease_paid_or_released_once(app, project_id: int) -> dict[int, str]:
    """Every review lease of the project reserved the reviewer pay once and, once ended, was paid it or gave it
    back, once and never both, nothing left held for it. Returns {lease id: "paid" | "released" | "live"}."""
    outcome = {}
    with runtime(app).session_factory() as session:
        for lease_id, status in session.execute(select(ReviewLease.id, ReviewLease.status).where(
                ReviewLease.project_id == project_id).order_by(ReviewLease.id)):
            kinds, held = _lease_money(session, lease_id)
            paid, released = kinds.get("review_pay", 0), kinds.get("release", 0)
            assert kinds.get("reserve") == 1 and paid + released <= 1, (lease_id, status, kinds)
            if status == "leased":
                outcome[lease_id] = "live"
                continue
            assert paid + released == 1 and held == 0, (
                f"review lease {lease_id} ({status}) ended with {held} of its reserved reviewer pay still held: "
                f"postings {kinds}")
            outcome[lease_id] = "paid" if paid else "released"
    return outcome


def test_the_holders_two_verdicts_finishing_an_item_at_once_pay_the_review_once(pg_app):
    """The holder of a review lease judges both answers of its item at the same moment (five items): both 201, the
    one that finishes the item pays the reviewer pay, once."""
    team = _team(pg_app, 1)
    holder = team.reviewers[0]
    rounds = 5
    pid = _project(pg_app, team, rounds, sample_rate=1.0, reviewer_pay=PAY)["id"]
    for n in range(rounds):
        item = _post(pg_app, _review_next(pid, holder), 200)
        first, second = (one["id"] for one in item["answers"])
        replies = _race(pg_app, [_verdict(first, holder, "accept"), _verdict(second, holder, ("accept", "fix")[n % 2])])
        assert [status for status, _ in replies] == [201, 201], replies
        assert sorted(body["reviewer_paid"] for _, body in replies) == [0, PAY], replies
        with runtime(pg_app).session_factory() as session:
            assert _lease_money(session, item["review_lease"]["id"]) == ({"reserve": 1, "review_pay": 1}, 0)
            assert session.get(ReviewLease, item["review_lease"]["id"]).status == "done"
            assert session.get(ReviewItem, item["review_lease"]["item_id"]).status == "done"
    assert _status(pg_app, _review_next(pid, holder)) == 204
    assert set(_each_lease_paid_or_released_once(pg_app, pid).values()) == {"paid"}
    assert wallet(pg_app.test_client(), holder.headers)["balance"] == PAY * rounds
    _sound(pg_app)


def test_the_last_verdict_racing_the_release_of_its_lease_pays_or_releases_once(pg_app):
    """The holder gives the verdict that finishes the item while releasing the lease at the same moment (six
    items): the verdict is recorded; either it finished the lease (paid once, the release 409) or the release came
    first (the reservation back in the budget, nobody paid); never both, never a 500."""
    team = _team(pg_app, 1)
    holder = team.reviewers[0]
    rounds = 6
    pid = _project(pg_app, team, rounds, sample_rate=1.0, reviewer_pay=PAY)["id"]
    paid = 0
    for _ in range(rounds):
        item = _post(pg_app, _review_next(pid, holder), 200)
        lease_id = item["review_lease"]["id"]
        first, second = (one["id"] for one in item["answers"])
        assert _post(pg_app, _verdict(first, holder, "accept"), 201)["reviewer_paid"] == 0
        judged, released = _race(pg_app, [_verdict(second, holder, "accept"),
                                          (f"/api/v1/review-leases/{lease_id}/release", None, holder.headers)])
        assert judged[0] == 201, judged
        assert _code(released) in ((200, None), (409, "conflict")), released
        assert judged[1]["reviewer_paid"] == (0 if released[0] == 200 else PAY), (judged, released)
        paid += judged[1]["reviewer_paid"]
        with runtime(pg_app).session_factory() as session:
            assert session.get(ReviewItem, item["review_lease"]["item_id"]).status == "done"
    assert _status(pg_app, _review_next(pid, holder)) == 204
    outcomes = _each_lease_paid_or_released_once(pg_app, pid)
    assert sum(o == "paid" for o in outcomes.values()) * PAY == paid
    assert wallet(pg_app.test_client(), holder.headers)["balance"] == paid
    _sound(pg_app)


def test_a_verdict_by_another_reviewer_finishing_a_leased_item_at_once_leaves_no_pay_held(pg_app):
    """The holder judges one answer of its leased item while another reviewer judges the other at the same moment
    (six items; then, to pin the order that matters, one where the other reviewer's verdict comes last): whoever
    finishes the item, the holder's lease is paid once (the holder's verdict finished it) or its reservation goes
    back to the budget (another's did) - never both, never left held."""
    team = _team(pg_app, 2)
    holder, other = team.reviewers
    rounds = 7
    pid = _project(pg_app, team, rounds, sample_rate=1.0, reviewer_pay=PAY)["id"]
    for n in range(rounds):
        item = _post(pg_app, _review_next(pid, holder), 200)
        mine, theirs = (one["id"] for one in item["answers"])
        calls = [_verdict(mine, holder, "accept"), _verdict(theirs, other, "accept")]
        if n < rounds - 1:
            replies = _race(pg_app, calls)
        else:
            replies = [(201, _post(pg_app, call, 201)) for call in calls]
        assert [status for status, _ in replies] == [201, 201], replies
        with runtime(pg_app).session_factory() as session:
            assert session.get(ReviewItem, item["review_lease"]["item_id"]).status == "done"
            # done: the holder's verdict finished it (paid); released: the other's did (the pay goes back)
            assert session.get(ReviewLease, item["review_lease"]["id"]).status in ("done", "released")
    # Ended leases' reservations go back on the next call to review/next (nothing is left: 204).
    assert _status(pg_app, _review_next(pid, other)) == 204
    outcomes = _each_lease_paid_or_released_once(pg_app, pid)
    assert "released" in outcomes.values()  # the last round's, at least
    assert wallet(pg_app.test_client(), holder.headers)["balance"] == PAY * sum(
        o == "paid" for o in outcomes.values())
    _sound(pg_app)


def test_the_last_verdict_on_a_lapsed_lease_racing_another_reviewers_next_pays_once(pg_app):
    """The holder's lease has lapsed (unnoticed) when they give the verdict that finishes its item, at the moment
    another reviewer asks for the next item (which takes lapsed leases back): the holder is paid, or the
    reservation goes back to the budget, once; the item is handed out again only if the verdict came second; neither
    call fails (a deadlock between them would be a 500)."""
    team = _team(pg_app, 2)
    holder, other = team.reviewers
    rounds = 12
    pid = _project(pg_app, team, rounds, sample_rate=1.0, reviewer_pay=PAY)["id"]
    seen = set()
    for _ in range(rounds):
        item = _post(pg_app, _review_next(pid, holder), 200)
        first, second = (one["id"] for one in item["answers"])
        assert _post(pg_app, _verdict(first, holder, "accept"), 201)["reviewer_paid"] == 0
        with runtime(pg_app).session_factory() as session:
            session.execute(update(ReviewLease).where(ReviewLease.id == item["review_lease"]["id"]).values(
                expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
            session.commit()
        judged, asked = _race(pg_app, [_verdict(second, holder, "accept"), _review_next(pid, other)])
        assert judged[0] == 201 and asked[0] in (200, 204), (judged, asked)
        with runtime(pg_app).session_factory() as session:
            assert session.get(ReviewItem, item["review_lease"]["item_id"]).status == "done"
            theirs = session.get(ReviewLease, asked[1]["review_lease"]["id"]) if asked[0] == 200 else None
        if theirs is not None and theirs.item_id == item["review_lease"]["item_id"]:
            seen.add("handed out again")
            assert theirs.status == "released"  # the holder's verdict, second, finished the item under them
        elif theirs is not None:  # they got another item: they give it back, so the next round starts clean
            _post(pg_app, (f"/api/v1/review-leases/{theirs.id}/release", None, other.headers), 200)
    assert _status(pg_app, _review_next(pid, other)) == 204
    outcomes = _each_lease_paid_or_released_once(pg_app, pid)
    print(f"over {rounds} rounds: {sorted(seen)}; leases {sorted(outcomes.values())}")
    _sound(pg_app)
