"""Review that people can trust (issue 23): the review policy, the queue and its leases, fix-in-place, a rejection
leaving agreement and consensus, appeals decided once, an overturn restoring exactly what was taken, reviewers
measured and paid."""
from __future__ import annotations

import datetime as dt

import orjson
import pytest
from sqlalchemy import select, update

from tasks.assignment import recount
from tasks.models import Annotation, Assignment, Review, ReviewLease, Task
from tests.factories import (answer, assert_problem, budget, export, funded, nxt, verified, wallet)


@pytest.fixture
def staff(client, owner, make_user, token_for):
    """A reviewer and a manager, made members of whichever project `join` is given."""
    people = {"reviewer": token_for(make_user("rev@example.org")), "reviewer2": token_for(make_user("rev2@example.org")),
              "manager": token_for(make_user("mgr@example.org"))}

    def join(project):
        for email, role in (("rev@example.org", "reviewer"), ("rev2@example.org", "reviewer"),
                            ("mgr@example.org", "manager")):
            assert client.post(f"/api/v1/projects/{project['id']}/members", json={"email": email, "role": role},
                               headers=owner).status_code == 201
        return people

    return join


def policy(client, project, owner, **review):
    made = client.patch(f"/api/v1/projects/{project['id']}", json={"review": review}, headers=owner)
    assert made.status_code == 200, made.get_json()
    return made.get_json()["review"]


def both_answer(client, project, annotators, labels=("positive", "positive"), first=0):
    """Two annotators answer the task they are handed; returns the two answers."""
    made = []
    for who, label in zip((first, first + 1), labels):
        lease = nxt(client, project, annotators[who]).get_json()
        response = answer(client, lease, annotators[who], label=label)
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json())
    return made


def review_next(client, project, headers):
    return client.post(f"/api/v1/projects/{project['id']}/review/next", headers=headers)


def verdict(client, answer_id, headers, **body):
    return client.post(f"/api/v1/annotations/{answer_id}/review", json=body, headers=headers)


# ---- the policy --------------------------------------------------------------------------------------------------

def test_the_review_policy_is_set_merged_shown_with_its_defaults_and_removed(client, owner):
    project = funded(client, owner, tasks=1)
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["review"] is None
    assert policy(client, project, owner, sample_rate=0.25) == {
        "sample_rate": 0.25, "below_agreement": None, "gold_failures": False, "first_answers": 0, "appeal_days": 7,
        "reviewer_pay": 0}
    shown = policy(client, project, owner, first_answers=5, reviewer_pay=10)
    assert (shown["sample_rate"], shown["first_answers"], shown["reviewer_pay"]) == (0.25, 5, 10)
    cleared = client.patch(f"/api/v1/projects/{project['id']}", json={"review": None}, headers=owner)
    assert cleared.status_code == 200 and cleared.get_json()["review"] is None


@pytest.mark.parametrize("field, value", [("sample_rate", 1.5), ("sample_rate", -0.1), ("sample_rate", "half"),
                                          ("below_agreement", 2), ("first_answers", -1), ("first_answers", 1001),
                                          ("first_answers", 2.5), ("appeal_days", 0), ("appeal_days", 366),
                                          ("reviewer_pay", -5), ("reviewer_pay", 1.5), ("gold_failures", "yes"),
                                          ("surprise", 1)])
def test_review_policy_values_out_of_range_are_422_naming_the_field(client, owner, field, value):
    project = funded(client, owner, tasks=1)
    policy(client, project, owner, sample_rate=0.5)
    refused = client.patch(f"/api/v1/projects/{project['id']}", json={"review": {field: value}}, headers=owner)
    assert f"review.{field}" in assert_problem(refused, 422)["errors"]
    assert client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["review"]["sample_rate"] == 0.5


# ---- the queue ---------------------------------------------------------------------------------------------------

