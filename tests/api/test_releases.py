"""Data contribution shares (issue 24): dataset releases, quality-weighted shares summing exactly to the scale,
revenue split through the ledger exactly and idempotently, revenue-sharing terms."""
from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from incentives import ledger
from incentives.ledger import Leg
from incentives.models import LedgerTransaction, Revenue
from incentives.shares import SHARE_SCALE
from annotator.runtime import runtime
from tests.factories import (answer, assert_problem, export, funded, in_parallel, invoke, nxt, person, verified,
                             wallet)

# Three annotators, three tasks of overlap 3: a0 is always with the majority, a1 once, a2 twice.
LABELS = [("positive", "positive", "positive"), ("positive", "negative", "positive"),
          ("negative", "positive", "positive")]


def labelled(client, owner, annotators, **settings):
    project = funded(client, owner, amount=10_000, tasks=len(LABELS), overlap=3, **settings)
    made = {}
    for _ in range(len(LABELS)):
        for who in range(3):
            lease = nxt(client, project, annotators[who]).get_json()
            task_row = int(lease["task"]["data"]["text"][1:])  # funded's tasks say t0, t1, ...
            response = answer(client, lease, annotators[who], label=LABELS[task_row][who])
            assert response.status_code == 201, response.get_json()
            made[(task_row, who)] = response.get_json()
    return project, made


def expected_shares(weights: dict[int, float]) -> dict[int, int]:
    """The published rule written out here: floor of each exact quota, the units left to the largest remainders."""
    whole = sum(Fraction(w) for w in weights.values())
    quotas = {k: Fraction(w) * SHARE_SCALE / whole for k, w in weights.items()}
    parts = {k: math.floor(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - parts[k]), k))[:SHARE_SCALE - sum(parts.values())]:
        parts[k] += 1
    return parts


def release(client, project, owner, export_id, name="v1"):
    return client.post(f"/api/v1/projects/{project['id']}/releases", json={"export_id": export_id, "name": name},
                       headers=owner)


def revenue(client, release_id, headers, amount, key, memo="licence sale"):
    return client.post(f"/api/v1/releases/{release_id}/revenue", json={"amount": amount, "memo": memo},
                       headers={**headers, "Idempotency-Key": key})


def test_a_release_shares_by_informative_agreement_and_revenue_splits_exactly(app, client, owner, annotators):
    project, made = labelled(client, owner, annotators)
    ids = [client.get("/api/v1/me", headers=h).get_json()["id"] for h in annotators]
    done = export(client, app, project, owner)
    made_release = release(client, project, owner, done["id"])
    assert made_release.status_code == 201, made_release.get_json()
    body = made_release.get_json()
    assert body["share_scale"] == SHARE_SCALE == 100_000_000 and body["sha256"] == done["sha256"]
    shares = {row["user_id"]: row["share"] for row in body["contributions"]}
    assert sum(shares.values()) == SHARE_SCALE
    # Task 0: 3 of 3 agree (log2(4/3) bits each); tasks 1 and 2: 2 of 3 (1 bit to each of the two who agreed):
    # a0 agreed on tasks 0 and 1, a1 on 0 and 2, a2 on all three.
    easy, hard = math.log2(4 / 3), 1.0
    weights = {ids[0]: easy + hard, ids[1]: easy + hard, ids[2]: easy + 2 * hard}
    assert shares == expected_shares(weights)
    card = body["card"]
    assert sum(c["share"] for c in card["contributors"]) == SHARE_SCALE
    assert all(c["contributor"].startswith("a_") and "@" not in c["contributor"] for c in card["contributors"])

    before = {n: wallet(client, annotators[n])["balance"] for n in range(3)}
    owners_money = (client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json(),
                    client.get("/api/v1/wallet/spending", headers=owner).get_json())
    app.config["ANNOTATOR_PLATFORM_FEE_BPS"] = 250
    first = revenue(client, body["id"], owner, 1_000_001, "sale-1")
    assert first.status_code == 201, first.get_json()
    paid = first.get_json()
    assert paid["fee"] == 25_000 and sum(p["amount"] for p in paid["paid"]) + paid["fee"] == 1_000_001
    again = revenue(client, body["id"], owner, 1_000_001, "sale-1")  # the same key: the same reply, posted once
    assert again.status_code == 201 and again.get_json() == paid
    assert assert_problem(revenue(client, body["id"], owner, 5, "sale-1"), 409)["code"] == "idempotency_key_reused"
    second = revenue(client, body["id"], owner, 7, "grant-1", memo="a small grant")
    assert second.status_code == 201 and sum(p["amount"] for p in second.get_json()["paid"]) + \
        second.get_json()["fee"] == 7
    for n in range(3):
        got = sum(p["amount"] for r in (paid, second.get_json()) for p in r["paid"] if p["user_id"] == ids[n])
        assert wallet(client, annotators[n])["balance"] == before[n] + got
    mine = client.get("/api/v1/me/contributions", headers=annotators[1]).get_json()["items"]
    assert [(c["release_id"], c["share"], c["name"]) for c in mine] == [(body["id"], shares[ids[1]], "v1")]
    assert mine[0]["earned"] == sum(p["amount"] for r in (paid, second.get_json()) for p in r["paid"]
                                    if p["user_id"] == ids[1])
    # Revenue never was the project's budget: neither its spending nor its deposits move.
    assert (client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json(),
            client.get("/api/v1/wallet/spending", headers=owner).get_json()) == owners_money
    history = client.get(f"/api/v1/releases/{body['id']}/revenue", headers=owner).get_json()
    assert [r["amount"] for r in history["items"]] == [7, 1_000_001]
    assert client.get(f"/api/v1/releases/{body['id']}", headers=owner).get_json()["revenue"] == 1_000_008
    assert verified(app) == []
    assert invoke(app, "ledger", "verify").exit_code == 0


