"""Money from outside is bounded: one deposit, one user's day, deposits an hour; and no account can be pushed to the
database's integer limit, so nobody can stop deposits for everyone else (issue 16's drill: 9,224 deposits of 10^15
into one shared outside-world account ended in `bigint out of range` for every later deposit)."""
from __future__ import annotations

from sqlalchemy import func, select

from annotator.runtime import runtime
from incentives import ledger
from incentives.models import Account, LedgerTransaction
from tests.factories import assert_problem, confirm_deposits, create_text_project


def _deposit(client, project, headers, amount, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": amount},
                       headers={**headers, **extra})


def _postings(app) -> int:
    with runtime(app).session_factory() as session:
        return session.scalar(select(func.count()).select_from(LedgerTransaction))


def test_one_deposit_above_the_cap_is_a_422_naming_the_amount_and_writes_nothing(app, client, owner):
    app.config["ANNOTATOR_MAX_DEPOSIT"] = 500
    project = create_text_project(client, owner)
    before = _postings(app)
    body = assert_problem(_deposit(client, project, owner, 501), 422, "invalid_fields")
    assert "500" in body["errors"]["amount"][0]
    assert _postings(app) == before
    assert _deposit(client, project, owner, 500).status_code == 201


def test_a_users_deposits_in_a_day_are_capped_and_a_retry_of_one_made_still_replays(app, client, owner, make_user,
                                                                                    token_for):
    app.config["ANNOTATOR_MAX_DEPOSITS_PER_DAY"] = 1000
    project = create_text_project(client, owner)
    first = _deposit(client, project, owner, 600, key="k1")
    assert first.status_code == 201
    body = assert_problem(_deposit(client, project, owner, 500), 422, "invalid_fields")
    assert "400 are left" in body["errors"]["amount"][0]
    assert _deposit(client, project, owner, 400).status_code == 201
    again = _deposit(client, project, owner, 600, key="k1")  # the day is full, but this one was made already
    assert again.status_code == 201 and again.get_json() == first.get_json()
    other = token_for(make_user("other@example.org"))  # another user's day is their own
    assert _deposit(client, create_text_project(client, other), other, 1000).status_code == 201


def test_deposits_per_user_an_hour_are_limited(app, client, owner):
    app.config["ANNOTATOR_DEPOSITS_PER_HOUR"] = 2
    project = create_text_project(client, owner)
    for _ in range(2):
        assert _deposit(client, project, owner, 10).status_code == 201
    assert_problem(_deposit(client, project, owner, 10), 429, "rate_limited")


def test_an_account_at_the_ledgers_limit_refuses_with_409_and_others_deposit_on(app, client, owner, make_user,
                                                                                token_for, monkeypatch):
    monkeypatch.setattr(ledger, "BALANCE_LIMIT", 10_000)  # the real one, 2**62, is out of a test's reach
    project = create_text_project(client, owner)
    for _ in range(4):
        assert _deposit(client, project, owner, 2_500).status_code == 201
    confirm_deposits(app)
    before = _postings(app)
    over = _deposit(client, project, owner, 1)
    assert over.status_code == 201  # asked for: the limit bites when the money would move
    admin = token_for(make_user("admin@example.org", admin=True))
    refused = client.post(f"/api/v1/deposits/{over.get_json()['id']}/confirm", headers=admin)
    assert_problem(refused, 409, "balance_limit")  # not a 500, and nothing written
    assert _postings(app) == before
    assert client.get("/api/v1/admin/deposits?status=pending", headers=admin).get_json()["total"] == 1  # still waiting
    stranger = token_for(make_user("stranger@example.org"))
    assert _deposit(client, create_text_project(client, stranger), stranger, 1).status_code == 201
    confirm_deposits(app, [d["id"] for d in client.get("/api/v1/admin/deposits?status=pending",
                                                       headers=admin).get_json()["items"] if d["amount"] == 1
                           and d["id"] != over.get_json()["id"]])
    with runtime(app).session_factory() as session:
        worlds = session.scalars(select(Account).where(Account.kind == "outside_world")).all()
        assert sorted(w.balance for w in worlds) == [-10_000, -1]  # one per depositor
        assert ledger.verify(session) == []


def test_the_ledgers_limit_keeps_every_balance_inside_a_64_bit_integer():
    assert ledger.BALANCE_LIMIT + ledger.MAX_AMOUNT < 2**63 - 1