def test_the_queue_leases_a_completed_task_with_its_answers_consensus_and_reason(client, owner, annotators, staff):
    project = funded(client, owner, tasks=2)
    people = staff(project)
    assert review_next(client, project, people["reviewer"]).status_code == 204  # no policy: no queue
    policy(client, project, owner, sample_rate=1.0)
    assert review_next(client, project, people["reviewer"]).status_code == 204  # nothing complete yet
    made = both_answer(client, project, annotators)
    got = review_next(client, project, people["reviewer"])
    assert got.status_code == 200, got.get_json()
    item = got.get_json()
    assert item["reason"] == "sample" and item["task"]["id"] == made[0]["task_id"]
    assert [a["id"] for a in item["answers"]] == [m["id"] for m in made]
    assert all(a["verdict"] is None and a["user"]["display_name"] for a in item["answers"])
    assert item["consensus"]["result"] == {"labels": ["positive"]}
    assert item["review_lease"]["id"] and item["review_lease"]["expires_at"]
    # The same lease while it lives; another reviewer gets nothing (one item, leased once).
    again = review_next(client, project, people["reviewer"]).get_json()
    assert again["review_lease"]["id"] == item["review_lease"]["id"]
    assert review_next(client, project, people["reviewer2"]).status_code == 204
    # Judging every answer finishes the item: the next call has nothing left.
    for one in item["answers"]:
        assert verdict(client, one["id"], people["reviewer"], verdict="accept").status_code == 201
    assert review_next(client, project, people["reviewer"]).status_code == 204


def test_a_reviewer_is_never_handed_a_task_they_answered(client, owner, annotators, staff, make_user, token_for):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    policy(client, project, owner, sample_rate=1.0)
    lease = nxt(client, project, people["reviewer"]).get_json()  # a reviewer may label too
    assert answer(client, lease, people["reviewer"]).status_code == 201
    lease = nxt(client, project, annotators[0]).get_json()
    assert answer(client, lease, annotators[0]).status_code == 201
    assert review_next(client, project, people["reviewer"]).status_code == 204
    assert review_next(client, project, people["reviewer2"]).status_code == 200


