"""The money domain under real concurrency on PostgreSQL: concurrent payout requests never overdraw, a
settlement run by two workers at once credits once, a double review takes back once, and a worker killed
between posting and committing leaves everything or nothing."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from annotator.audit import AuditEvent
from annotator.db import SETTLEMENT_LOCK, utcnow
from annotator.users import service
from annotator.runtime import runtime
from incentives import checks, ledger, payments
from incentives.ledger import Leg
from incentives.models import Account, Deposit, LedgerTransaction, Payout
from tasks.models import Annotation, Project, Task
from tests.factories import (PASSWORD, PAYMENT_PROVIDER, RATES, answer, confirm_deposits, create_text_project, funded,
                             in_parallel, nxt, payment_notification, payment_settings, repo_root, signed_notification)

pytestmark = pytest.mark.postgres


@pytest.fixture
def make_user(pg_app):
    def make(email: str, admin: bool = False):
        with runtime(pg_app).session_factory() as session:
            user = service.register(session, runtime(pg_app).passwords, email=email, password=PASSWORD,
                                    display_name=email.split("@")[0], is_admin=admin)
            session.commit()
            return user

    return make


@pytest.fixture
def token_for(pg_app):
    def issue(user) -> dict:
        with runtime(pg_app).session_factory() as session:
            _, token = service.create_token(session, user, "tests")
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return issue


@pytest.fixture
def owner(make_user, token_for):
    return token_for(make_user("owner@example.org"))


def _users(app, make_user, token_for, count: int) -> list[tuple[int, dict]]:
    return [(user.id, token_for(user)) for user in (make_user(f"m{n}@example.org") for n in range(count))]


def _grant(app, user_id: int, amount: int) -> None:
    """Put `amount` in the user's available wallet, as settled earnings would."""
    with runtime(app).session_factory() as session:
        world = ledger.account(session, "outside_world")
        available = ledger.account(session, "wallet_available", user_id=user_id)
        ledger.post(session, f"grant:{user_id}", "grant", [Leg(world, -amount), Leg(available, amount)], utcnow())
        session.commit()


def _verified(app) -> list[str]:
    with runtime(app).session_factory() as session:
        return checks.verify_all(session)


def test_fifty_concurrent_payout_requests_never_overdraw(pg_app, make_user, token_for):
    pg_app.config["ANNOTATOR_PAYOUTS_PER_HOUR"] = 100  # fifty requests from one user, on purpose
    [(user_id, headers)] = _users(pg_app, make_user, token_for, 1)
    _grant(pg_app, user_id, 1000)

    def request(_index: int) -> int:
        response = pg_app.test_client().post("/api/v1/payouts", json={"amount": 30}, headers=headers)
        return response.status_code

    statuses = in_parallel(50, request)
    assert statuses.count(201) == 33 and statuses.count(422) == 17, statuses
    wallet = pg_app.test_client().get("/api/v1/wallet", headers=headers).get_json()
    assert wallet["balance"] == 10 and wallet["in_flight"] == 990
    with runtime(pg_app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Payout).where(Payout.user_id == user_id)) == 33
    assert _verified(pg_app) == []


def test_requests_racing_with_one_idempotency_key_all_get_the_first_reply_and_act_once(pg_app, owner):
    """Two requests with the same key at the same moment: whichever commits first acts, the other (whether it
    saw the record, or clashed with it on commit) replays that reply; never a 409, never twice."""
    pg_app.config["ANNOTATOR_PAYOUTS_PER_HOUR"] = 100
    client = pg_app.test_client()
    project = create_text_project(client, owner, visibility="public")
    path = f"/api/v1/projects/{project['id']}/budget/deposits"

    for round_ in range(12):
        headers = {**owner, "Idempotency-Key": f"race-{round_}"}
        replies = in_parallel(4, lambda _n, headers=headers: pg_app.test_client().post(
            path, json={"amount": 100}, headers=headers))
        assert [r.status_code for r in replies] == [201] * 4, [r.get_json() for r in replies]
        assert len({r.get_data() for r in replies}) == 1  # the same reply, byte for byte
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in replies) == 3
    assert len(confirm_deposits(pg_app)) == 12  # one deposit per key
    balance = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()["balance"]
    assert balance == 12 * 100
    assert _verified(pg_app) == []


