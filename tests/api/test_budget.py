"""Deposits into a project's budget, the budget, and wallets, per API.md's incentives table."""
from __future__ import annotations

import pytest

from annotator.runtime import runtime
from incentives import ledger
from tests.factories import assert_problem, confirm_deposits, create_text_project


def deposits(project):
    return f"/api/v1/projects/{project['id']}/budget/deposits"


def test_a_deposit_waits_for_an_administrator_and_only_a_confirmed_one_funds_the_budget(client, owner, app,
                                                                                      make_user, token_for):
    project = create_text_project(client, owner, visibility="public")
    budget = f"/api/v1/projects/{project['id']}/budget"
    first = client.post(deposits(project), json={"amount": 1000}, headers=owner)
    assert first.status_code == 201
    assert {k: first.get_json()[k] for k in ("amount", "status", "fee")} == {"amount": 1000, "status": "pending", "fee": 0}
    second = client.post(deposits(project), json={"amount": 250}, headers=owner).get_json()
    assert client.get(budget, headers=owner).get_json()["balance"] == 0  # taken on trust no more
    admin = token_for(make_user("admin@example.org", admin=True))
    waiting = client.get("/api/v1/admin/deposits?status=pending", headers=admin).get_json()["items"]
    assert [d["id"] for d in waiting] == [second["id"], first.get_json()["id"]]  # newest first
    # The owner cannot confirm their own; another admin confirms one and rejects the other.
    assert_problem(client.post(f"/api/v1/deposits/{first.get_json()['id']}/confirm", headers=owner), 403)
    confirmed = client.post(f"/api/v1/deposits/{first.get_json()['id']}/confirm", headers=admin)  # no body: {}
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    rejected = client.post(f"/api/v1/deposits/{second['id']}/reject", json={"note": "never arrived"}, headers=admin)
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["note"] == "never arrived"
    assert client.get(budget, headers=owner).get_json() == {"currency": "CNY", "balance": 1000, "reserved": 0,
                                                            "spent": 0}
    # Decided once: a second decision is 409 and moves nothing.
    for verb in ("confirm", "reject"):
        assert_problem(client.post(f"/api/v1/deposits/{first.get_json()['id']}/{verb}", headers=admin), 409)
    assert client.get(budget, headers=owner).get_json()["balance"] == 1000
    mine = client.get(f"/api/v1/projects/{project['id']}/budget/deposits", headers=owner).get_json()["items"]
    assert [d["status"] for d in mine] == ["rejected", "confirmed"]
    assert_problem(client.post("/api/v1/deposits/999999/confirm", headers=admin), 404)
    with app.app_context():
        assert ledger.verify(runtime().session_factory()) == []


def test_a_repeated_deposit_with_its_key_is_one_deposit(client, owner, app):
    project = create_text_project(client, owner)
    headers = {**owner, "Idempotency-Key": "fund-once"}
    first = client.post(deposits(project), json={"amount": 500}, headers=headers)
    again = client.post(deposits(project), json={"amount": 500}, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    confirm_deposits(app)
    assert client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()["balance"] == 500
    other = client.post(deposits(project), json={"amount": 900}, headers=headers)
    assert_problem(other, 409)
    assert other.get_json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("amount", [-5, 0, 1.5, "100", True, 2**63, None])
def test_amounts_must_be_positive_whole_minor_units(client, owner, amount):
    project = create_text_project(client, owner)
    response = client.post(deposits(project), json={"amount": amount}, headers=owner)
    body = assert_problem(response, 422)
    assert "amount" in body["errors"]
    assert client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()["balance"] == 0


def test_only_the_owner_may_deposit_and_others_learn_nothing(client, owner, make_user, token_for):
    project = create_text_project(client, owner, visibility="public")
    stranger = token_for(make_user("stranger@example.org"))
    manager_user = make_user("manager@example.org")
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "manager@example.org",
                                                                    "role": "manager"}, headers=owner)
    for headers in (stranger, token_for(manager_user)):
        assert_problem(client.post(deposits(project), json={"amount": 10}, headers=headers), 404)
    assert_problem(client.post(deposits(project), json={"amount": 10}), 401)
    assert_problem(client.post("/api/v1/projects/999999/budget/deposits", json={"amount": 10}, headers=owner), 404)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/budget", headers=stranger), 403)


def test_a_new_contributor_has_an_empty_wallet(client, annotators):
    assert client.get("/api/v1/wallet", headers=annotators[0]).get_json() == {
        "currency": "CNY", "balance": 0, "pending": 0, "in_flight": 0, "lifetime_earned": 0}
    entries = client.get("/api/v1/wallet/entries", headers=annotators[0]).get_json()
    assert entries["items"] == [] and entries["total"] == 0
    assert_problem(client.get("/api/v1/wallet"), 401)