def test_rejected_and_disqualified_work_earns_no_share(app, client, owner, annotators):
    project, made = labelled(client, owner, annotators)
    rejected = client.post(f"/api/v1/annotations/{made[(0, 2)]['id']}/review",
                           json={"verdict": "reject", "note": "copied"}, headers=owner)
    assert rejected.status_code == 201
    assert nxt(client, project, annotators[0]).status_code == 204  # the task reopened; a0 answered it already
    done = export(client, app, project, owner)
    body = release(client, project, owner, done["id"]).get_json()
    a2 = client.get("/api/v1/me", headers=annotators[2]).get_json()["id"]
    row = next(r for r in body["contributions"] if r["user_id"] == a2)
    assert row["answers"] == 2  # its rejected answer on task 0 is not one of them


def test_an_account_whose_every_answer_was_rejected_is_listed_with_nothing(app, client, owner, annotators,
                                                                           make_user, token_for):
    project, _made = labelled(client, owner, annotators)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "spam me"}}], headers=owner)
    spammer = token_for(make_user("spam@example.org"))
    lease = nxt(client, project, spammer).get_json()
    spam = answer(client, lease, spammer, label="species").get_json()
    assert client.post(f"/api/v1/annotations/{spam['id']}/review", json={"verdict": "reject", "note": "spam"},
                       headers=owner).status_code == 201
    body = release(client, project, owner, export(client, app, project, owner)["id"]).get_json()
    spam_id = client.get("/api/v1/me", headers=spammer).get_json()["id"]
    row = next(r for r in body["contributions"] if r["user_id"] == spam_id)
    assert (row["share"], row["answers"], row["reason"]) == (0, 0, "rejected")
    assert sum(r["share"] for r in body["contributions"]) == SHARE_SCALE
    paid = revenue(client, body["id"], owner, 1000, "sale").get_json()
    assert spam_id not in {p["user_id"] for p in paid["paid"]}
    assert client.get("/api/v1/me/contributions", headers=spammer).get_json()["items"][0]["earned"] == 0


def test_release_refusals(app, client, owner, annotators, make_user, token_for):
    project, _made = labelled(client, owner, annotators)
    queued = client.post(f"/api/v1/projects/{project['id']}/exports", json={"format": "jsonl"}, headers=owner)
    assert assert_problem(release(client, project, owner, queued.get_json()["id"]), 409)["code"] == "conflict"
    other_owner = token_for(make_user("other@example.org"))
    other, _ = labelled(client, other_owner, annotators)
    theirs = export(client, app, other, other_owner)
    assert_problem(release(client, project, owner, theirs["id"]), 404)  # another project's export
    assert_problem(release(client, project, owner, 999_999), 404)
    assert_problem(release(client, other, owner, theirs["id"]), 404)  # not the owner: the project is not theirs
    done = export(client, app, project, owner)
    for body in ({}, {"export_id": done["id"]}, {"export_id": "1", "name": "x"}, {"export_id": done["id"], "name": ""},
                 {"export_id": done["id"], "name": "x", "extra": 1}):
        assert_problem(client.post(f"/api/v1/projects/{project['id']}/releases", json=body, headers=owner), 422)
    made = release(client, project, owner, done["id"]).get_json()
    assert assert_problem(release(client, project, owner, done["id"]), 409)["code"] == "conflict"  # the name
    assert_problem(release(client, project, annotators[0], done["id"], name="v2"), 404)
    # Revenue: bad amounts 422 naming the field; someone else's release 404; no key 422.
    for amount in (0, -5, 2.5, "10", 10**13, None, True):
        problem = assert_problem(revenue(client, made["id"], owner, amount, f"bad-{amount}"), 422)
        assert "amount" in problem["errors"]
    missing = client.post(f"/api/v1/releases/{made['id']}/revenue", json={"amount": 10}, headers=owner)
    assert "Idempotency-Key" in assert_problem(missing, 422)["errors"]
    assert_problem(revenue(client, made["id"], other_owner, 10, "theirs"), 404)
    assert_problem(revenue(client, made["id"], annotators[0], 10, "annotator"), 404)
    assert_problem(client.get(f"/api/v1/releases/{made['id']}", headers=annotators[0]), 404)
    # The data changed since the export: release a fresh one.
    client.patch(f"/api/v1/projects/{project['id']}", json={"name": "Renamed"}, headers=owner)
    stale = release(client, project, owner, done["id"], name="v2")
    assert "export again" in assert_problem(stale, 409)["detail"]
    assert verified(app) == []