def test_one_deposit_decided_by_four_admins_at_once_is_posted_once(pg_app, owner, make_user, token_for):
    client = pg_app.test_client()
    project = create_text_project(client, owner, visibility="public")
    admins = [token_for(make_user(f"admin{n}@example.org", admin=True)) for n in range(4)]
    verbs = ["confirm", "reject"] * 2
    for _ in range(6):
        made = client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": 100}, headers=owner)
        deposit_id = made.get_json()["id"]
        replies = in_parallel(4, lambda n, d=deposit_id: pg_app.test_client().post(
            f"/api/v1/deposits/{d}/{verbs[n]}", headers=admins[n]))
        assert sorted(r.status_code for r in replies) == [200, 409, 409, 409], [r.get_json() for r in replies]
    with runtime(pg_app).session_factory() as session:
        from incentives.models import Deposit
        decided = session.scalars(select(Deposit)).all()
        posted = session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            LedgerTransaction.kind == "deposit"))
    assert posted == sum(d.status == "confirmed" for d in decided) and len(decided) == 6
    balance = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()["balance"]
    assert balance == 100 * posted
    assert _verified(pg_app) == []


def test_one_payout_decided_by_two_admins_at_once_is_decided_once(pg_app, make_user, token_for):
    [(user_id, headers)] = _users(pg_app, make_user, token_for, 1)
    admins = [token_for(make_user(f"admin{n}@example.org", admin=True)) for n in range(2)]
    _grant(pg_app, user_id, 100)
    payout = pg_app.test_client().post("/api/v1/payouts", json={"amount": 100}, headers=headers).get_json()

    def decide(index: int) -> int:
        verb = ("approve", "reject")[index]
        return pg_app.test_client().post(f"/api/v1/payouts/{payout['id']}/{verb}", json={},
                                         headers=admins[index]).status_code

    assert sorted(in_parallel(2, decide)) == [200, 409]
    wallet = pg_app.test_client().get("/api/v1/wallet", headers=headers).get_json()
    assert wallet["in_flight"] == 0 and wallet["balance"] in (0, 100)  # paid out, or returned: never both
    assert _verified(pg_app) == []


def test_a_settlement_run_by_two_workers_at_once_credits_once(pg_app, owner, make_user, token_for, monkeypatch):
    client = pg_app.test_client()
    annotators = [headers for _, headers in _users(pg_app, make_user, token_for, 2)]
    project = funded(client, owner, tasks=1)
    monkeypatch.setattr(payments, "settle", lambda *args, **kwargs: 0)  # the submits complete the task unsettled
    for headers in annotators:
        assert answer(client, nxt(client, project, headers).get_json(), headers, label="positive").status_code == 201
    monkeypatch.undo()
    factory = runtime(pg_app).session_factory

    def settle(_index: int) -> int:
        with factory() as session:
            stored = session.get(Project, project["id"])
            task = session.scalar(select(Task).where(Task.project_id == stored.id))
            settled = payments.settle(session, stored, task, utcnow())
            session.commit()
            return settled

    results = in_parallel(2, settle)
    assert None not in results and 2 <= sum(results) <= 4  # a worker may count a posting the other made first
    with factory() as session:
        ids = session.scalars(select(Annotation.id).where(Annotation.project_id == project["id"])).all()
        settles = session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            LedgerTransaction.kind == "bonus", LedgerTransaction.annotation_id.in_(ids)))
        assert settles == 2
    for headers in annotators:
        assert client.get("/api/v1/wallet", headers=headers).get_json()["balance"] == 70
    assert _verified(pg_app) == []