def test_an_expired_review_lease_is_handed_out_again_and_heartbeat_and_release_work(client, owner, annotators, staff,
                                                                                   db):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    policy(client, project, owner, sample_rate=1.0)
    both_answer(client, project, annotators)
    first = review_next(client, project, people["reviewer"]).get_json()["review_lease"]
    kept = client.post(f"/api/v1/review-leases/{first['id']}/heartbeat", headers=people["reviewer"])
    assert kept.status_code == 200 and kept.get_json()["expires_at"] >= first["expires_at"]
    assert_problem(client.post(f"/api/v1/review-leases/{first['id']}/heartbeat", headers=people["reviewer2"]), 404)
    db.execute(update(ReviewLease).where(ReviewLease.id == first["id"]).values(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    db.commit()
    second = review_next(client, project, people["reviewer2"])
    assert second.status_code == 200 and second.get_json()["review_lease"]["id"] != first["id"]
    assert assert_problem(client.post(f"/api/v1/review-leases/{first['id']}/heartbeat", headers=people["reviewer"]),
                          409)["code"] == "lease_expired"
    released = client.post(f"/api/v1/review-leases/{second.get_json()['review_lease']['id']}/release",
                           headers=people["reviewer2"])
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert review_next(client, project, people["reviewer"]).status_code == 200  # back in the queue


def test_below_agreement_first_answers_and_gold_failures_fill_the_queue(client, owner, annotators, staff):
    project = funded(client, owner, tasks=3, gold_ratio=0.0)
    people = staff(project)
    policy(client, project, owner, below_agreement=0.9)
    both_answer(client, project, annotators, ("positive", "positive"))
    split = both_answer(client, project, annotators, ("positive", "negative"))
    item = review_next(client, project, people["reviewer"]).get_json()
    assert (item["reason"], item["task"]["id"], item["agreement"]) == ("below_agreement", split[0]["task_id"], 0.0)
    project2 = funded(client, owner, tasks=3)
    staff(project2)
    policy(client, project2, owner, first_answers=1)
    first = both_answer(client, project2, annotators)
    both_answer(client, project2, annotators)
    seen = []
    while (got := review_next(client, project2, people["reviewer"])).status_code == 200:
        item = got.get_json()
        assert item["reason"] == "first_answers" and len(item["answers"]) == 1
        seen.append(item["annotation_id"])
        assert verdict(client, item["annotation_id"], people["reviewer"], verdict="accept").status_code == 201
    assert seen == [first[0]["id"], first[1]["id"]]  # each annotator's first answer only


def test_gold_failures_go_to_the_queue(client, owner, annotators, staff):
    project = funded(client, owner, tasks=0, qualification={"min_gold_accuracy": 0.5, "warmup_gold": 1})
    people = staff(project)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[
        {"data": {"text": "gold"}, "gold": {"labels": ["positive"]}}], headers=owner)
    policy(client, project, owner, gold_failures=True)
    lease = nxt(client, project, annotators[0]).get_json()
    wrong = answer(client, lease, annotators[0], label="negative").get_json()
    lease = nxt(client, project, annotators[1]).get_json()
    assert answer(client, lease, annotators[1], label="positive").status_code == 201
    item = review_next(client, project, people["reviewer"]).get_json()
    assert (item["reason"], item["annotation_id"], item["task"]["gold"]) == ("gold_failure", wrong["id"],
                                                                              {"labels": ["positive"]})


# ---- verdicts ----------------------------------------------------------------------------------------------------

def test_a_rejection_needs_a_reason_and_a_fix_a_valid_result(client, owner, annotators, staff):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    made = both_answer(client, project, annotators)
    for body, field in (({"verdict": "reject"}, "note"), ({"verdict": "reject", "note": "  "}, "note"),
                        ({"verdict": "fix"}, "result"), ({"verdict": "accept", "result": {"labels": ["x"]}}, "result"),
                        ({"verdict": "fix", "result": {"labels": ["no-such-label"]}}, "result.labels.0"),
                        ({"verdict": "fix", "result": {"boxes": []}}, "result.boxes"),
                        ({"verdict": "fix", "result": "positive"}, "result")):
        problem = assert_problem(verdict(client, made[0]["id"], people["reviewer"], **body), 422)
        assert field in problem["errors"], (body, problem)
    assert client.get(f"/api/v1/tasks/{made[0]['task_id']}/annotations",
                      headers=owner).get_json()["items"][0]["verdict"] is None  # nothing written


def test_a_fix_becomes_the_tasks_reviewed_result_in_consensus_and_exports(app, client, owner, annotators, staff):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    made = both_answer(client, project, annotators, ("positive", "positive"))
    before = wallet(client, annotators[0])
    fixed = verdict(client, made[0]["id"], people["reviewer"], verdict="fix", note="it is negative",
                    result={"labels": ["negative"]})
    assert fixed.status_code == 201, fixed.get_json()
    assert (fixed.get_json()["verdict"], fixed.get_json()["result"]) == ("fixed", {"labels": ["negative"]})
    assert wallet(client, annotators[0]) == before  # the fixed answer keeps its pay
    consensus = client.get(f"/api/v1/tasks/{made[0]['task_id']}/consensus", headers=owner).get_json()
    assert (consensus["result"], consensus["method"], consensus["confidence"]) == ({"labels": ["negative"]},
                                                                                   "reviewed", 1.0)
    row = orjson.loads(client.get(export(client, app, project, owner)["download_url"],
                                  headers=owner).get_data().splitlines()[0])
    assert (row["result"], row["method"], row["reviewed"]) == ({"labels": ["negative"]}, "reviewed", True)
    assert row["reviewer"].startswith("annotator-") or len(row["reviewer"]) >= 8
    assert "rev@example.org" not in orjson.dumps(row).decode()


def test_a_rejected_answer_leaves_agreement_and_consensus_and_reopens_its_task(client, owner, annotators, staff, db):
    project = funded(client, owner, tasks=1, overlap=3)
    people = staff(project)
    made = both_answer(client, project, annotators, ("negative", "positive"))
    lease = nxt(client, project, annotators[2]).get_json()
    made.append(answer(client, lease, annotators[2], label="positive").get_json())
    task_id = made[0]["task_id"]
    assert db.get(Task, task_id).status == "completed"
    before = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    rejected = verdict(client, made[1]["id"], people["reviewer"], verdict="reject", note="did not read it")
    assert rejected.status_code == 201 and rejected.get_json()["taken_back"] == 70
    db.rollback()  # a fresh snapshot
    task = db.get(Task, task_id)
    assert (task.status, task.submitted) == ("open", 2) and recount(db, task_id) == (task.leased, task.submitted)
    after = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert after["annotations"] == before["annotations"] - 1
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    assert consensus["annotations"] == 2
    # The task wants one more answer; the rejected annotator cannot give it again.
    assert nxt(client, project, annotators[1]).status_code == 204
    assert verified(client.application) == []


# ---- appeals -----------------------------------------------------------------------------------------------------

def rejected_answer(client, project, annotators, people, *, settled=True):
    """annotators[0]'s answer rejected by the reviewer: after its task settled (two agreeing answers), or while it
    waits (one answer); returns (the answer, the review)."""
    made = both_answer(client, project, annotators) if settled else [
        answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0]).get_json()]
    review = verdict(client, made[0]["id"], people["reviewer"], verdict="reject", note="looks copied")
    assert review.status_code == 201, review.get_json()
    return made[0], review.get_json()


