"""Money follows the work: reserve on lease, pending on submit, available with a bonus on completion."""
from __future__ import annotations

import pytest

from annotator.runtime import runtime
from incentives import ledger
from tests.factories import RATES, answer, assert_problem, budget, create_text_project, funded, nxt, verified, wallet


def test_pending_on_submit_then_available_with_the_bonus_when_the_task_completes(app, client, owner, annotators):
    project = funded(client, owner, tasks=1)
    first = nxt(client, project, annotators[0]).get_json()
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 930, "reserved": 70, "spent": 0}
    assert answer(client, first, annotators[0], label="positive").status_code == 201
    assert wallet(client, annotators[0])["pending"] == 50
    assert budget(client, project, owner)["reserved"] == 20  # the bonus part waits for the consensus
    second = nxt(client, project, annotators[1]).get_json()
    assert answer(client, second, annotators[1], label="positive").status_code == 201  # agrees: task complete
    for headers in annotators[:2]:
        assert wallet(client, headers) == {"currency": "CNY", "balance": 70, "pending": 0, "in_flight": 0,
                                           "lifetime_earned": 70}
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 860, "reserved": 0, "spent": 140}
    lines = client.get("/api/v1/wallet/entries", headers=annotators[0]).get_json()["items"]
    memos = [line["memo"] for line in lines]
    assert any(m.startswith("50 base + 20 bonus: 1.00 agreement on task") for m in memos)
    assert any(m.startswith("50 base on task") for m in memos)
    assert verified(app) == []


def test_a_wrong_answer_earns_the_base_and_its_unearned_bonus_returns_to_the_budget(app, client, owner, annotators):
    project = funded(client, owner, tasks=1, overlap=3)
    for headers, label in zip(annotators, ["positive", "positive", "negative"]):
        assert answer(client, nxt(client, project, headers).get_json(), headers, label=label).status_code == 201
    assert [wallet(client, h)["balance"] for h in annotators] == [70, 70, 50]
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 1000 - 190, "reserved": 0, "spent": 190}
    assert verified(app) == []


def test_skips_give_the_reservation_back_and_an_empty_budget_says_budget_exhausted(app, client, owner, annotators):
    project = funded(client, owner, amount=100, tasks=3)
    lease = nxt(client, project, annotators[0]).get_json()  # 70 reserved, 30 left: not enough for another
    refused = nxt(client, project, annotators[1])
    assert assert_problem(refused, 409)["code"] == "budget_exhausted"
    client.post(f"/api/v1/assignments/{lease['assignment']['id']}/skip", json={}, headers=annotators[0])
    assert budget(client, project, owner)["reserved"] == 0
    assert nxt(client, project, annotators[1]).status_code == 200  # the skip's reservation paid for this one
    assert verified(app) == []


def test_projects_that_pay_nothing_post_nothing(app, client, owner, annotators):
    project = create_text_project(client, owner, visibility="public", overlap=1)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}], headers=owner)
    assert answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0]).status_code == 201
    assert wallet(client, annotators[0])["lifetime_earned"] == 0
    assert budget(client, project, owner)["balance"] == 0


@pytest.mark.parametrize("times", [2])
def test_a_retried_submit_pays_once(app, client, owner, annotators, times):
    project = funded(client, owner, tasks=1)
    lease = nxt(client, project, annotators[0]).get_json()
    headers = {**annotators[0], "Idempotency-Key": "submit-once"}
    for _ in range(times):
        assert answer(client, lease, headers, label="positive").status_code == 201
    assert wallet(client, annotators[0])["pending"] == 50 and verified(app) == []


def test_an_expired_lease_gives_its_reservation_back_through_the_minutely_job(app, client, owner, annotators, db):
    import datetime as dt

    from sqlalchemy import update

    from incentives import jobs as money_jobs
    from tasks import jobs as task_jobs
    from tasks.models import Assignment

    project = funded(client, owner, tasks=1)
    lease = nxt(client, project, annotators[0]).get_json()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    db.execute(update(Assignment).where(Assignment.id == lease["assignment"]["id"]).values(expires_at=past))
    db.commit()
    with app.app_context():
        assert task_jobs.reclaim_expired_leases() == 1
        assert money_jobs.release_lapsed_reservations() == 1
        assert money_jobs.release_lapsed_reservations() == 0  # nothing left to give back
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 1000, "reserved": 0, "spent": 0}
    assert verified(app) == []


def test_verify_notices_reserve_money_no_lease_accounts_for(app, client, owner, annotators):
    from annotator.db import utcnow
    from incentives.ledger import Leg

    project = funded(client, owner, tasks=1)
    nxt(client, project, annotators[0])
    assert verified(app) == []
    with app.app_context():
        session = runtime().session_factory()
        budget_account = ledger.account(session, "project_budget", project_id=project["id"])
        reserve_account = ledger.account(session, "project_reserve", project_id=project["id"])
        ledger.post(session, "stray", "transfer", [Leg(budget_account, -5), Leg(reserve_account, 5)], utcnow())
        session.commit()
        session.close()
    breaches = verified(app)
    assert breaches == [f"project {project['id']}'s reserve holds 75 but its leases have 70 reserved"]


