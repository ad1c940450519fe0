"""Payouts, reviewers' rejections taking credits back, platform fees, the leaderboard, the admin's ledger check."""
from __future__ import annotations

import pytest

from tests.factories import (answer, assert_problem, budget, confirm_deposits, create_text_project, funded, nxt,
                             verified, wallet)


@pytest.fixture
def admin(make_user, token_for):
    return token_for(make_user("admin@example.org", admin=True))


def earn(client, owner, annotators, tasks=1):
    """annotators[0] and [1] agree on `tasks` tasks of a 50 + 20 project: 70 available each per task."""
    project = funded(client, owner, tasks=tasks)
    for _ in range(tasks):
        for headers in annotators[:2]:
            assert answer(client, nxt(client, project, headers).get_json(), headers, label="positive").status_code == 201
    return project


def pay(client, headers, amount, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/payouts", json={"amount": amount}, headers={**headers, **extra})


def test_a_payout_moves_money_into_flight_and_an_admin_approves_it(app, client, owner, annotators, admin):
    earn(client, owner, annotators)
    made = pay(client, annotators[0], 60)
    assert made.status_code == 201
    payout = made.get_json()
    assert payout["status"] == "pending" and payout["amount"] == 60
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 10, "pending": 0, "in_flight": 60,
                                             "lifetime_earned": 70}
    listed = client.get("/api/v1/admin/payouts?status=pending", headers=admin).get_json()
    assert [p["id"] for p in listed["items"]] == [payout["id"]]
    approved = client.post(f"/api/v1/payouts/{payout['id']}/approve", json={}, headers=admin)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 10, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 70}
    mine = client.get("/api/v1/payouts", headers=annotators[0]).get_json()["items"]
    assert [(p["id"], p["status"]) for p in mine] == [(payout["id"], "approved")]
    assert verified(app) == []


def test_a_rejected_payout_returns_the_money(app, client, owner, annotators, admin):
    earn(client, owner, annotators)
    payout = pay(client, annotators[0], 70).get_json()
    rejected = client.post(f"/api/v1/payouts/{payout['id']}/reject", json={"note": "bank details missing"},
                           headers=admin)
    assert rejected.status_code == 200 and rejected.get_json()["note"] == "bank details missing"
    assert wallet(client, annotators[0])["balance"] == 70
    again = client.post(f"/api/v1/payouts/{payout['id']}/approve", json={}, headers=admin)
    assert assert_problem(again, 409)["code"] == "already_decided"
    assert wallet(client, annotators[0])["balance"] == 70
    assert verified(app) == []


def test_a_payout_above_the_balance_is_422_and_moves_nothing(app, client, owner, annotators):
    earn(client, owner, annotators)
    refused = pay(client, annotators[0], 71)
    problem = assert_problem(refused, 422)
    assert problem["code"] == "above_balance" and "70" in problem["errors"]["amount"][0]
    assert "0.70 CNY (70 minor units)" in problem["errors"]["amount"][0]  # in money first, then minor units
    assert problem["detail"] == "You asked for more than your available balance."  # said once, not twice
    assert assert_problem(pay(client, annotators[2], 1), 422)["code"] == "above_balance"  # never earned anything
    assert wallet(client, annotators[0])["balance"] == 70
    assert client.get("/api/v1/payouts", headers=annotators[0]).get_json()["total"] == 0


@pytest.mark.parametrize("amount", [-5, 0, 2.5, "10", 2**63, None, True, 10**15 + 1])
def test_bad_payout_amounts_are_422(app, client, owner, annotators, amount):
    earn(client, owner, annotators)
    problem = assert_problem(pay(client, annotators[0], amount), 422)
    assert "amount" in problem["errors"]
    assert wallet(client, annotators[0])["balance"] == 70


def test_a_payout_body_with_extra_fields_or_none_is_refused(app, client, owner, annotators):
    earn(client, owner, annotators)
    assert assert_problem(client.post("/api/v1/payouts", json={"amount": 5, "to": "me"}, headers=annotators[0]),
                          422)["errors"]["to"]
    assert client.post("/api/v1/payouts", data="nope", headers={**annotators[0], "Content-Type": "application/json"}
                       ).status_code == 400
    assert wallet(client, annotators[0])["balance"] == 70


def test_an_idempotent_payout_request_pays_once_and_the_key_cannot_change_the_body(app, client, owner, annotators):
    earn(client, owner, annotators)
    first = pay(client, annotators[0], 30, key="payout-1")
    again = pay(client, annotators[0], 30, key="payout-1")
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert wallet(client, annotators[0])["in_flight"] == 30
    assert assert_problem(pay(client, annotators[0], 40, key="payout-1"), 409)["code"] == "idempotency_key_reused"
    assert wallet(client, annotators[0])["in_flight"] == 30