def appeal(client, review_id, headers, reason="I read it twice"):
    return client.post(f"/api/v1/reviews/{review_id}/appeal", json={"reason": reason}, headers=headers)


def decide(client, appeal_id, headers, decision, note=""):
    return client.post(f"/api/v1/appeals/{appeal_id}/decide", json={"decision": decision, "note": note},
                       headers=headers)


@pytest.mark.parametrize("settled", [True, False])
def test_an_overturned_rejection_restores_exactly_what_was_taken_and_its_place(app, client, owner, annotators, staff,
                                                                              db, settled):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    if settled:
        made = both_answer(client, project, annotators)
        earned = wallet(client, annotators[0])
        mine, review = made[0], verdict(client, made[0]["id"], people["reviewer"], verdict="reject",
                                        note="looks copied").get_json()
    else:
        mine, review = rejected_answer(client, project, annotators, people, settled=False)
        earned = {"currency": "CNY", "balance": 0, "pending": 50, "in_flight": 0, "lifetime_earned": 50}
    assert wallet(client, annotators[0])["lifetime_earned"] == 0
    listed = client.get("/api/v1/me/annotations?verdict=rejected", headers=annotators[0]).get_json()["items"]
    assert [(a["id"], a["review_id"], a["review_note"]) for a in listed] == [(mine["id"], review["id"], "looks copied")]
    assert listed[0]["appeal_until"] is not None and listed[0]["revisable"] is False  # judged: final
    made = appeal(client, review["id"], annotators[0])
    assert made.status_code == 201 and made.get_json()["status"] == "open"
    decided = decide(client, made.get_json()["id"], people["manager"], "overturn", "it was fine")
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert (body["status"], body["note"], body["restored"]) == ("overturned", "it was fine", review["taken_back"])
    assert wallet(client, annotators[0]) == earned  # exactly what it had before the rejection
    db.rollback()  # a fresh snapshot
    answer_row = db.get(Annotation, mine["id"])
    assert answer_row.counted and db.get(Review, review["id"]).verdict == "overturned"
    assert recount(db, mine["task_id"]) == (db.get(Task, mine["task_id"]).leased,
                                            db.get(Task, mine["task_id"]).submitted)
    if not settled:  # its task completes later and settles it as any answer
        assert answer(client, nxt(client, project, annotators[1]).get_json(), annotators[1]).status_code == 201
        assert wallet(client, annotators[0])["balance"] == 70
    kinds = [line["kind"] for line in client.get("/api/v1/wallet/entries", headers=annotators[0]).get_json()["items"]]
    assert kinds[kinds.index("clawback") - 1] == "reversal"  # newest first: the take-back, then its reversal
    mine_appeals = client.get("/api/v1/me/appeals", headers=annotators[0]).get_json()["items"]
    assert [(a["id"], a["status"]) for a in mine_appeals] == [(body["id"], "overturned")]
    assert verified(app) == []