def test_two_reviewers_rejecting_one_answer_at_once_take_it_back_once(pg_app, owner, make_user, token_for):
    client = pg_app.test_client()
    annotators = [headers for _, headers in _users(pg_app, make_user, token_for, 2)]
    project = funded(client, owner, tasks=1)
    for headers in annotators:
        assert answer(client, nxt(client, project, headers).get_json(), headers, label="positive").status_code == 201
    reviewers = []
    for n in range(2):
        email = f"reviewer{n}@example.org"
        reviewers.append(token_for(make_user(email)))
        client.post(f"/api/v1/projects/{project['id']}/members", json={"email": email, "role": "reviewer"},
                    headers=owner)
    task = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"][0]
    first = client.get(f"/api/v1/tasks/{task['id']}/annotations", headers=owner).get_json()["items"][0]

    def reject(index: int) -> int:
        return pg_app.test_client().post(f"/api/v1/annotations/{first['id']}/review", json={"verdict": "reject", "note": "wrong"},
                                         headers=reviewers[index]).status_code

    assert sorted(in_parallel(2, reject)) == [201, 409]
    balances = sorted(client.get("/api/v1/wallet", headers=h).get_json()["balance"] for h in annotators)
    assert balances == [0, 70]
    assert _verified(pg_app) == []


