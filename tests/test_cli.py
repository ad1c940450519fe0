"""The annotator command line."""
from __future__ import annotations

import orjson
from sqlalchemy import func, select

from annotator import demo
from tasks import skills
from annotator.users.models import User
from annotator.runtime import runtime
from tests.factories import invoke, run_exports


def test_create_user_makes_an_admin(app):
    result = invoke(app, "create-user", "--email", "Root@Example.org", "--password", "a long password", "--admin")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = runtime().session_factory().scalar(select(User))
        assert user.email == "root@example.org" and user.is_admin and user.display_name == "Root"


def test_create_user_refuses_a_short_password_and_a_duplicate(app):
    short = invoke(app, "create-user", "--email", "a@example.org", "--password", "short")
    assert short.exit_code == 1 and "at least 10" in short.output
    invoke(app, "create-user", "--email", "a@example.org", "--password", "a long password")
    again = invoke(app, "create-user", "--email", "a@example.org", "--password", "a long password")
    assert again.exit_code == 1 and "already exists" in again.output


def test_demo_seeds_users_and_an_image_and_a_text_project_once(app):
    first = invoke(app, "demo")
    assert first.exit_code == 0 and demo.OWNER.email in first.output
    assert invoke(app, "demo").exit_code == 0
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    assert response.status_code == 200
    everything = client.get("/api/v1/projects").get_json()["items"]
    crowd = next(p for p in everything if p["name"] == demo.CROWD_PROJECT)
    listed = [p for p in everything if p["name"] not in (demo.CROWD_PROJECT, demo.EXPERT_PROJECT)]
    assert sorted(p["media_type"] for p in listed) == ["image", "text"]
    # The outside crowd's answers, imported: analysed (the one who says "warbler" to everything is found out), unpaid.
    report = client.get(f"/api/v1/projects/{crowd['id']}/agreement").get_json()
    assert report["annotations"] == 4 * len(demo.NOTE_TRUTH) and len(report["per_annotator"]) == 4
    assert report["method"] == "dawid_skene_prior"
    board = client.get(f"/api/v1/projects/{crowd['id']}/leaderboard").get_json()["items"]
    reliability = {row["display_name"]: row["reliability"] for row in board}
    assert all(row["external"] and row["earned"] == 0 for row in board)
    assert reliability["mturk-Z99"] < min(reliability["mturk-A17"], reliability["mturk-B03"])
    assert all(p["role"] == "owner" and p["schema_version"] == 1 for p in listed)
    for project in listed:
        stats = client.get(f"/api/v1/projects/{project['id']}/stats").get_json()
        assert stats["total"] == (demo.IMAGES if project["media_type"] == "image" else len(demo.NOTES))
        members = client.get(f"/api/v1/projects/{project['id']}/members").get_json()
        assert members["total"] == (3 if project["media_type"] == "image" else 4)  # the notes have a reviewer
        invited = client.get(f"/api/v1/projects/{project['id']}/invitations").get_json()["items"]
        assert [(i["email"], i["role"]) for i in invited] == ([(demo.INVITED, "reviewer")] if project["media_type"]
                                                               == "image" else [])
    for project in listed:  # annotators have answered: the owner sees agreement and consensus at once
        image = project["media_type"] == "image"
        answering, each = (3, demo.IMAGE_ANSWERS) if image else (2, demo.SEEDED_ANSWERS)
        quality = client.get(f"/api/v1/projects/{project['id']}/agreement").get_json()
        assert quality["annotations"] == answering * each and quality["alpha_distance"] == "taxonomy"
        assert quality["krippendorff_alpha"] is not None and len(quality["alpha_interval"]) == 2
        assert len(quality["per_annotator"]) == answering and quality["per_label"]
        assert quality["method"] == "dawid_skene"
        tasks = client.get(f"/api/v1/projects/{project['id']}/tasks").get_json()["items"]
        answered = [t for t in tasks if t["annotations"] == answering]
        assert answered, "the seeded answers should overlap on some task"
        consensus = client.get(f"/api/v1/tasks/{answered[0]['id']}/consensus").get_json()
        assert consensus["result"]["labels"] and 0 < consensus["confidence"] <= 1
    image_project = next(p for p in listed if p["media_type"] == "image")
    task = client.get(f"/api/v1/projects/{image_project['id']}/tasks").get_json()["items"][0]
    assert client.get(task["data"]["image"]).mimetype == "image/jpeg"
    with app.app_context():
        assert runtime().session_factory().scalar(select(func.count()).select_from(User).where(
            User.kind == "person")) == len(demo.EVERYONE)  # and an admin (the outside crowd are no accounts)
    admin = app.test_client()
    admin.post("/api/v1/auth/login", json={"email": demo.ADMIN.email, "password": demo.PASSWORD})
    waiting = admin.get("/api/v1/admin/deposits?status=pending").get_json()["items"]
    assert [(d["amount"], d["status"]) for d in waiting] == [(demo.PENDING_DEPOSIT, "pending")]  # for the admin
    log = [e["action"] for e in admin.get("/api/v1/admin/audit").get_json()["items"]]  # seeded once, not twice
    assert sorted(log) == sorted(["project_created"] * 4 + ["budget_deposit"] * 4 + ["deposit_confirmed"] * 3
                                 + ["answers_imported", "project_settings_changed"]  # the notes' review policy
                                 + ["answer_reviewed"] * 3)  # the spammer's answers, rejected
    for project in listed:  # funded, so annotators get work rather than budget_exhausted; the seeded work is paid
        budget = client.get(f"/api/v1/projects/{project['id']}/budget").get_json()
        assert budget["spent"] > 0 and budget["balance"] + budget["reserved"] + budget["spent"] == demo.DEMO_BUDGET
    alice = app.test_client()
    alice.post("/api/v1/auth/login", json={"email": demo.ANNOTATORS[0].email, "password": demo.PASSWORD})
    wallet = alice.get("/api/v1/wallet").get_json()
    assert wallet["pending"] + wallet["balance"] == wallet["lifetime_earned"] > 0
    lines = alice.get("/api/v1/wallet/entries?per_page=500").get_json()["items"]
    assert any(line["memo"].startswith("50 base on task") for line in lines)
    csrf = alice.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    more_work = alice.post(f"/api/v1/projects/{listed[0]['id']}/next", headers={"X-CSRF-Token": csrf})
    assert more_work.status_code in (200, 204)
    assert invoke(app, "ledger", "verify").exit_code == 0