def test_an_upheld_appeal_changes_nothing_and_the_answer_stays_out(app, client, owner, annotators, staff, db):
    project = funded(client, owner, tasks=1)
    people = staff(project)
    mine, review = rejected_answer(client, project, annotators, people)
    made = appeal(client, review["id"], annotators[0]).get_json()
    before = (wallet(client, annotators[0]), budget(client, project, owner))
    decided = decide(client, made["id"], people["reviewer2"], "uphold", "still copied")
    assert decided.status_code == 200 and decided.get_json()["status"] == "upheld"
    assert (wallet(client, annotators[0]), budget(client, project, owner)) == before
    db.rollback()  # a fresh snapshot
    assert not db.get(Annotation, mine["id"]).counted
    assert verified(app) == []


def test_appeal_and_decision_refusals(app, client, owner, annotators, staff, db):
    project = funded(client, owner, tasks=2)
    people = staff(project)
    mine, review = rejected_answer(client, project, annotators, people)
    # Someone else's review: 404 (they must not learn it exists), the reviewer included.
    assert_problem(appeal(client, review["id"], annotators[1]), 404)
    assert_problem(appeal(client, review["id"], people["reviewer"]), 404)
    assert_problem(appeal(client, 999_999, annotators[0]), 404)
    for body in ({}, {"reason": ""}, {"reason": 5}, {"reason": "x" * 4001}, {"reason": "ok", "extra": 1}):
        assert assert_problem(client.post(f"/api/v1/reviews/{review['id']}/appeal", json=body,
                                          headers=annotators[0]), 422)["code"] == "invalid_fields"
    made = appeal(client, review["id"], annotators[0])
    assert made.status_code == 201
    assert assert_problem(appeal(client, review["id"], annotators[0]), 409)["code"] == "already_decided"  # twice
    appeal_id = made.get_json()["id"]
    # Deciding: the author and the rejection's reviewer are told no; an annotator of the project learns nothing.
    assert_problem(decide(client, appeal_id, annotators[0], "overturn"), 403)
    assert_problem(decide(client, appeal_id, people["reviewer"], "overturn"), 403)
    assert_problem(decide(client, appeal_id, annotators[1], "overturn"), 404)
    assert_problem(decide(client, 999_999, people["manager"], "overturn"), 404)
    for body in ({}, {"decision": "maybe"}, {"decision": "uphold", "note": 3}):
        assert_problem(client.post(f"/api/v1/appeals/{appeal_id}/decide", json=body, headers=people["manager"]), 422)
    assert decide(client, appeal_id, people["manager"], "uphold").status_code == 200
    assert assert_problem(decide(client, appeal_id, owner, "overturn"), 409)["code"] == "already_decided"
    # An acceptance cannot be appealed; a late appeal is 409 appeal_window_closed.
    other = both_answer(client, project, annotators)
    accepted = verdict(client, other[0]["id"], people["reviewer"], verdict="accept").get_json()
    assert assert_problem(appeal(client, accepted["id"], annotators[0]), 409)["code"] == "conflict"
    late = verdict(client, other[1]["id"], people["reviewer"], verdict="reject", note="no").get_json()
    db.execute(update(Review).where(Review.id == late["id"]).values(
        created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7, seconds=5)))
    db.commit()
    assert assert_problem(appeal(client, late["id"], annotators[1]), 409)["code"] == "appeal_window_closed"
    policy(client, project, owner, appeal_days=30)  # the project's window, as it is now
    assert appeal(client, late["id"], annotators[1]).status_code == 201
    listed = client.get(f"/api/v1/projects/{project['id']}/appeals?status=open", headers=people["reviewer"])
    assert [a["review_id"] for a in listed.get_json()["items"]] == [late["id"]]
    shown = listed.get_json()["items"][0]  # with the answer and the rejection, for whoever decides
    assert (shown["task_id"], shown["result"], shown["review_note"], shown["user"]["email"]) == (
        other[1]["task_id"], {"labels": ["positive"]}, "no", "a1@example.org")
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/appeals", headers=annotators[0]), 403)
    assert verified(app) == []