KILLED_WORKER = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy.orm import Session
    from annotator.app import create_app
    from incentives import jobs

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": sys.argv[1], "REDIS_URL": sys.argv[2],
                      "INSTANCE_PATH": sys.argv[3]})
    if sys.argv[4] == "kill":
        def die(self):  # everything is posted and flushed; the process dies before COMMIT reaches the server
            self.flush()
            print("posted", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        Session.commit = die
    with app.app_context():
        print("released", jobs.release_lapsed_reservations(), flush=True)
""")


def _worker(app, tmp_path, mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    return subprocess.run([sys.executable, "-c", KILLED_WORKER, app.config["DATABASE_URL"], app.config["REDIS_URL"],
                           str(tmp_path / "worker"), mode], cwd=repo_root(), env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_worker_killed_between_posting_and_committing_leaves_nothing_and_the_retry_posts_once(
        pg_app, owner, make_user, token_for, tmp_path):
    import datetime as dt

    from sqlalchemy import update

    from tasks import jobs as task_jobs
    from tasks.models import Assignment

    client = pg_app.test_client()
    [(_, headers)] = _users(pg_app, make_user, token_for, 1)
    project = funded(client, owner, tasks=2)
    lease = nxt(client, project, headers).get_json()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    with runtime(pg_app).session_factory() as session:
        session.execute(update(Assignment).where(Assignment.id == lease["assignment"]["id"]).values(expires_at=past))
        session.commit()
    with pg_app.app_context():
        assert task_jobs.reclaim_expired_leases() == 1
    before = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()
    assert before["reserved"] == 70

    killed = _worker(pg_app, tmp_path, "kill")
    assert killed.returncode == -9 and "posted" in killed.stdout, killed.stderr
    assert client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json() == before
    with runtime(pg_app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            LedgerTransaction.kind == "release")) == 0
        assert session.scalar(select(func.count()).select_from(Account).where(Account.balance < 0,
                                                                              Account.kind != "outside_world")) == 0
    assert _verified(pg_app) == []

    retried = _worker(pg_app, tmp_path, "run")
    assert retried.returncode == 0 and "released 1" in retried.stdout, retried.stderr
    again = _worker(pg_app, tmp_path, "run")
    assert "released 0" in again.stdout, again.stderr
    after = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()
    assert after["reserved"] == 0 and after["balance"] == before["balance"] + 70
    assert _verified(pg_app) == []


def test_eight_annotators_labelling_a_paid_project_at_once_never_deadlock(pg_app, owner, make_user, token_for):
    """Each submit that completes a task credits and settles several wallets in one transaction; locked one
    posting at a time, these deadlocked against concurrent leases (seen as 500s under the load bench)."""
    client = pg_app.test_client()
    annotators = [headers for _, headers in _users(pg_app, make_user, token_for, 8)]
    project = funded(client, owner, amount=10**6, tasks=24, overlap=3)

    def label(index: int) -> list[int]:
        mine, statuses = pg_app.test_client(), []
        while True:
            lease = mine.post(f"/api/v1/projects/{project['id']}/next", headers=annotators[index])
            statuses.append(lease.status_code)
            if lease.status_code != 200:
                return statuses
            body = lease.get_json()
            label = ("positive", "negative")[(body["task"]["id"] + index) % 3 == 0]
            statuses.append(answer(mine, body, annotators[index], label=label).status_code)

    statuses = [s for run in in_parallel(8, label) for s in run]
    assert set(statuses) <= {200, 201, 204} and statuses.count(201) == 24 * 3, sorted(set(statuses))
    budget = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()
    assert budget["reserved"] == 0 and budget["balance"] + budget["spent"] == 10**6
    assert _verified(pg_app) == []


@pytest.mark.parametrize("mechanism", ["peer_prediction", "gold"])
def test_history_priced_settlements_under_eight_concurrent_annotators_replay_exactly(pg_app, owner, make_user,
                                                                                    token_for, mechanism):
    """Peer prediction and gold read each worker's earlier settlements when a task settles. Settlements of one
    project queue on its money lock and read after it, so whatever order eight concurrent annotators complete
    tasks in, each settlement saw exactly the settlements before it: replaying them in ledger order pays what
    the ledger paid, to the minor unit."""
    client = pg_app.test_client()
    annotators = [headers for _, headers in _users(pg_app, make_user, token_for, 8)]
    schema = {"tools": ["classify"], "labels": [{"id": "positive", "name": "Positive"},
                                                {"id": "negative", "name": "Negative"},
                                                {"id": "mixed", "name": "Mixed"}]}
    project = funded(client, owner, amount=10**6, tasks=30, overlap=3, label_schema=schema,
                     rewards={"per_annotation": 10, "agreement_bonus": 90, "mechanism": mechanism,
                              "mechanism_params": {"window": 4} if mechanism == "peer_prediction" else {}})
    if mechanism == "gold":  # some gold tasks, handed out among the others
        made = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[
            {"data": {"text": f"gold {n}"}, "gold": {"labels": ["positive"]}} for n in range(6)], headers=owner)
        assert made.status_code == 201, made.get_json()
        assert client.patch(f"/api/v1/projects/{project['id']}", json={"gold_ratio": 0.3},
                            headers=owner).status_code == 200

    def label(index: int) -> list[int]:
        mine, statuses = pg_app.test_client(), []
        while True:
            lease = mine.post(f"/api/v1/projects/{project['id']}/next", headers=annotators[index])
            statuses.append(lease.status_code)
            if lease.status_code != 200:
                return statuses
            body = lease.get_json()
            said = ("positive", "negative", "mixed")[(body["task"]["id"] * (index + 1)) % 3 if index >= 5 else 0]
            statuses.append(answer(mine, body, annotators[index], label=said).status_code)

    statuses = [s for run in in_parallel(8, label) for s in run]
    assert set(statuses) <= {200, 201, 204}, sorted(set(statuses))
    replayed = client.get(f"/api/v1/projects/{project['id']}/incentives/replay", headers=owner).get_json()
    assert replayed["own"] == mechanism and len(replayed["annotators"]) == 8
    assert all(row["by_mechanism"][mechanism] == row["actual"] for row in replayed["annotators"]), replayed
    assert len({row["actual"] for row in replayed["annotators"]}) > 1  # the three noisy ones earn less
    assert _verified(pg_app) == []


def test_a_revision_racing_the_submit_that_completes_its_task_is_either_scored_or_refused(pg_app, owner, make_user,
                                                                                         token_for):
    """Both lock the task row: the revision lands before the completion (and the settlement scores the revised
    answer) or after it (409 task_completed, the answer as it was) - never a revised answer on a settled task."""
    from incentives.models import LedgerTransaction as Txn

    client = pg_app.test_client()
    first, second = (headers for _, headers in _users(pg_app, make_user, token_for, 2))
    project = funded(client, owner, amount=10**5, tasks=12, overlap=2)
    for _ in range(12):
        mine = answer(client, nxt(client, project, first).get_json(), first, label="negative").get_json()
        lease = nxt(client, project, second).get_json()
        while lease["task"]["id"] != mine["task_id"]:  # the second annotator answers until it holds that task
            answer(client, lease, second, label="negative")
            lease = nxt(client, project, second).get_json()
        def race(n: int, answer_id: int = mine["id"], held: dict = lease):
            if n == 0:
                return pg_app.test_client().put(f"/api/v1/annotations/{answer_id}",
                                                json={"result": {"labels": ["positive"]}}, headers=first)
            return answer(pg_app.test_client(), held, second, label="positive")

        revised, completed = in_parallel(2, race)
        assert completed.status_code == 201, completed.get_json()
        assert revised.status_code in (200, 409), revised.get_json()
        with runtime(pg_app).session_factory() as session:
            row = session.get(Annotation, mine["id"])
            settled = session.scalar(select(Txn.details).where(Txn.annotation_id == mine["id"], Txn.kind == "bonus"))
        if revised.status_code == 200:
            assert row.result["labels"] == ["positive"] and settled["agreement_score"] == 1.0  # scored as revised
        else:
            assert revised.get_json()["code"] == "task_completed"
            assert row.result["labels"] == ["negative"] and settled["agreement_score"] < 1.0  # as it was
    assert _verified(pg_app) == []


def test_an_administrator_and_the_payment_provider_deciding_one_deposit_at_once_decide_it_once(
        pg_app, owner, make_user, token_for):
    """The provider says paid while an administrator confirms or rejects the same deposit: one of them decides
    (the deposit row's lock orders them); the other sees that decision: the same outcome, 200 changing nothing,
    or the other, 409 already_decided. One posting per confirmed deposit, one audit line per decision."""
    pg_app.config.update(payment_settings())
    client = pg_app.test_client()
    project = create_text_project(client, owner, visibility="public")
    admin = token_for(make_user("admin@example.org", admin=True))
    url = f"/api/v1/payments/{PAYMENT_PROVIDER}/notifications"
    firsts = set()
    for round_ in range(12):
        made = client.post(f"/api/v1/projects/{project['id']}/budget/deposits", json={"amount": 100}, headers=owner)
        deposit = made.get_json()
        verb = ("confirm", "reject")[round_ % 2]
        raw, headers = signed_notification(payment_notification(deposit, "paid"))
        calls = [(f"/api/v1/deposits/{deposit['id']}/{verb}", {"headers": admin}),
                 (url, {"data": raw, "headers": headers})]
        by_admin, by_provider = in_parallel(2, lambda n, calls=calls: pg_app.test_client().post(calls[n][0],
                                                                                             **calls[n][1]))
        replies = [(r.status_code, (r.get_json() or {}).get("code")) for r in (by_admin, by_provider)]
        provider_decided = by_provider.status_code == 200 and by_provider.get_json()["applied"]
        firsts.add("provider" if provider_decided else "admin")
        if provider_decided:  # the administrator came second
            assert replies[0] == (409, "already_decided"), replies
        elif verb == "confirm":  # the provider came second and agreed
            assert replies == [(200, None), (200, None)] and by_provider.get_json()["status"] == "confirmed"
        else:
            assert replies == [(200, None), (409, "already_decided")], replies
    with runtime(pg_app).session_factory() as session:
        decided = session.scalars(select(Deposit)).all()
        posted = session.scalar(select(func.count()).select_from(LedgerTransaction).where(
            LedgerTransaction.kind == "deposit"))
        decisions = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(("deposit_confirmed", "deposit_rejected"))))
    assert len(decided) == 12 and all(d.status in ("confirmed", "rejected") for d in decided)
    assert posted == sum(d.status == "confirmed" for d in decided) and decisions == 12
    balance = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()["balance"]
    assert balance == 100 * posted
    assert _verified(pg_app) == []
    print(f"who decided first over 12 rounds: {sorted(firsts)}")


def test_a_budget_for_five_answers_raced_by_twelve_annotators_pays_five_and_never_goes_below_zero(
        pg_app, owner, make_user, token_for):
    """The budget moves late (issue 21: the last statement before commit, guarded): twelve leases racing for
    a budget that covers five get five reservations and seven budget_exhausted, never a negative budget."""
    client = pg_app.test_client()
    annotators = [headers for _, headers in _users(pg_app, make_user, token_for, 12)]
    most = sum(RATES.values())
    project = funded(client, owner, amount=5 * most, tasks=12, overlap=1)

    def lease(index: int) -> tuple[int, str | None]:
        response = pg_app.test_client().post(f"/api/v1/projects/{project['id']}/next", headers=annotators[index])
        return response.status_code, (response.get_json() or {}).get("code")

    results = in_parallel(12, lease)
    assert sorted(status for status, _ in results).count(200) == 5, results
    assert all(code == "budget_exhausted" for status, code in results if status != 200), results
    budget = client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()
    assert budget["balance"] == 0 and budget["reserved"] == 5 * most
    assert _verified(pg_app) == []


def test_a_rejection_racing_the_submit_that_settles_the_answer_takes_back_all_it_earned(
        pg_app, owner, make_user, token_for):
    """Wallets move late too, so nothing but the task's row orders a take-back after a settlement in flight (the
    review takes it; so does the reserve row, which the settlement's entries reference and the take-back locks):
    the rejection sees the settlement (and takes back base and bonus) or the settlement sees the rejection (and
    skips the answer), never a bonus kept for a rejected answer."""
    client = pg_app.test_client()
    first, second, reviewer = (headers for _, headers in _users(pg_app, make_user, token_for, 3))
    outcomes = [_reject_while_settling(pg_app, client, owner, first, second, reviewer) for _ in range(6)]
    assert set(outcomes) == {(201, 201)}, outcomes
    assert client.get("/api/v1/wallet", headers=first).get_json()["balance"] == 0  # every rejected answer's pay
    assert _verified(pg_app) == []


def _reject_while_settling(pg_app, client, owner, first, second, reviewer) -> tuple[int, int]:
    """A one-task project of overlap 2: `first` answers; then `second`'s completing answer and the rejection of
    `first`'s answer by `reviewer` (m2) race. Returns their statuses."""
    project = funded(client, owner, amount=10**5, tasks=1, overlap=2,
                     rewards={**RATES, "mechanism": "peer_prediction"})
    added = client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "m2@example.org",
                                                                          "role": "reviewer"}, headers=owner)
    assert added.status_code in (200, 201), added.get_json()
    assert answer(client, nxt(client, project, first).get_json(), first).status_code == 201
    task = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"][0]
    rejected = client.get(f"/api/v1/tasks/{task['id']}/annotations", headers=owner).get_json()["items"][0]
    lease = nxt(client, project, second).get_json()

    def settle() -> int:  # completes the task: settles both answers
        return answer(pg_app.test_client(), lease, second).status_code

    def reject() -> int:
        return pg_app.test_client().post(f"/api/v1/annotations/{rejected['id']}/review",
                                         json={"verdict": "reject", "note": "x"}, headers=reviewer).status_code

    # The widest window: another transaction holds the project's settlement lock, which a settlement priced on
    # history takes after reading what was credited, settled and taken back and before it posts.
    with runtime(pg_app).engine.connect() as holder, ThreadPoolExecutor(2) as pool:
        holder.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
                       {"namespace": SETTLEMENT_LOCK, "key": project["id"]})
        running = [pool.submit(settle), pool.submit(reject)]
        time.sleep(0.5)
        holder.rollback()
        return tuple(future.result(timeout=60) for future in running)