def test_terms_must_be_accepted_to_label_and_to_share(app, client, owner, annotators):
    project = funded(client, owner, amount=10_000, tasks=2, overlap=2, terms={"text": "We share 90% of revenue."})
    assert project["terms"] == {"version": 1, "text": "We share 90% of revenue."}
    refused = nxt(client, project, annotators[0])
    assert assert_problem(refused, 409)["code"] == "terms_not_accepted"
    shown = client.get(f"/api/v1/projects/{project['id']}/terms", headers=annotators[0]).get_json()
    assert shown == {"version": 1, "text": "We share 90% of revenue.", "accepted": False}
    assert_problem(client.post(f"/api/v1/projects/{project['id']}/terms/accept", json={"version": 2},
                               headers=annotators[0]), 409)
    for who in (0, 1):
        assert client.post(f"/api/v1/projects/{project['id']}/terms/accept", json={"version": 1},
                           headers=annotators[who]).status_code == 200
        for _ in range(2):
            assert answer(client, nxt(client, project, annotators[who]).get_json(), annotators[who]).status_code == 201
    changed = client.patch(f"/api/v1/projects/{project['id']}", json={"terms": {"text": "We share 80%."}},
                           headers=owner)
    assert changed.get_json()["terms"]["version"] == 2
    assert client.post(f"/api/v1/projects/{project['id']}/terms/accept", json={"version": 2},
                       headers=annotators[0]).status_code == 200
    body = release(client, project, owner, export(client, app, project, owner)["id"]).get_json()
    a0, a1 = (client.get("/api/v1/me", headers=annotators[n]).get_json()["id"] for n in (0, 1))
    rows = {r["user_id"]: r for r in body["contributions"]}
    assert (rows[a0]["share"], rows[a0]["terms_version"], rows[a0]["reason"]) == (SHARE_SCALE, 2, None)
    assert (rows[a1]["share"], rows[a1]["terms_version"], rows[a1]["reason"]) == (0, None, "terms_not_accepted")
    assert body["terms_version"] == 2


def test_ledger_verify_names_a_revenue_split_that_does_not_follow_the_shares(app, client, owner, annotators, db):
    project, _made = labelled(client, owner, annotators)
    body = release(client, project, owner, export(client, app, project, owner)["id"]).get_json()
    assert revenue(client, body["id"], owner, 100, "fair").status_code == 201
    assert verified(app) == []
    a0 = client.get("/api/v1/me", headers=annotators[0]).get_json()["id"]
    world = ledger.account(db, "outside_world", user_id=body["contributions"][0]["user_id"])
    skewed = ledger.post(db, "revenue:forged", "revenue", [Leg(world, -100), Leg(
        ledger.account(db, "wallet_available", user_id=a0), 100)], dt.datetime.now(dt.timezone.utc),
        details={"release_id": body["id"]}, project_id=project["id"])
    db.add(Revenue(release_id=body["id"], amount=100, fee=0, memo="forged", created_by=a0,
                   transaction_id=skewed.id, created_at=skewed.created_at))
    db.commit()
    breaches = verified(app)
    assert len(breaches) == 1 and "shares call for" in breaches[0]


@pytest.mark.postgres
def test_concurrent_revenue_posts_with_one_key_post_once(pg_app):
    client = pg_app.test_client()
    owner, *annotators = (person(pg_app, email)[1] for email in ("owner@example.org", "a0@example.org",
                                                                  "a1@example.org", "a2@example.org"))
    project, _made = labelled(client, owner, annotators)
    body = release(client, project, owner, export(client, pg_app, project, owner)["id"]).get_json()
    replies = in_parallel(6, lambda n: pg_app.test_client().post(
        f"/api/v1/releases/{body['id']}/revenue", json={"amount": 9_999, "memo": "once"},
        headers={**owner, "Idempotency-Key": "one-sale"}))
    assert {r.status_code for r in replies} == {201}
    assert len({r.get_data() for r in replies}) == 1  # every reply is the first one's
    with runtime(pg_app).session_factory() as session:
        assert session.scalar(select(func.count()).where(LedgerTransaction.kind == "revenue")) == 1
    assert verified(pg_app) == []