def test_an_overturn_the_budget_cannot_pay_back_is_409_and_writes_nothing(app, client, owner, annotators, staff, db):
    project = funded(client, owner, amount=140, tasks=1)  # two answers of 70: the budget ends empty
    people = staff(project)
    mine, review = rejected_answer(client, project, annotators, people)
    made = appeal(client, review["id"], annotators[0]).get_json()
    assert budget(client, project, owner)["balance"] == 70
    lease = nxt(client, project, annotators[2]).get_json()  # the reopened task's new answer: 70 reserved
    assert answer(client, lease, annotators[2]).status_code == 201
    assert budget(client, project, owner)["balance"] == 0
    refused = decide(client, made["id"], people["manager"], "overturn")
    assert assert_problem(refused, 409)["code"] == "insufficient_funds"
    assert client.get("/api/v1/me/appeals", headers=annotators[0]).get_json()["items"][0]["status"] == "open"
    db.rollback()  # a fresh snapshot
    assert not db.get(Annotation, mine["id"]).counted
    assert verified(app) == []


# ---- reviewers measured and paid ---------------------------------------------------------------------------------

def test_reviewers_are_paid_per_item_from_the_budget_and_measured(app, client, owner, annotators, staff, db):
    project = funded(client, owner, amount=1000, tasks=2)
    people = staff(project)
    policy(client, project, owner, sample_rate=1.0, reviewer_pay=15)
    both_answer(client, project, annotators)
    both_answer(client, project, annotators)
    spent_before = budget(client, project, owner)
    item = review_next(client, project, people["reviewer"]).get_json()
    assert budget(client, project, owner)["reserved"] == spent_before["reserved"] + 15
    first = verdict(client, item["answers"][0]["id"], people["reviewer"], verdict="accept")
    assert first.get_json()["reviewer_paid"] == 0  # one answer still waits
    second = verdict(client, item["answers"][1]["id"], people["reviewer"], verdict="reject", note="off")
    assert second.get_json()["reviewer_paid"] == 15
    assert wallet(client, people["reviewer"])["balance"] == 15
    # The second item: its lease lapses, the reservation goes back to the budget, nobody is paid.
    lapsing = review_next(client, project, people["reviewer2"]).get_json()["review_lease"]
    db.execute(update(ReviewLease).where(ReviewLease.id == lapsing["id"]).values(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    db.commit()
    reserved_before = budget(client, project, owner)["reserved"]
    assert review_next(client, project, people["manager"]).status_code == 200  # expires the lapsed one, leases anew
    assert budget(client, project, owner)["reserved"] == reserved_before  # 15 released, 15 reserved
    assert wallet(client, people["reviewer2"])["balance"] == 0
    rejected_id = item["answers"][1]["id"]
    review_id = db.scalar(select(Review.id).where(Review.annotation_id == rejected_id))
    appealed = appeal(client, review_id, annotators[1]).get_json()
    assert decide(client, appealed["id"], people["reviewer2"], "overturn").status_code == 200
    summary = client.get(f"/api/v1/projects/{project['id']}/review", headers=owner).get_json()
    assert summary["queue"]["done"] == 1 and summary["queue"]["leased"] == 1 and summary["open_appeals"] == 0
    stats = {row["user"]["email"]: row for row in summary["reviewers"]}
    mine = stats["rev@example.org"]
    assert (mine["reviews"], mine["accepted"], mine["rejected"], mine["overturned"]) == (2, 1, 1, 1)
    assert mine["median_seconds"] is not None and mine["median_seconds"] >= 0
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/review", headers=people["reviewer"]), 403)
    assert verified(app) == []


def test_an_item_someone_else_finishes_gives_the_lease_holders_reservation_back(app, client, owner, annotators,
                                                                                staff, db):
    project = funded(client, owner, amount=1000, tasks=1)
    people = staff(project)
    policy(client, project, owner, sample_rate=1.0, reviewer_pay=15)
    made = both_answer(client, project, annotators)
    reserved = budget(client, project, owner)["reserved"]
    lease = review_next(client, project, people["reviewer"]).get_json()["review_lease"]
    assert budget(client, project, owner)["reserved"] == reserved + 15
    for one in made:  # the manager judges both answers outside the queue
        assert verdict(client, one["id"], people["manager"], verdict="accept").get_json()["reviewer_paid"] == 0
    assert budget(client, project, owner)["reserved"] == reserved  # the reviewer's reservation went back
    db.rollback()
    assert db.get(ReviewLease, lease["id"]).status == "released"
    assert wallet(client, people["reviewer"])["balance"] == wallet(client, people["manager"])["balance"] == 0
    assert review_next(client, project, people["reviewer"]).status_code == 204
    assert verified(app) == []


# ---- edges the money state machine found -------------------------------------------------------------------------

def test_a_review_leases_release_does_not_stop_labelling_reservations_being_released(app, client, owner, annotators,
                                                                                     staff, db):
    from incentives import jobs as money_jobs
    from tasks import jobs as task_jobs

    project = funded(client, owner, amount=1000, tasks=2)
    people = staff(project)
    policy(client, project, owner, sample_rate=1.0, reviewer_pay=7)
    both_answer(client, project, annotators)
    lease = review_next(client, project, people["reviewer"]).get_json()["review_lease"]
    assert client.post(f"/api/v1/review-leases/{lease['id']}/release", headers=people["reviewer"]).status_code == 200
    held = nxt(client, project, annotators[2]).get_json()  # then a labelling lease lapses
    db.execute(update(Assignment).where(Assignment.id == held["assignment"]["id"]).values(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    db.commit()
    assert budget(client, project, owner)["reserved"] == 70
    with app.app_context():
        assert task_jobs.reclaim_expired_leases() == 1
        assert money_jobs.release_lapsed_reservations() == 1
    assert budget(client, project, owner)["reserved"] == 0
    assert verified(app) == []


def _rejected_then_flagged(client, project, owner, annotators):
    """a0's answer rejected (the task back to 0 answers), then a1 takes the task and flags it."""
    mine = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0]).get_json()
    rejection = verdict(client, mine["id"], owner, verdict="reject", note="no").get_json()
    flagged = nxt(client, project, annotators[1]).get_json()
    return mine, rejection, flagged


def test_an_overturn_filling_a_withheld_task_is_settled_when_the_flag_is_kept(app, client, owner, annotators, staff):
    project = funded(client, owner, amount=1000, tasks=1)
    people = staff(project)
    mine, rejection, flagged = _rejected_then_flagged(client, project, owner, annotators)
    other = nxt(client, project, annotators[2]).get_json()  # leased before the flag withholds the task
    assert client.post(f"/api/v1/assignments/{flagged['assignment']['id']}/flag", json={"reason": "other"},
                       headers=annotators[1]).status_code == 200
    assert answer(client, other, annotators[2]).status_code == 201
    made = appeal(client, rejection["id"], annotators[0]).get_json()
    assert decide(client, made["id"], people["manager"], "overturn").status_code == 200  # the task is full again
    flag_id = client.get(f"/api/v1/projects/{project['id']}/flags", headers=owner).get_json()["items"][0]["id"]
    assert client.post(f"/api/v1/flags/{flag_id}/resolve", json={"action": "keep"}, headers=owner).status_code == 200
    for who in (0, 2):
        assert wallet(client, annotators[who])["pending"] == 0 and wallet(client, annotators[who])["balance"] == 70
    assert budget(client, project, owner)["reserved"] == 0
    assert verified(app) == []


def test_an_overturn_on_a_removed_task_pays_its_base_as_the_removal_paid_the_others(app, client, owner, annotators,
                                                                                    staff):
    project = funded(client, owner, amount=1000, tasks=1)
    people = staff(project)
    mine, rejection, flagged = _rejected_then_flagged(client, project, owner, annotators)
    assert client.post(f"/api/v1/assignments/{flagged['assignment']['id']}/flag", json={"reason": "other"},
                       headers=annotators[1]).status_code == 200
    flag_id = client.get(f"/api/v1/projects/{project['id']}/flags", headers=owner).get_json()["items"][0]["id"]
    assert client.post(f"/api/v1/flags/{flag_id}/resolve", json={"action": "remove"}, headers=owner).status_code == 200
    made = appeal(client, rejection["id"], annotators[0]).get_json()
    assert decide(client, made["id"], people["manager"], "overturn").status_code == 200
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 50, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 50}
    assert budget(client, project, owner)["reserved"] == 0
    assert verified(app) == []