def test_nobody_decides_their_own_payout_and_non_admins_decide_none(app, client, owner, annotators, make_user,
                                                                    token_for):
    earn(client, owner, annotators)
    theirs = pay(client, annotators[0], 10).get_json()
    own = client.post(f"/api/v1/payouts/{theirs['id']}/approve", json={}, headers=annotators[0])
    assert assert_problem(own, 403)["code"] == "forbidden"
    other = client.post(f"/api/v1/payouts/{theirs['id']}/approve", json={}, headers=annotators[1])
    assert_problem(other, 404)  # not theirs to know about
    assert_problem(client.post("/api/v1/payouts/999999/reject", json={}, headers=annotators[1]), 404)
    # An admin who earned money cannot approve their own payout either.
    earner = make_user("earning-admin@example.org", admin=True)
    admin_headers = token_for(earner)
    project = funded(client, owner, tasks=1)
    for headers in (admin_headers, annotators[2]):
        assert answer(client, nxt(client, project, headers).get_json(), headers, label="positive").status_code == 201
    mine = pay(client, admin_headers, 70).get_json()
    refused = client.post(f"/api/v1/payouts/{mine['id']}/approve", json={}, headers=admin_headers)
    assert assert_problem(refused, 403)["code"] == "forbidden"
    assert wallet(client, admin_headers)["in_flight"] == 70
    assert assert_problem(client.get("/api/v1/admin/payouts", headers=annotators[0]), 403)
    assert client.post(f"/api/v1/payouts/{theirs['id']}/approve", json={}, headers=admin_headers).status_code == 200
    assert verified(app) == []


def test_a_reviewers_rejection_after_settlement_takes_the_credits_back(app, client, owner, annotators, make_user,
                                                                       token_for):
    project = earn(client, owner, annotators)
    reviewer_user = make_user("reviewer@example.org")
    reviewer = token_for(reviewer_user)
    assert client.post(f"/api/v1/projects/{project['id']}/members",
                       json={"email": "reviewer@example.org", "role": "reviewer"}, headers=owner).status_code == 201
    first = _answer_of(client, project, owner, annotators[0])
    before = budget(client, project, owner)
    made = client.post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "reject", "note": "sloppy"},
                       headers=reviewer)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["verdict"] == "rejected" and made.get_json()["taken_back"] == 70
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 0, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 0}
    assert wallet(client, annotators[1])["balance"] == 70  # the other answer keeps its pay
    after = budget(client, project, owner)
    assert after["balance"] == before["balance"] + 70 and after["spent"] == before["spent"] - 70
    memos = [line["memo"] for line in client.get("/api/v1/wallet/entries", headers=annotators[0]).get_json()["items"]]
    assert memos[0].startswith("rejected by a reviewer")
    again = client.post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "accept"}, headers=reviewer)
    assert assert_problem(again, 409)["code"] == "already_decided"
    assert verified(app) == []


def test_a_rejection_before_settlement_takes_the_pending_base_and_the_settlement_skips_it(app, client, owner,
                                                                                          annotators):
    project = funded(client, owner, tasks=1)
    lease = nxt(client, project, annotators[0]).get_json()
    saved = answer(client, lease, annotators[0], label="positive").get_json()
    made = client.post(f"/api/v1/annotations/{saved['id']}/review", json={"verdict": "reject", "note": "wrong"},
                       headers=owner)
    assert made.status_code == 201 and made.get_json()["taken_back"] == 50
    assert wallet(client, annotators[0])["pending"] == 0
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 1000, "reserved": 0, "spent": 0}
    # The rejected answer left the task's count: it takes two more answers (overlap 2) to complete it.
    assert answer(client, nxt(client, project, annotators[1]).get_json(), annotators[1],
                  label="positive").status_code == 201
    assert wallet(client, annotators[1]) == {"currency": "CNY", "balance": 0, "pending": 50, "in_flight": 0,
                                             "lifetime_earned": 50}
    assert answer(client, nxt(client, project, annotators[2]).get_json(), annotators[2],
                  label="positive").status_code == 201  # completes the task: settles the two others only
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 0, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 0}
    assert wallet(client, annotators[1])["balance"] == wallet(client, annotators[2])["balance"] == 70
    assert verified(app) == []


def test_a_rejection_after_the_money_was_paid_out_is_409_and_changes_nothing(app, client, owner, annotators, admin):
    project = earn(client, owner, annotators)
    payout = pay(client, annotators[0], 70).get_json()
    assert client.post(f"/api/v1/payouts/{payout['id']}/approve", json={}, headers=admin).status_code == 200
    first = _answer_of(client, project, owner, annotators[0])
    refused = client.post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "reject", "note": "wrong"},
                       headers=owner)
    assert assert_problem(refused, 409)["code"] == "insufficient_funds"
    # Nothing was recorded: the verdict can still be given once the situation is settled.
    assert client.post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "accept"},
                       headers=owner).status_code == 201
    assert verified(app) == []


