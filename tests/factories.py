"""Shared builders for the tests: the lane's settings, users' credentials, projects, tasks, answers, funding,
the job runners and the problem assertion.

Test modules and conftest files import from here; no module imports a test module or a conftest
(tests/unit/test_test_layout.py checks). Fixtures stay in the conftest files, built from these.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from PIL import Image
from rq import SimpleWorker
from sqlalchemy import select, text, update
from werkzeug.serving import make_server

from annotator import cli, queue
from annotator.app import create_app
from annotator.models import Base
from annotator.runtime import runtime
from tasks.models import Assignment, Task

# ---------------------------------------------------------------------------------------------------------
# The lane and the app
# ---------------------------------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL") or None
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
FAST_ARGON2 = {"ANNOTATOR_ARGON2_TIME_COST": 1, "ANNOTATOR_ARGON2_MEMORY_KIB": 1024,
               "ANNOTATOR_ARGON2_PARALLELISM": 1}
PASSWORD = "correct horse battery"


def fresh_app(folder, redis_url, shared_database):
    """An app on an empty database: the shared PostgreSQL one truncated, or a new SQLite file in `folder`."""
    if shared_database is not None:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with shared_database.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        database_url = DATABASE_URL
    else:
        database_url = f"sqlite:///{folder / 'test.db'}"
    application = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "INSTANCE_PATH": str(folder / "instance"),
                              "DATABASE_URL": database_url, "REDIS_URL": redis_url, **FAST_ARGON2})
    if shared_database is None:
        Base.metadata.create_all(runtime(application).engine)
    return application


@contextmanager
def on_loopback(app) -> Iterator[str]:
    """The app served on a free loopback port by werkzeug's threaded server, for as long as the block runs: its
    base URL (browsers and real HTTP clients talk to it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def invoke(app, *args):
    return CliRunner().invoke(cli.main, list(args), obj=_script_info(app), catch_exceptions=False)


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def in_parallel(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


# ---------------------------------------------------------------------------------------------------------
# Accounts and problems
# ---------------------------------------------------------------------------------------------------------

PROBLEM = "application/problem+json"


def person(app, email: str) -> tuple[int, dict]:
    """An account made straight in the app's database (any lane, pg_app too) and a bearer header for it."""
    from annotator.users import service

    with runtime(app).session_factory() as session:
        user = service.register(session, runtime(app).passwords, email=email, password=PASSWORD,
                                display_name=email.split("@")[0])
        session.commit()
        _, token = service.create_token(session, user, "tests")
        session.commit()
        return user.id, {"Authorization": f"Bearer {token}"}


def sign_in(client, email: str, password: str = PASSWORD) -> str:
    """Sign in with the session cookie; returns the CSRF token for later writes."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return client.get("/api/v1/auth/csrf").get_json()["csrf_token"]


def assert_problem(response, status: int, code: str | None = None):
    assert response.status_code == status, response.get_data()[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if code:
        assert body["code"] == code
    return body


# ---------------------------------------------------------------------------------------------------------
# Projects and tasks
# ---------------------------------------------------------------------------------------------------------

BIRDS = {"tools": ["bbox", "classify"], "multi_label": False,
         "labels": [{"id": "bird", "name": "鸟类", "children": [
             {"id": "warbler", "name": "莺", "children": [
                 {"id": "yellow_warbler", "name": "黄林莺"}, {"id": "willow_warbler", "name": "欧柳莺"}]},
             {"id": "sparrow", "name": "麻雀"}]}],
         "attributes": [{"name": "occluded", "type": "boolean"},
                        {"name": "pose", "type": "choice", "options": ["perched", "flying"]}]}

# A small label schema as the domain reads it (tasks.schema / tasks.results tests).
SCHEMA_BIRDS = {
    "tools": ["bbox"],
    "multi_label": False,
    "labels": [{"id": "bird", "name": "Bird", "children": [
        {"id": "warbler", "name": "Warbler", "children": [{"id": "yellow_warbler", "name": "Yellow Warbler"}]}]}],
    "attributes": [{"name": "occluded", "type": "boolean"},
                   {"name": "pose", "type": "choice", "options": ["perched", "flying"]}],
}


def schema_with(**changes) -> dict:
    """SCHEMA_BIRDS with some keys changed (a deep copy: the original is never touched)."""
    return {**copy.deepcopy(SCHEMA_BIRDS), **changes}


def messages(fields: dict[str, list[str]], path: str) -> str:
    """The messages an InvalidInput gave for one dotted path, lower-cased; fails naming the paths it did give."""
    assert path in fields, f"no error at {path}; got {fields}"
    return " ".join(fields[path]).lower()


SENTIMENT = {"tools": ["classify", "span"], "labels": [
    {"id": "positive", "name": "Positive"}, {"id": "negative", "name": "Negative"},
    {"id": "species", "name": "Species mention"}]}


# Two subtrees a generalist confuses within: warblers and raptors (skills, skill routing).
FIELD_GUIDE = {"tools": ["classify"], "labels": [
    {"id": "warbler", "name": "Warbler", "names": {"zh": "莺"}, "children": [
        {"id": "willow_warbler", "name": "Willow warbler"}, {"id": "chiffchaff", "name": "Chiffchaff"}]},
    {"id": "raptor", "name": "Raptor", "names": {"zh": "猛禽"}, "children": [
        {"id": "kestrel", "name": "Kestrel"}, {"id": "buzzard", "name": "Buzzard"}]}]}
# Each one's answer for a task whose truth is the key: the warbler expert swaps the raptors, the raptor expert
# the warblers, the all-rounder is always right (so every majority is the truth).
SWAPPED = {"willow_warbler": "chiffchaff", "chiffchaff": "willow_warbler", "kestrel": "buzzard", "buzzard": "kestrel"}
FIELD_CROWD = {"warbler_expert": lambda truth: truth if truth in ("willow_warbler", "chiffchaff") else SWAPPED[truth],
               "raptor_expert": lambda truth: truth if truth in ("kestrel", "buzzard") else SWAPPED[truth],
               "all_rounder": lambda truth: truth}


def field_guide_project(client, owner, truths: list[str], **settings) -> tuple[dict, dict[int, str]]:
    """A public text project on FIELD_GUIDE with a task per truth: (project, task id -> its truth)."""
    response = client.post("/api/v1/projects", json={
        "name": "Field guide", "media_type": "text", "label_schema": FIELD_GUIDE, "overlap": 3,
        "aggregation": "majority", "visibility": "public", **settings}, headers=owner)
    assert response.status_code == 201, response.get_json()
    project = response.get_json()
    rows = [{"data": {"text": f"sighting {n}: {truth}"}} for n, truth in enumerate(truths)]
    if rows:
        assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).status_code == 201
    tasks = client.get(f"/api/v1/projects/{project['id']}/tasks?per_page=500", headers=owner).get_json()["items"]
    return project, {task["id"]: task["data"]["text"].split(": ")[1] for task in tasks}


def project_body(**overrides) -> dict:
    # Majority vote, named: the tests' expected numbers are vote shares (new projects default to dawid_skene_prior).
    return {"name": "Warblers of Yunnan", "media_type": "image", "label_schema": BIRDS, "overlap": 3,
            "visibility": "private", "aggregation": "majority", **overrides}


def text_project_body(**overrides) -> dict:
    return {"name": "Reviews", "media_type": "text", "label_schema": SENTIMENT, "overlap": 2, "aggregation": "majority",
            **overrides}


def create_project(client, headers, **overrides) -> dict:
    response = client.post("/api/v1/projects", json=project_body(**overrides), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_text_project(client, headers, **overrides) -> dict:
    response = client.post("/api/v1/projects", json=text_project_body(**overrides), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def text_tasks(client, owner, count=4, **settings):
    project = create_text_project(client, owner, visibility="public", **settings)
    rows = [{"data": {"text": f"task number {n}"}} for n in range(count)]
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner)
    return project


def gold_project(client, owner, warmup=2, bar=0.7):
    project = create_text_project(client, owner, visibility="public", gold_ratio=0.0,
                                  qualification={"min_gold_accuracy": bar, "warmup_gold": warmup})
    gold = [{"data": {"text": f"gold {n}"}, "gold": {"labels": ["positive"]}} for n in range(3)]
    plain = [{"data": {"text": f"plain {n}"}} for n in range(3)]
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=gold + plain, headers=owner)
    return project


# ---------------------------------------------------------------------------------------------------------
# Labelling
# ---------------------------------------------------------------------------------------------------------

def nxt(client, project, headers):
    return client.post(f"/api/v1/projects/{project['id']}/next", headers=headers)


def answer(client, lease, headers, label="positive", **extra):
    return client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                       json={"result": {"labels": [label]}, "lead_time_ms": 1200}, headers={**headers, **extra})


def label_all(client, project, headers) -> list[int]:
    done = []
    while (response := nxt(client, project, headers)).status_code == 200:
        lease = response.get_json()
        assert answer(client, lease, headers).status_code == 201
        done.append(lease["task"]["id"])
    assert response.status_code == 204
    return done


def expire(db, lease) -> None:
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    db.execute(update(Assignment).where(Assignment.id == lease["assignment"]["id"]).values(expires_at=past))
    db.commit()


# Answers by annotator (rows) for tasks in the order they were created (columns); None: not answered.
ANSWERS = [["positive", "negative", "positive", "species", "positive"],
           ["positive", "negative", "negative", "species", None],
           ["positive", "positive", "negative", "species", "positive"]]
LABELS = ["positive", "negative", "species"]


def label_as(client, project, headers, wanted: dict[int, str]) -> None:
    """Take tasks until none is left, answering each with wanted[task id] or skipping it."""
    while (response := nxt(client, project, headers)).status_code == 200:
        lease = response.get_json()
        assignment = lease["assignment"]["id"]
        label = wanted.get(lease["task"]["id"])
        if label is None:
            client.post(f"/api/v1/assignments/{assignment}/skip", json={}, headers=headers)
            continue
        answer = client.post(f"/api/v1/assignments/{assignment}/annotation", json={"result": {"labels": [label]}},
                             headers=headers)
        assert answer.status_code == 201, answer.get_json()


def labelled_as_answers(client, owner, annotators) -> tuple[dict, list[int]]:
    """A text project of overlap 3 whose tasks the annotators answered as ANSWERS says: (project, task ids)."""
    project = create_text_project(client, owner, overlap=3, visibility="public")
    rows = [{"data": {"text": f"review {n}"}} for n in range(len(ANSWERS[0]))]
    task_ids = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).get_json()["task_ids"]
    for headers, answers in zip(annotators, ANSWERS):
        label_as(client, project, headers, {t: a for t, a in zip(task_ids, answers) if a is not None})
    return project, task_ids


# ---------------------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------------------

RATES = {"per_annotation": 50, "agreement_bonus": 20}


def confirm_deposits(app, only: list[int] | None = None) -> list[int]:
    """Confirm every pending deposit (or those of `only`) as an administrator would; returns their ids."""
    from annotator.db import utcnow
    from annotator.users import service
    from annotator.users.models import User
    from incentives import budgets
    from incentives.models import Deposit

    with app.app_context():
        session = runtime().session_factory()
        admin = session.scalar(select(User).where(User.email == "treasurer@example.org"))
        if admin is None:
            admin = service.register(session, runtime().passwords, email="treasurer@example.org", password=PASSWORD,
                                     display_name="Treasurer", is_admin=True)
        query = select(Deposit.id).where(Deposit.status == "pending").order_by(Deposit.id)
        pending = session.scalars(query if only is None else query.where(Deposit.id.in_(only))).all()
        for deposit_id in pending:
            budgets.decide_deposit(session, deposit_id, admin, True, utcnow())
        session.commit()
        session.close()
    return list(pending)


def deposit(client, app, project_id: int, owner, amount: int) -> dict:
    """Fund a project: the owner asks, an administrator confirms."""
    made = client.post(f"/api/v1/projects/{project_id}/budget/deposits", json={"amount": amount}, headers=owner)
    assert made.status_code == 201, made.get_json()
    confirm_deposits(app, [made.get_json()["id"]])
    return made.get_json()


def funded(client, owner, amount=1000, tasks=2, **settings):
    project = create_text_project(client, owner, **{"visibility": "public", "overlap": 2, "rewards": RATES,
                                                    **settings})
    client.post(f"/api/v1/projects/{project['id']}/tasks",
                json=[{"data": {"text": f"t{n}"}} for n in range(tasks)], headers=owner)
    deposit(client, client.application, project["id"], owner, amount)
    return project


def budget(client, project, owner):
    return client.get(f"/api/v1/projects/{project['id']}/budget", headers=owner).get_json()


def wallet(client, headers):
    return client.get("/api/v1/wallet", headers=headers).get_json()


def verified(app):
    from incentives import checks

    with app.app_context():
        session = runtime().session_factory()
        try:
            return checks.verify_all(session)
        finally:
            session.close()


# ---------------------------------------------------------------------------------------------------------
# Media, imports and exports through the job queues
# ---------------------------------------------------------------------------------------------------------

def jpeg(width=64, height=48, color=(200, 40, 40), pattern=0, exif=None) -> bytes:
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 8):  # some structure, so perceptual hashes differ between patterns
        for y in range(height):
            if (x // 8 + pattern) % 3 == 0:
                image.putpixel((x, y), (20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, **({"exif": exif} if exif else {}))
    return out.getvalue()


def upload(client, project_id, headers, files: dict[str, bytes], **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()], **form}
    return client.post(f"/api/v1/projects/{project_id}/imports", data=data, headers=headers,
                       content_type="multipart/form-data")


def run_jobs(app):
    with app.app_context():
        connection = runtime().redis
        SimpleWorker([queue.get_queue(connection, "imports")], connection=connection).work(burst=True)


def imported(client, app, project_id, headers, files, **form) -> dict:
    response = upload(client, project_id, headers, files, **form)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "queued"
    run_jobs(app)
    report = client.get(f"/api/v1/imports/{response.get_json()['id']}", headers=headers).get_json()
    assert report["status"] == "finished", report
    return report


def tasks_of(db, project_id):
    db.rollback()  # end the previous read: on SQLite it would keep showing its old snapshot
    return db.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id)).all()


def run_exports(app) -> None:
    with app.app_context():
        connection = runtime().redis
        SimpleWorker([queue.get_queue(connection, "exports")], connection=connection).work(burst=True)


def run_simulations(app) -> None:
    with app.app_context():
        connection = runtime().redis
        SimpleWorker([queue.get_queue(connection, "simulations")], connection=connection).work(burst=True)


def export(client, app, project, headers, format_name="jsonl", include="consensus", run=True) -> dict:
    made = client.post(f"/api/v1/projects/{project['id']}/exports", json={"format": format_name, "include": include},
                       headers=headers)
    assert made.status_code == 202, made.get_json()
    assert made.get_json()["status"] in ("queued", "running", "completed")
    if run:
        run_exports(app)
    return client.get(f"/api/v1/exports/{made.get_json()['id']}", headers=headers).get_json()


# Issue 17's vehicle scene (tests/api/test_object_quality.py, the quality page's browser test).
VEHICLE_LABELS = [{"id": "car", "name": "Car", "children": [{"id": "sedan", "name": "Sedan"},
                                                      {"id": "hatchback", "name": "Hatchback"}]},
            {"id": "truck", "name": "Truck", "children": [{"id": "pickup", "name": "Pickup"},
                                                          {"id": "van", "name": "Van"}]}]
VEHICLE_RATES = {"per_annotation": 50, "agreement_bonus": 20}
VEHICLE_IMAGES = 6
# Per image, the vehicles in it: [x, y, w, h] and the true label. Everyone boxes them exactly (IoU 1), so only
# the labels differ.
VEHICLE_SCENE = [[([4, 4, 20, 16], "sedan")], [([30, 10, 20, 20], "pickup")], [([2, 2, 16, 16], "hatchback")],
         [([4, 4, 20, 16], "sedan"), ([40, 20, 20, 20], "pickup")], [([10, 10, 30, 20], "sedan")],
         [([5, 25, 20, 15], "hatchback")]]
VEHICLE_SIBLING = {"sedan": "hatchback", "hatchback": "sedan", "pickup": "van"}
VEHICLE_MISNAMED = [(0, 0), (3, 1), (5, 0)]  # (image, box): the third annotator names these 3 of the 7 boxes the sibling


def vehicle_project(app, client, owner, annotators):
    """Issue 17's scenario: a box + polygon project with a vehicle taxonomy and no whole-item labels, six images
    answered by three annotators, the third naming 3 of the 7 boxes a sibling class. Returns (project, the
    misnamed boxes as (task id, true label))."""
    response = client.post("/api/v1/projects", json={
        "name": "Street vehicles", "media_type": "image", "overlap": 3, "visibility": "public", "rewards": VEHICLE_RATES,
        "aggregation": "majority",
        "label_schema": {"tools": ["bbox", "polygon"], "labels": VEHICLE_LABELS}}, headers=owner)
    assert response.status_code == 201, response.get_json()
    project = response.get_json()
    files = {f"street-{n}.jpg": jpeg(64, 48, pattern=n, color=(40 * n, 90, 160)) for n in range(VEHICLE_IMAGES)}
    imported(client, app, project["id"], owner, files)
    deposit(client, app, project["id"], owner, 5000)
    misnamed = []
    for who, headers in enumerate(annotators):
        while (lease := nxt(client, project, headers)).status_code == 200:
            body = lease.get_json()
            image = int(body["task"]["data"]["name"].split("-")[1].split(".")[0])
            objects = []
            for n, (box, label) in enumerate(VEHICLE_SCENE[image]):
                if who == 2 and (image, n) in VEHICLE_MISNAMED:
                    misnamed.append((body["task"]["id"], label))
                    label = VEHICLE_SIBLING[label]
                objects.append({"tool": "bbox", "label": label, "bbox": box})
            answered = client.post(f"/api/v1/assignments/{body['assignment']['id']}/annotation",
                                   json={"result": {"objects": objects}}, headers=headers)
            assert answered.status_code == 201, answered.get_json()
    return project, misnamed


# ---------------------------------------------------------------------------------------------------------
# Payment providers' notifications, signed as a provider signs them (the README's recipe, written out here
# rather than taken from incentives/providers.py, so a test checks the server against the recipe)
# ---------------------------------------------------------------------------------------------------------

PAYMENT_PROVIDER = "testbank"
PAYMENT_SECRET = "whsec-current-0123456789abcdef"


def payment_settings(*secrets: str) -> dict:
    """Settings that configure the test provider with these secrets (by default PAYMENT_SECRET)."""
    return {"ANNOTATOR_PAYMENT_PROVIDER": PAYMENT_PROVIDER,
            "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": ",".join(secrets or (PAYMENT_SECRET,))}


def signed_notification(body, secret: str = PAYMENT_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    """(the raw body, its headers): HMAC-SHA256 of '<unix seconds>.<raw body>' as X-Payment-Signature."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {"X-Payment-Signature": f"t={moment},v1={digest}", "Content-Type": "application/json"}


def payment_notification(deposit: dict, outcome: str = "paid", **changes) -> dict:
    """The generic notification body for a deposit as POST /budget/deposits answered it."""
    return {"deposit_id": deposit["id"], "amount": deposit["amount"], "outcome": outcome,
            "reference": f"pay-{deposit['id']}-{outcome}", **changes}


# ---------------------------------------------------------------------------------------------------------
# Counting statements (no N+1)
# ---------------------------------------------------------------------------------------------------------

class StatementCount:
    """The SQL statements the app's engine runs inside a `with` block (`statements`: their text)."""

    def __init__(self, app) -> None:
        self.engine = runtime(app).engine
        self.statements: list[str] = []

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCount:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)

    def __len__(self) -> int:
        return len(self.statements)


def answer_in_turn(client, project, people, choose) -> None:
    """Each of `people` (their headers) in turn takes the next task and answers it with the label
    `choose(who, lease)` picks (who: their place in `people`), until no task is left for anyone."""
    busy = True
    while busy:
        busy = False
        for who, headers in enumerate(people):
            lease = nxt(client, project, headers)
            if lease.status_code != 200:
                continue
            busy = True
            body = lease.get_json()
            said = client.post(f"/api/v1/assignments/{body['assignment']['id']}/annotation",
                               json={"result": {"labels": [choose(who, body)]}}, headers=headers)
            assert said.status_code == 201, said.get_json()
