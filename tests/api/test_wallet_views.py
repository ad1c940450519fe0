"""The wallet as people read it: lines grouped by task with the project and the item, filters by project and kind
with their totals, owners' spending reconciled with the ledger, bad filters refused naming the field, nobody
else's money shown, and a page's cost in statements independent of its size."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from annotator.runtime import runtime
from incentives import budgets
from incentives.models import Account, Deposit, Entry, LedgerTransaction
from tests.factories import (RATES, StatementCount, assert_problem, budget, create_text_project,
                             deposit, label_as, nxt, verified, wallet)

HERON = "The grey heron stood in the shallow water for an hour before it struck, and missed, and waited again"


def paid_project(client, app, owner, name: str, texts: list[str], amount: int = 1000, **settings) -> tuple[dict, list[int]]:
    """A paid text project of overlap 2 with these texts (external ids "<name>-<n>"), funded: (project, task ids)."""
    project = create_text_project(client, owner, **{"name": name, "visibility": "public", "overlap": 2, "rewards": RATES,
                                                    **settings})
    rows = [{"data": {"text": text}, "external_id": f"{name}-{n}"} for n, text in enumerate(texts)]
    made = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner)
    assert made.status_code == 201, made.get_json()
    deposit(client, app, project["id"], owner, amount)
    return project, made.get_json()["task_ids"]


def everyone_agrees(client, project, task_ids, people) -> None:
    for headers in people:
        label_as(client, project, headers, dict.fromkeys(task_ids, "positive"))


@pytest.fixture
def earned(app, client, owner, annotators):
    """Two projects whose two tasks annotators 0 and 1 both answered alike (every task settled: 70 each), then
    annotator 0 asked for a payout of 30."""
    first, first_tasks = paid_project(client, app, owner, "Herons", [HERON, "A short one"])
    second, second_tasks = paid_project(client, app, owner, "Egrets", ["egret one", "egret two"])
    everyone_agrees(client, first, first_tasks, annotators[:2])
    everyone_agrees(client, second, second_tasks, annotators[:2])
    assert client.post("/api/v1/payouts", json={"amount": 30}, headers=annotators[0]).status_code == 201
    return {"first": first, "second": second, "first_tasks": first_tasks, "second_tasks": second_tasks}


def groups(client, headers, query: str = "") -> dict:
    response = client.get(f"/api/v1/wallet/tasks{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def entries(client, headers, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/wallet/entries?per_page=500{'&' + query if query else ''}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_one_row_per_task_with_its_project_item_lines_and_net_and_a_payout_alone(client, annotators, earned):
    body = groups(client, annotators[0])
    assert body["total"] == 5 and len(body["items"]) == 5 and body["currency"] == "CNY"
    payout, *tasks = body["items"]  # the payout is the newest
    assert payout["task"] is None and payout["project_id"] is None and payout["kinds"] == ["payout_request"]
    assert payout["amounts"] == {"wallet_pending": 0, "wallet_available": -30, "payouts_in_flight": 30}
    assert payout["net"] == 0 and len(payout["lines"]) == 2
    assert {row["task"]["id"] for row in tasks} == set(earned["first_tasks"] + earned["second_tasks"])
    for row in tasks:
        assert row["kinds"] == ["credit", "bonus"]  # base pay; the settlement: base out of pending, base and bonus in
        assert row["amounts"] == {"wallet_pending": 0, "wallet_available": 70, "payouts_in_flight": 0}
        assert row["net"] == 70 == sum(line["amount"] for line in row["lines"])
        assert len(row["lines"]) == 4 and {line["task_id"] for line in row["lines"]} == {row["task"]["id"]}
        assert row["first_at"] <= row["last_at"] and row["key"] == f"task:{row['task']['id']}"
    heron = next(row for row in tasks if row["task"]["id"] == earned["first_tasks"][0])
    assert heron["project_name"] == "Herons" and heron["project_id"] == earned["first"]["id"]
    assert heron["task"]["external_id"] == "Herons-0"
    assert heron["task"]["preview"] == "The grey heron stood in the shallow water for an hour…"
    assert body["projects"] == [{"id": earned["second"]["id"], "name": "Egrets"},
                                {"id": earned["first"]["id"], "name": "Herons"}]
    # Newest activity first: each row's latest line is newer than the next row's.
    latest = [max(line["id"] for line in row["lines"]) for row in body["items"]]
    assert latest == sorted(latest, reverse=True)


def test_unfiltered_totals_are_the_wallets_balances_and_every_line_is_in_exactly_one_row(client, annotators, earned):
    body = groups(client, annotators[0], "?per_page=2")
    mine = wallet(client, annotators[0])
    assert body["totals"] == {"wallet_pending": mine["pending"], "wallet_available": mine["balance"],
                              "payouts_in_flight": mine["in_flight"], "net": mine["lifetime_earned"]}
    seen = []
    for page in (1, 2, 3):
        rows = groups(client, annotators[0], f"?per_page=2&page={page}")["items"]
        seen += [line["id"] for row in rows for line in row["lines"]]
    assert sorted(seen) == sorted(line["id"] for line in entries(client, annotators[0]))
    assert groups(client, annotators[0], "?per_page=2&page=4")["items"] == []


@pytest.mark.parametrize("kinds", ["bonus", "credit", "payout_request", "credit,bonus", "payout_request,payout,reversal",
                                   "clawback"])
def test_a_kind_filter_keeps_those_lines_and_its_totals_add_them_up(client, annotators, earned, kinds):
    wanted = kinds.split(",")
    body = groups(client, annotators[0], f"?kind={kinds}")
    lines = [line for row in body["items"] for line in row["lines"]]
    assert {line["kind"] for line in lines} <= set(wanted)
    listed = entries(client, annotators[0], f"kind={kinds}")
    assert sorted(line["id"] for line in lines) == sorted(line["id"] for line in listed)
    assert all(line["kind"] in wanted for line in listed)
    assert body["totals"]["net"] == sum(line["amount"] for line in listed) == sum(row["net"] for row in body["items"])
    expected_rows = {"bonus": 4, "credit": 4, "payout_request": 1, "credit,bonus": 4,
                     "payout_request,payout,reversal": 1, "clawback": 0}[kinds]
    assert body["total"] == expected_rows


def test_a_project_filter_keeps_its_tasks_and_leaves_payouts_out(client, annotators, earned):
    first = earned["first"]["id"]
    body = groups(client, annotators[0], f"?project_id={first}")
    assert body["total"] == 2 and {row["project_id"] for row in body["items"]} == {first}
    assert body["totals"] == {"wallet_pending": 0, "wallet_available": 140, "payouts_in_flight": 0, "net": 140}
    assert {line["project_id"] for line in entries(client, annotators[0], f"project_id={first}")} == {first}
    both = groups(client, annotators[0], f"?project_id={first}&kind=bonus")
    assert both["total"] == 2 and all(row["kinds"] == ["bonus"] for row in both["items"])
    assert both["totals"]["wallet_available"] == 140 and both["totals"]["wallet_pending"] == -100


def test_a_task_answered_but_not_settled_shows_its_base_pending(app, client, owner, annotators):
    project, tasks = paid_project(client, app, owner, "Waiting", ["only one"])
    label_as(client, project, annotators[0], {tasks[0]: "positive"})
    (row,) = groups(client, annotators[0])["items"]
    assert row["kinds"] == ["credit"] and row["net"] == 50
    assert row["amounts"] == {"wallet_pending": 50, "wallet_available": 0, "payouts_in_flight": 0}


@pytest.mark.parametrize("path", ["/api/v1/wallet/tasks", "/api/v1/wallet/entries"])
@pytest.mark.parametrize("query, field", [
    ("kind=settlement", "kind"), ("kind=", "kind"), ("kind=bonus,nonsense", "kind"), ("kind=deposit", "kind"),
    ("project_id=abc", "project_id"), ("project_id=0", "project_id"), ("project_id=-3", "project_id"),
    ("page=0", "page"), ("per_page=501", "per_page"), ("colour=red", "colour")])
def test_bad_filters_are_refused_naming_the_field(client, annotators, path, query, field):
    body = assert_problem(client.get(f"{path}?{query}", headers=annotators[0]), 422, "invalid_fields")
    assert list(body["errors"]) == [field]
    if field == "kind" and query != "kind=":
        assert "credit, bonus, clawback, payout_request, payout, reversal" in body["errors"]["kind"][0]


def test_the_wallet_views_need_a_signed_in_user(client):
    for path in ("/api/v1/wallet/tasks", "/api/v1/wallet/spending"):
        assert_problem(client.get(path), 401)


def test_nobody_sees_another_persons_lines_or_projects_they_never_earned_in(app, client, owner, annotators, make_user,
                                                                            token_for, earned):
    stranger = token_for(make_user("stranger@example.org"))
    hidden = create_text_project(client, stranger, name="Private things", visibility="private")
    mine = {line["id"] for line in entries(client, annotators[0])}
    theirs = {line["id"] for line in entries(client, annotators[1])}
    assert mine and theirs and not mine & theirs
    shown = {line["id"] for row in groups(client, annotators[1], "?per_page=500")["items"] for line in row["lines"]}
    assert shown == theirs  # the same tasks, only their own lines
    for headers, project_id in ((annotators[2], earned["first"]["id"]), (annotators[0], hidden["id"]),
                                (annotators[0], 999_999)):
        body = groups(client, headers, f"?project_id={project_id}")
        assert body["items"] == [] and body["total"] == 0 and body["totals"]["net"] == 0
        assert entries(client, headers, f"project_id={project_id}") == []
    assert groups(client, annotators[2])["projects"] == []
    assert "Private things" not in str(groups(client, annotators[0]))
    for headers in (annotators[0], stranger):  # neither owns the funded projects
        spent = client.get("/api/v1/wallet/spending", headers=headers).get_json()
        assert [row["project_name"] for row in spent["items"]] in ([], ["Private things"])
        assert spent["totals"]["deposited"] == 0


def _ledger_sum(app, project_id: int, kind: str) -> int:
    """A project's transactions' entries on accounts of one kind, summed straight from the ledger."""
    with runtime(app).session_factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(Entry.amount), 0))
                                  .join(Account, Account.id == Entry.account_id)
                                  .join(LedgerTransaction, LedgerTransaction.id == Entry.transaction_id)
                                  .where(LedgerTransaction.project_id == project_id, Account.kind == kind)))


def test_an_owners_spending_reconciles_with_the_ledger_and_the_budget(app, client, owner, annotators, make_user,
                                                                      token_for):
    app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 250  # 2.5% of each deposit to the platform
    try:
        first, first_tasks = paid_project(client, app, owner, "Herons", [HERON, "two", "three"], amount=1000)
        second, _ = paid_project(client, app, owner, "Egrets", ["one"], amount=400)
        deposit(client, app, first["id"], owner, 600)  # a second confirmed deposit
    finally:
        app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 0
    waiting = client.post(f"/api/v1/projects/{second['id']}/budget/deposits", json={"amount": 250}, headers=owner)
    assert waiting.status_code == 201  # not confirmed: awaiting an administrator
    everyone_agrees(client, first, first_tasks[:2], annotators[:2])  # two tasks settled
    label_as(client, first, annotators[2], {first_tasks[2]: "positive"})  # one answer waiting for its task
    nxt(client, second, annotators[0])  # a live lease: reserved
    answer_id = client.get("/api/v1/me/annotations", headers=annotators[0]).get_json()["items"][0]["id"]
    rejected = client.post(f"/api/v1/annotations/{answer_id}/review", json={"verdict": "reject", "note": "wrong"}, headers=owner)
    assert rejected.status_code == 201 and rejected.get_json()["taken_back"] == 70
    empty = create_text_project(client, owner, name="Nothing yet")

    body = client.get("/api/v1/wallet/spending", headers=owner).get_json()
    assert [row["project_name"] for row in body["items"]] == ["Nothing yet", "Egrets", "Herons"]  # newest first
    rows = {row["project_id"]: row for row in body["items"]}
    assert rows[empty["id"]] == {"project_id": empty["id"], "project_name": "Nothing yet",
                                 **dict.fromkeys(("deposited", "fees", "spent", "settled", "awaiting_settlement",
                                                  "reserved", "balance", "awaiting_confirmation"), 0)}
    herons, egrets = rows[first["id"]], rows[second["id"]]
    assert herons["deposited"] == 1600 and herons["fees"] == 25 + 15
    assert egrets["deposited"] == 400 and egrets["fees"] == 10 and egrets["awaiting_confirmation"] == 250
    # Four answers settled at 70, one of them taken back by the owner; one answer's base waits for its task.
    assert (herons["settled"], herons["awaiting_settlement"], herons["reserved"]) == (3 * 70, 50, 20)
    assert (egrets["spent"], egrets["reserved"], egrets["balance"]) == (0, 70, 400 - 10 - 70)
    for project, row in ((first, herons), (second, egrets)):
        assert row["deposited"] == row["fees"] + row["spent"] + row["reserved"] + row["balance"]
        assert row["spent"] == row["settled"] + row["awaiting_settlement"]
        shown = budget(client, project, owner)
        assert (row["balance"], row["reserved"], row["spent"]) == (shown["balance"], shown["reserved"], shown["spent"])
        assert row["deposited"] == -_ledger_sum(app, project["id"], "outside_world")
        assert row["fees"] == _ledger_sum(app, project["id"], "platform_fees")
        assert row["settled"] == _ledger_sum(app, project["id"], "wallet_available")
        assert row["awaiting_settlement"] == _ledger_sum(app, project["id"], "wallet_pending")
    with runtime(app).session_factory() as session:
        confirmed = session.scalars(select(Deposit).where(Deposit.status == "confirmed")).all()
        assert sum(d.amount for d in confirmed) == herons["deposited"] + egrets["deposited"]
        assert sum(budgets.fee_for(d) for d in confirmed) == herons["fees"] + egrets["fees"]
    assert body["totals"] == {name: sum(row[name] for row in body["items"]) for name in body["totals"]}
    assert body["total"] == 3 and body["currency"] == "CNY"
    assert verified(app) == []


def test_spending_pages_and_an_owner_sees_only_their_own_projects(app, client, owner, make_user, token_for):
    other = token_for(make_user("other-owner@example.org"))
    for n in range(3):
        create_text_project(client, owner, name=f"Mine {n}")
    theirs = create_text_project(client, other, name="Theirs", visibility="public")
    deposit(client, app, theirs["id"], other, 500)
    first = client.get("/api/v1/wallet/spending?per_page=2", headers=owner).get_json()
    second = client.get("/api/v1/wallet/spending?per_page=2&page=2", headers=owner).get_json()
    assert [row["project_name"] for row in first["items"] + second["items"]] == ["Mine 2", "Mine 1", "Mine 0"]
    assert first["total"] == second["total"] == 3 and first["totals"]["deposited"] == 0
    assert [row["project_name"] for row in client.get("/api/v1/wallet/spending", headers=other).get_json()["items"]] \
        == ["Theirs"]
    assert_problem(client.get("/api/v1/wallet/spending?per_page=0", headers=owner), 422)
    assert_problem(client.get("/api/v1/wallet/spending?project_id=1", headers=owner), 422)


def test_a_page_of_fifty_rows_costs_the_statements_a_page_of_five_does(app, client, owner, annotators):
    project, tasks = paid_project(client, app, owner, "Many", [f"item {n}" for n in range(55)], amount=10_000,
                                  overlap=1)
    label_as(client, project, annotators[0], dict.fromkeys(tasks, "positive"))
    for n in range(4):
        create_text_project(client, owner, name=f"Spare {n}")
    costs = {}
    for path, key in (("/api/v1/wallet/tasks", "tasks"), ("/api/v1/wallet/spending", "spending")):
        headers = annotators[0] if key == "tasks" else owner
        for size in (2, 5, 50):
            with StatementCount(app) as seen:
                body = client.get(f"{path}?per_page={size}", headers=headers).get_json()
            assert len(body["items"]) == min(size, 55 if key == "tasks" else 5)
            costs[key, size] = len(seen)
    assert costs["tasks", 2] == costs["tasks", 5] == costs["tasks", 50], costs
    assert costs["spending", 2] == costs["spending", 5] == costs["spending", 50], costs
    assert costs["tasks", 50] <= 8 and costs["spending", 50] <= 8, costs  # the user, then six or five reads