def test_the_demo_image_project_measures_its_boxes_and_pays_the_misnaming_annotator_less(app):
    """Issue 17's check on the demo: three annotators box the birds, Carmen names every third box another species."""
    assert invoke(app, "demo").exit_code == 0
    client = app.test_client()
    client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    project = next(p for p in client.get("/api/v1/projects").get_json()["items"] if p["media_type"] == "image")
    report = client.get(f"/api/v1/projects/{project['id']}/agreement").get_json()
    objects = report["objects"]
    assert objects["kinds"] == ["bbox"] and objects["method"] == "dawid_skene"
    for key in ("krippendorff_alpha", "fleiss_kappa", "mean_pairwise_cohen_kappa", "localisation"):
        assert objects[key] is not None, key
    assert objects["krippendorff_alpha"] < 1 and objects["per_label"] and objects["confusion"]["labels"]
    members = {m["user"]["email"]: m["user"]["id"] for m in client.get(
        f"/api/v1/projects/{project['id']}/members").get_json()["items"]}
    rows = {row["user_id"]: row for row in objects["per_annotator"]}
    alice, carmen = rows[members[demo.ANNOTATORS[0].email]], rows[members[demo.ANNOTATORS[2].email]]
    assert carmen["reliability"] < alice["reliability"]
    assert carmen["agreement_with_consensus"] < alice["agreement_with_consensus"]
    board = {row["user_id"]: row for row in client.get(
        f"/api/v1/projects/{project['id']}/leaderboard?per_page=10").get_json()["items"]}

    def bonuses(person):
        reader = app.test_client()
        reader.post("/api/v1/auth/login", json={"email": person.email, "password": demo.PASSWORD})
        lines = reader.get("/api/v1/wallet/entries?per_page=200").get_json()["items"]
        settled = {line["task_id"]: line for line in lines  # a settlement has several entries: one a task
                   if line["kind"] == "bonus" and line["project_id"] == project["id"] and line["details"].get("objects")}
        return list(settled.values())

    alice_lines, carmen_lines = bonuses(demo.ANNOTATORS[0]), bonuses(demo.ANNOTATORS[2])
    assert alice_lines and carmen_lines
    assert sum(line["details"]["bonus"] for line in carmen_lines) < sum(line["details"]["bonus"] for line in alice_lines)
    assert board[carmen["user_id"]]["earned"] + board[carmen["user_id"]]["pending"] < \
        board[alice["user_id"]]["earned"] + board[alice["user_id"]]["pending"]
    misnamed = [line for line in carmen_lines if line["details"]["objects"]["bbox"]["mislabelled"]]
    assert misnamed and all(" for " in line["memo"] and "bbox:" in line["memo"] for line in misnamed)