def test_skipping_in_a_project_that_pays_nothing_touches_no_ledger(app, client, owner, annotators):
    from sqlalchemy import func, select

    from incentives.models import Account

    project = create_text_project(client, owner, visibility="public", overlap=1)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "x"}}], headers=owner)
    lease = nxt(client, project, annotators[0]).get_json()
    client.post(f"/api/v1/assignments/{lease['assignment']['id']}/skip", json={}, headers=annotators[0])
    with app.app_context():
        session = runtime().session_factory()
        assert session.scalar(select(func.count()).select_from(Account)) == 0
        session.close()


def test_a_rate_change_mid_task_settles_what_was_credited(app, client, owner, annotators):
    """Raising per_annotation while an answer waits in pending: its settlement moves what its credit put there."""
    project = funded(client, owner, tasks=1)
    assert answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0],
                  label="positive").status_code == 201
    assert client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"per_annotation": 60}},
                        headers=owner).status_code == 200
    second = nxt(client, project, annotators[1]).get_json()
    assert answer(client, second, annotators[1], label="positive").status_code == 201  # completes the task
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 70, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 70}  # credited 50, bonus 20
    assert wallet(client, annotators[1])["balance"] == 80  # credited 60 after the change, bonus 20
    assert budget(client, project, owner)["reserved"] == 0 and verified(app) == []


def test_a_rate_raised_while_a_lease_lives_pays_that_lease_at_the_rate_it_reserved(app, client, owner, annotators):
    """The drill's finding: with the budget just big enough for the leases taken, an owner raising per_annotation
    made the annotator's submit a 409 budget_exhausted, and the finished work was lost."""
    project = funded(client, owner, amount=140, tasks=1)  # two leases of 70: nothing left over
    leases = [nxt(client, project, headers).get_json() for headers in annotators[:2]]
    assert budget(client, project, owner)["balance"] == 0
    assert client.patch(f"/api/v1/projects/{project['id']}", json={"rewards": {"per_annotation": 90}},
                        headers=owner).status_code == 200
    for lease, headers in zip(leases, annotators[:2]):
        assert answer(client, lease, headers, label="positive").status_code == 201
    for headers in annotators[:2]:
        assert wallet(client, headers)["balance"] == 70  # 50 base + 20 bonus, as reserved
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 0, "reserved": 0, "spent": 140}
    assert verified(app) == []
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "more"}}], headers=owner)
    assert_problem(nxt(client, project, annotators[2]), 409, "budget_exhausted")  # new leases reserve the new rate


def test_removing_a_flagged_task_pays_the_answers_it_already_had_their_base(app, client, owner, annotators, db):
    from sqlalchemy import select

    from tasks.models import Flag

    project = funded(client, owner, tasks=1)
    assert answer(client, nxt(client, project, annotators[0]).get_json(), annotators[0],
                  label="positive").status_code == 201
    lease = nxt(client, project, annotators[1]).get_json()
    assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/flag", json={"reason": "sensitive"},
                       headers=annotators[1]).status_code == 200
    flag_id = db.scalar(select(Flag.id))
    assert client.post(f"/api/v1/flags/{flag_id}/resolve", json={"action": "remove"}, headers=owner).status_code == 200
    assert wallet(client, annotators[0]) == {"currency": "CNY", "balance": 50, "pending": 0, "in_flight": 0,
                                             "lifetime_earned": 50}  # the base; no bonus on a withdrawn task
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 950, "reserved": 0, "spent": 50}
    lines = client.get("/api/v1/wallet/entries", headers=annotators[0]).get_json()["items"]
    assert lines[0]["memo"].startswith("50 base + no bonus: task")
    assert verified(app) == []


def test_a_lease_refused_for_want_of_budget_is_paid_from_what_an_ended_lease_still_held(app, client, owner,
                                                                                        annotators, db):
    """The budget covers one lease. A's lease lapses and is reclaimed, its reservation not yet given back; B's
    lease is refused by the late guard, the ended lease's reservation is released in the same request, and the
    refused move is applied again: B gets the lease, and the books balance."""
    import datetime as dt

    from sqlalchemy import update

    from tasks import jobs as task_jobs
    from tasks.models import Assignment

    most = RATES["per_annotation"] + RATES["agreement_bonus"]
    project = funded(client, owner, amount=most, tasks=2)
    first = nxt(client, project, annotators[0]).get_json()
    assert nxt(client, project, annotators[1]).get_json()["code"] == "budget_exhausted"
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    db.execute(update(Assignment).where(Assignment.id == first["assignment"]["id"]).values(expires_at=past))
    db.commit()
    with app.app_context():
        assert task_jobs.reclaim_expired_leases() == 1  # ended, but its money is still reserved
    assert budget(client, project, owner)["reserved"] == most
    second = nxt(client, project, annotators[1])
    assert second.status_code == 200, second.get_json()
    assert budget(client, project, owner) == {"currency": "CNY", "balance": 0, "reserved": most, "spent": 0}
    assert verified(app) == []