def test_a_budget_read_before_others_emptied_it_is_read_again_when_near_empty(pg_app, owner, make_user, token_for):
    """`next` finds the budget, and reads its balance, before its claim; leases committed by others meanwhile may
    have emptied it. Near empty, the check reads the balance again rather than trusting the earlier figure (which
    would skip releasing ended leases and refuse a lease they could pay for)."""
    client = pg_app.test_client()
    (_, other), = _users(pg_app, make_user, token_for, 1)
    most = sum(RATES.values())
    project = funded(client, owner, amount=most, tasks=2)
    with pg_app.app_context():
        with runtime().session_factory() as first:  # the reserve account exists (made by the first lease on a
            payments.find_accounts(first, first.get(Project, project["id"]))  # real server) before the race
            first.commit()
        session = runtime().session_factory()
        found = session.get(Project, project["id"])
        payments.find_accounts(session, found)  # this request's lookup: one lease's worth
        budget, _ = payments._accounts(session, found)
        assert ledger.committed_balance(session, budget) == most
        assert client.post(f"/api/v1/projects/{project['id']}/next", headers=other).status_code == 200  # takes it
        payments.reserve(session, found, 10**9, utcnow())  # this request's lease: one more lease's worth
        assert payments.budget_short(session, found)  # read again: nothing is left for it
        session.rollback()
        session.close()