def test_reviews_are_for_staff_and_never_of_your_own_answer(app, client, owner, annotators):
    project = funded(client, owner, tasks=1)
    saved = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="positive").get_json()
    assert_problem(client.post(f"/api/v1/annotations/{saved['id']}/review", json={"verdict": "reject", "note": "wrong"},
                               headers=annotators[1]), 404)
    assert_problem(client.post(f"/api/v1/annotations/{saved['id']}/review", json={"verdict": "reject", "note": "wrong"},
                               headers=annotators[0]), 404)  # an annotator is not staff, even of their own answer
    assert_problem(client.post("/api/v1/annotations/999999/review", json={"verdict": "reject", "note": "wrong"},
                       headers=owner), 404)
    for body in ({"verdict": "maybe"}, {}, {"verdict": "reject", "extra": 1}, {"verdict": "reject", "note": 5}):
        assert assert_problem(client.post(f"/api/v1/annotations/{saved['id']}/review", json=body, headers=owner),
                              422)["code"] == "invalid_fields"
    assert wallet(client, annotators[0])["pending"] == 50


def test_a_reviewer_cannot_review_their_own_answer(app, client, owner, annotators):
    project = funded(client, owner, tasks=1)
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "a0@example.org", "role": "reviewer"},
                headers=owner)
    saved = answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0], label="positive").get_json()
    refused = client.post(f"/api/v1/annotations/{saved['id']}/review", json={"verdict": "accept"},
                          headers=annotators[0])
    assert assert_problem(refused, 403)["code"] == "forbidden"


def test_a_platform_fee_takes_its_share_of_each_deposit(app, client, owner):
    app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 250  # 2.5%
    project = create_text_project(client, owner)
    made = client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": 1001}, headers=owner)
    assert made.status_code == 201
    assert made.get_json()["fee"] == 25  # 1001 * 0.025 = 25.025: floor
    app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 500  # the rate when it was asked for holds
    confirm_deposits(app)
    assert budget(client, project, owner)["balance"] == 976
    assert verified(app) == []


def test_the_leaderboard_ranks_by_settled_earnings_then_agreement(app, client, owner, annotators):
    project = funded(client, owner, tasks=2, overlap=3)
    for headers, labels in zip(annotators, (["positive", "positive"], ["positive", "negative"],
                                            ["negative", "negative"])):
        for label in labels:
            assert answer(client, nxt(client, project, headers).get_json(), headers, label=label).status_code == 201
    board = client.get(f"/api/v1/projects/{project['id']}/leaderboard", headers=annotators[2])
    assert board.status_code == 200
    rows = board.get_json()["items"]
    ids = [_user_id(client, h) for h in annotators]
    # Both tasks complete (overlap 3). The majority agrees with annotators[0] on both, with [1] on both too
    # (task 1 positive 2:1, task 2 negative 2:1): [0] 70 + 50, [1] 70 + 70, [2] 50 + 70.
    earned = {row["user_id"]: row["earned"] for row in rows}
    assert sum(earned.values()) == budget(client, project, owner)["spent"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    assert rows[0]["user_id"] == ids[1] and rows[0]["earned"] == 140
    assert {rows[1]["user_id"], rows[2]["user_id"]} == {ids[0], ids[2]}
    assert all(row["accepted"] == 2 and row["rejected"] == 0 for row in rows)
    assert rows[0]["agreement_with_consensus"] is not None
    outsider = client.get(f"/api/v1/projects/{project['id']}/leaderboard", headers=owner)
    assert outsider.status_code == 200


def test_the_leaderboard_is_for_those_who_can_see_the_project(app, client, owner, annotators):
    project = create_text_project(client, owner)  # private
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/leaderboard", headers=annotators[0]), 404)
    assert client.get(f"/api/v1/projects/{project['id']}/leaderboard", headers=owner).get_json()["items"] == []


def test_a_tasks_answers_carry_their_verdicts_for_staff_only(app, client, owner, annotators):
    project = earn(client, owner, annotators)
    first = _answer_of(client, project, owner, annotators[0])
    client.post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "accept"}, headers=owner)
    listed = client.get(f"/api/v1/tasks/{first['task_id']}/annotations", headers=owner).get_json()
    assert listed["total"] == 2
    assert [a["verdict"] for a in listed["items"]] == ["accepted", None]
    assert listed["items"][0]["result"] == {"labels": ["positive"]}
    assert_problem(client.get(f"/api/v1/tasks/{first['task_id']}/annotations", headers=annotators[0]), 404)


def test_the_admin_ledger_check(app, client, owner, annotators, admin):
    earn(client, owner, annotators)
    checked = client.get("/api/v1/admin/ledger/verify", headers=admin)
    assert checked.status_code == 200 and checked.get_json() == {"ok": True, "breaches": []}
    assert_problem(client.get("/api/v1/admin/ledger/verify", headers=owner), 403)
    assert_problem(client.get("/api/v1/admin/ledger/verify"), 401)


def _user_id(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).get_json()["id"]


def _answer_of(client, project, owner, headers) -> dict:
    task = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"][0]
    answers = client.get(f"/api/v1/tasks/{task['id']}/annotations", headers=owner).get_json()["items"]
    return next(a for a in answers if a["user_id"] == _user_id(client, headers))