def test_db_upgrade_and_check(app, tmp_path):
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert invoke(app, "db", "upgrade").exit_code == 0
    assert (tmp_path / "fresh.db").exists()
    check = invoke(app, "db", "check")
    assert check.exit_code == 0 and "agree" in check.output


def test_ledger_verify_passes_on_sound_books_and_names_a_breach(app):
    from sqlalchemy import update

    from annotator.db import utcnow
    from incentives import ledger
    from incentives.models import Account

    with app.app_context():
        session = runtime().session_factory()
        world, fees = ledger.account(session, "outside_world"), ledger.account(session, "platform_fees")
        ledger.post(session, "k", "deposit", [ledger.Leg(world, -25), ledger.Leg(fees, 25)], utcnow())
        session.commit()
        fees_id = fees.id
        session.close()
    sound = invoke(app, "ledger", "verify")
    assert sound.exit_code == 0 and "balances" in sound.output
    with app.app_context():
        session = runtime().session_factory()
        session.execute(update(Account).where(Account.id == fees_id).values(balance=26))
        session.commit()
        session.close()
    broken = invoke(app, "ledger", "verify")
    assert broken.exit_code == 1 and f"account {fees_id} (platform_fees) caches 26" in broken.output


def test_simulate_prints_every_mechanism_and_refuses_a_bad_crowd_naming_it(app):
    from incentives import simulate

    shown = invoke(app, "simulate", "--crowd", "expert=8,spammer=4", "--tasks", "300", "--seed", "3")
    assert shown.exit_code == 0, shown.output
    expected = simulate.table(simulate.study({"expert": 8, "spammer": 4}, 300, 3, 0.1, seed=3))
    assert shown.output.strip() == expected  # the same numbers the study function gives
    assert all(name in shown.output for name in ("agreement", "gold", "peer_prediction", "posterior"))
    for args, words in ((["--crowd", "expert=3,wizard=2"], "crowd.wizard"), (["--crowd", "expert=x"], "--crowd"),
                        (["--standard", "nobody"], "--standard"), (["--crowd", "expert=0"], "at least one agent"),
                        (["--crowd", "expert=2", "--tasks", "200000"], "tasks")):
        refused = invoke(app, "simulate", *args)
        assert refused.exit_code != 0 and words in refused.output, (args, refused.output)


def test_the_demo_experts_project_routes_the_unsure_warblers_to_alice_and_pays_her_tier(app):
    """Issue 22's check on the demo: Alice is proven in warblers and holds tier 1; the sightings 王博 and Carmen
    split on are hers first, and she is paid at her tier with a wallet line saying so."""
    assert invoke(app, "demo").exit_code == 0
    alice = app.test_client()
    alice.post("/api/v1/auth/login", json={"email": demo.ANNOTATORS[0].email, "password": demo.PASSWORD})
    csrf = {"X-CSRF-Token": alice.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    project = next(p for p in alice.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.EXPERT_PROJECT)
    assert project["routing"] == "skill" and project["rewards"]["tiers"] == demo.EXPERT_TIERS
    mine = {row["label"]: row for row in alice.get(f"/api/v1/me/skills?project_id={project['id']}").get_json()["items"]}
    assert mine["warbler"]["low"] >= skills.PROVEN_LOW > mine["raptor"]["low"]  # proven in warblers only
    assert mine[None]["accuracy"] >= demo.EXPERT_TIERS[0]["min_accuracy"] > mine[None]["accuracy"] - 0.1
    split = {f"Later sighting {n + 1}" for n, (_, bo, carmen) in enumerate(demo.EXPERT_LATER) if bo != carmen}
    handed, tasks = [], set()
    for _ in range(len(split)):
        lease = alice.post(f"/api/v1/projects/{project['id']}/next", headers=csrf).get_json()
        handed.append(lease["task"]["data"]["text"])
        tasks.add(lease["task"]["id"])
        assert alice.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation", headers=csrf,
                          json={"result": {"labels": ["chiffchaff"]}}).status_code == 201
    assert set(handed) == split  # before the sighting both agreed on and the kestrel
    lines = [line for line in alice.get("/api/v1/wallet/entries?per_page=100").get_json()["items"]
             if line["task_id"] in tasks and line["kind"] == "credit"]
    assert len(lines) == len(split) and all(line["amount"] == 75 and "at tier 1 (x1.5)" in line["memo"] for line in lines)
    assert invoke(app, "ledger", "verify").exit_code == 0


def _signed_in(app, person):
    client = app.test_client()
    assert client.post("/api/v1/auth/login", json={"email": person.email, "password": demo.PASSWORD}).status_code == 200
    return client, {"X-CSRF-Token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]}


def test_the_demo_review_flow_fix_reject_appeal_overturn_shows_in_wallet_agreement_and_export(app):
    """Issue 23's check on the demo: the birding notes have a review policy and a reviewer; Rui fixes one answer and
    rejects another, 王博 appeals, the owner overturns it: the wallet, the agreement report and a fresh export show
    it, and the books verify."""
    assert invoke(app, "demo").exit_code == 0
    rui, rui_csrf = _signed_in(app, demo.REVIEWER)
    bo, bo_csrf = _signed_in(app, demo.ANNOTATORS[1])
    owner, owner_csrf = _signed_in(app, demo.OWNER)
    project = next(p for p in owner.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.TEXT_PROJECT)
    assert owner.get(f"/api/v1/projects/{project['id']}").get_json()["review"]["sample_rate"] == 1.0
    agreement_before = owner.get(f"/api/v1/projects/{project['id']}/agreement").get_json()
    bo_id = next(m["user"]["id"] for m in owner.get(f"/api/v1/projects/{project['id']}/members").get_json()["items"]
                 if m["user"]["email"] == demo.ANNOTATORS[1].email)
    fixed = rejected = None
    while (fixed is None or rejected is None) and (
            got := rui.post(f"/api/v1/projects/{project['id']}/review/next", headers=rui_csrf)).status_code == 200:
        item = got.get_json()
        for one in item["answers"]:
            if one["user_id"] == bo_id and fixed is None and one["result"]["labels"] == ["warbler"]:
                body = {"verdict": "fix", "note": "the species is clear", "result": {"labels": ["yellow_warbler"]}}
                fixed = one
            elif one["user_id"] == bo_id and rejected is None and one["result"]["labels"] != ["warbler"]:
                body, rejected = {"verdict": "reject", "note": "does not match the note"}, one
            else:
                body = {"verdict": "accept"}
            made = rui.post(f"/api/v1/annotations/{one['id']}/review", json=body, headers=rui_csrf)
            assert made.status_code == 201, made.get_json()
            if body["verdict"] == "reject":
                review_id = made.get_json()["id"]
    assert fixed is not None and rejected is not None
    assert rui.get("/api/v1/wallet").get_json()["balance"] >= demo.REVIEW_POLICY["reviewer_pay"]  # paid per item
    before = bo.get("/api/v1/wallet").get_json()
    mine = bo.get(f"/api/v1/me/annotations?verdict=rejected&project_id={project['id']}").get_json()["items"]
    assert [a["id"] for a in mine] == [rejected["id"]] and mine[0]["review_note"] == "does not match the note"
    appealed = bo.post(f"/api/v1/reviews/{review_id}/appeal", json={"reason": "I read it again: it is right"},
                       headers=bo_csrf)
    assert appealed.status_code == 201
    agreement_rejected = owner.get(f"/api/v1/projects/{project['id']}/agreement").get_json()
    assert agreement_rejected["annotations"] == agreement_before["annotations"] - 1  # out while rejected
    decided = owner.post(f"/api/v1/appeals/{appealed.get_json()['id']}/decide",
                         json={"decision": "overturn", "note": "the note does say so"}, headers=owner_csrf)
    assert decided.status_code == 200 and decided.get_json()["status"] == "overturned"
    after = bo.get("/api/v1/wallet").get_json()
    assert after["balance"] + after["pending"] == before["balance"] + before["pending"] + decided.get_json()["restored"]
    assert decided.get_json()["restored"] > 0
    kinds = [line["kind"] for line in bo.get("/api/v1/wallet/entries").get_json()["items"]]
    assert kinds[:2] == ["reversal", "clawback"]  # newest first: the pay restored after it was taken back
    agreement_after = owner.get(f"/api/v1/projects/{project['id']}/agreement").get_json()
    assert agreement_after["annotations"] == agreement_before["annotations"]  # back in
    made = owner.post(f"/api/v1/projects/{project['id']}/exports", json={"format": "jsonl", "include": "all"},
                      headers=owner_csrf)
    run_exports(app)
    done = owner.get(f"/api/v1/exports/{made.get_json()['id']}").get_json()
    rows = [orjson.loads(line) for line in owner.get(done["download_url"]).get_data().splitlines()]
    reviewed = next(row for row in rows if row["id"] == fixed["task_id"])
    assert (reviewed["result"], reviewed["method"], reviewed["reviewed"]) == ({"labels": ["yellow_warbler"]},
                                                                            "reviewed", True)
    back = next(a for row in rows for a in row["annotations"] if a["id"] == rejected["id"])
    assert (back["verdict"], back["counted"]) == ("overturned", True)
    assert invoke(app, "ledger", "verify").exit_code == 0


def test_the_demo_release_shares_its_revenue_with_the_three_annotators_and_not_the_spammer(app):
    """Issue 24's check on the demo: the owner releases the bird images, records revenue twice; Alice, 王博 and
    Carmen hold shares and are paid by them, the spammer whose every answer was rejected holds none and gets
    nothing; the books verify."""
    assert invoke(app, "demo").exit_code == 0
    owner, owner_csrf = _signed_in(app, demo.OWNER)
    project = next(p for p in owner.get("/api/v1/projects").get_json()["items"] if p["name"] == demo.IMAGE_PROJECT)
    made = owner.post(f"/api/v1/projects/{project['id']}/exports", json={"format": "coco"}, headers=owner_csrf)
    run_exports(app)
    released = owner.post(f"/api/v1/projects/{project['id']}/releases", headers=owner_csrf,
                          json={"export_id": made.get_json()["id"], "name": "Birds of Yunnan v1"})
    assert released.status_code == 201, released.get_json()
    body = released.get_json()
    rows = {row["user"]["display_name"]: row for row in body["contributions"]}
    assert sum(row["share"] for row in body["contributions"]) == body["share_scale"] == 100_000_000
    people = [person.display_name for person in demo.ANNOTATORS]
    assert all(rows[name]["share"] > 0 for name in people)
    assert rows[demo.SPAMMER.display_name]["share"] == 0 and rows[demo.SPAMMER.display_name]["reason"] == "rejected"
    assert rows[people[2]]["share"] < min(rows[people[0]]["share"], rows[people[1]]["share"])  # Carmen misnames
    before = {person.email: _signed_in(app, person)[0].get("/api/v1/wallet").get_json()["balance"]
              for person in (*demo.ANNOTATORS, demo.SPAMMER)}
    for key, amount in (("licence-2027", 500_000), ("grant-2027", 123_457)):
        got = owner.post(f"/api/v1/releases/{body['id']}/revenue", json={"amount": amount, "memo": key},
                         headers={**owner_csrf, "Idempotency-Key": key})
        assert got.status_code == 201 and sum(p["amount"] for p in got.get_json()["paid"]) + got.get_json()["fee"] \
            == amount
    for person in (*demo.ANNOTATORS, demo.SPAMMER):
        client, _ = _signed_in(app, person)
        mine = client.get("/api/v1/me/contributions").get_json()["items"]
        earned = client.get("/api/v1/wallet").get_json()["balance"] - before[person.email]
        assert mine[0]["earned"] == earned
        assert (earned > 0) == (person != demo.SPAMMER)
    assert invoke(app, "ledger", "verify").exit_code == 0
