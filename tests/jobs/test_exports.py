"""Dataset exports through the API and the exports worker: JSONL and CSV content, checksums, dedupe, access,
bad input, and a real worker SIGKILLed mid-export (the export still completes, with the undisturbed checksum)."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import signal
import subprocess
import sys
import time

import orjson
import pytest
from sqlalchemy import select, update

from annotator import queue
from annotator.runtime import runtime
from tasks.models import Export
from tests.factories import answer, assert_problem, create_text_project, export, funded, invoke, nxt, run_exports


def labelled(client, owner, annotators):
    """A paid text project: task 1 agreed (positive), task 2 split, task 3 unanswered."""
    project = funded(client, owner, tasks=3)
    client.patch(f"/api/v1/projects/{project['id']}", json={"licence": "CC-BY-4.0"}, headers=owner)
    for headers, labels in zip(annotators[:2], (["positive", "positive"], ["positive", "negative"])):
        for label in labels:
            assert answer(client, nxt(client, project, headers).get_json(), headers, label=label).status_code == 201
    return project


def test_a_jsonl_export_completes_with_its_checksum_and_content(app, client, owner, annotators):
    project = labelled(client, owner, annotators)
    done = export(client, app, project, owner, include="all")
    assert done["status"] == "completed" and done["progress"] == 1.0 and done["rows"] == 3, done
    body = client.get(done["download_url"], headers=owner)
    assert body.status_code == 200 and body.headers["Content-Disposition"].startswith("attachment")
    data = body.get_data()
    assert hashlib.sha256(data).hexdigest() == done["sha256"] and len(data) == done["size_bytes"]
    lines = [orjson.loads(line) for line in data.splitlines()]
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    by_answers = sorted(lines, key=lambda line: -len(line["annotations"]))
    agreed = next(line for line in lines if [a["result"] for a in line["annotations"]] == [{"labels": ["positive"]}] * 2)
    assert agreed["result"] == {"labels": ["positive"]} and agreed["answers"] == 2 and agreed["method"]
    assert 0 < agreed["confidence"] <= 1 and agreed["agreement"] is not None
    assert sorted(len(line["annotations"]) for line in lines) == [1, 1, 2] or \
        sorted(len(line["annotations"]) for line in lines) == [0, 2, 2]
    for line in lines:
        if not line["annotations"]:
            assert line["result"] is None and line["answers"] == 0
    answers = agreed["annotations"]
    assert len(answers) == 2 and all(a["annotator"].startswith("a_") for a in answers)
    assert len({a["annotator"] for a in answers}) == 2 and all(a["lead_time_ms"] == 1200 for a in answers)
    assert all(a["credits"] == 70 for a in answers)  # 50 base + the full bonus: both agreed
    import re

    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", a["created_at"]) for a in answers), answers
    names = {a["annotator"] for line in by_answers for a in line["annotations"]}
    assert names == {a["annotator"] for a in answers}  # one stable pseudonym per person
    assert "a0@example.org" not in data.decode() and all("user_id" not in a for a in answers)
    card = client.get(done["card_url"], headers=owner).get_json()
    assert card["dataset"]["licence"] == "CC-BY-4.0" and card["counts"] == {"tasks": 3, "answers": 4,
                                                                             "annotators": 2}
    assert card["export"]["format"] == "jsonl" and "krippendorff_alpha" in card["agreement"]


def test_the_same_request_returns_the_same_export_until_the_data_changes(app, client, owner, annotators):
    project = labelled(client, owner, annotators)
    first = export(client, app, project, owner, run=False)
    again = export(client, app, project, owner, run=False)
    assert again["id"] == first["id"]  # queued: the same one, not a second job
    run_exports(app)
    assert export(client, app, project, owner, run=False)["id"] == first["id"]  # completed: still the same data
    assert export(client, app, project, owner, "csv", run=False)["id"] != first["id"]
    assert answer(client, nxt(client, project, annotators[2]).get_json(), annotators[2]).status_code == 201
    assert export(client, app, project, owner, run=False)["id"] != first["id"]


def test_the_same_data_gives_the_same_bytes(app, client, owner, annotators, db):
    project = labelled(client, owner, annotators)
    done = export(client, app, project, owner, include="all")
    row = db.get(Export, done["id"])
    twin = Export(project_id=row.project_id, created_by=row.created_by, format=row.format, include=row.include,
                  fingerprint="twin", status="queued", progress=0.0, rows=0, attempts=0)
    db.add(twin)
    db.commit()
    with app.app_context():
        from annotator.jobs import run_export

        run_export(twin.id)
    again = client.get(f"/api/v1/exports/{twin.id}", headers=owner).get_json()
    assert again["sha256"] == done["sha256"] and again["size_bytes"] == done["size_bytes"]


def test_csv_cells_that_would_be_formulas_are_neutralised(app, client, owner, annotators):
    project = create_text_project(client, owner, visibility="public", overlap=1)
    texts = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-3", "@SUM(A1)", "\tTab", "plain, with comma"]
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": t}} for t in texts], headers=owner)
    done = export(client, app, project, owner, "csv", include="all")
    text = client.get(done["download_url"], headers=owner).get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(texts)
    for row, original in zip(rows, texts):
        assert not row["data"].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert orjson.loads(row["data"])["text"] == original  # the JSON cell keeps the text itself
    formula_project = create_text_project(client, owner, name="=cmd|' /C calc'!A0", overlap=1)
    client.post(f"/api/v1/projects/{formula_project['id']}/tasks", json=[{"data": {"text": "x"}, "external_id":
                                                                          "=1+1"}], headers=owner)
    done = export(client, app, formula_project, owner, "csv")
    row = next(csv.DictReader(io.StringIO(client.get(done["download_url"], headers=owner).get_data().decode(
        "utf-8-sig"))))
    assert row["external_id"] == "'=1+1"


@pytest.mark.parametrize(("body", "field"), [
    ({"format": "xlsx"}, "format"), ({}, "format"), ({"format": "jsonl", "include": "some"}, "include"),
    ({"format": "jsonl", "extra": True}, "extra"), ({"format": 5}, "format"), ({"format": "coco"}, "format")])
def test_bad_export_requests_are_422_and_queue_nothing(app, client, owner, body, field, db):
    project = create_text_project(client, owner)
    refused = client.post(f"/api/v1/projects/{project['id']}/exports", json=body, headers=owner)
    assert field in assert_problem(refused, 422)["errors"]
    assert db.scalar(select(Export.id)) is None


def test_exports_are_for_owners_and_managers_only(app, client, owner, annotators):
    project = labelled(client, owner, annotators)
    done = export(client, app, project, owner)
    member_refused = client.post(f"/api/v1/projects/{project['id']}/exports", json={"format": "jsonl"},
                                 headers=annotators[0])
    assert member_refused.status_code in (403, 404)
    for path in (f"/api/v1/exports/{done['id']}", done["download_url"], done["card_url"]):
        assert_problem(client.get(path, headers=annotators[0]), 404)
        assert_problem(client.get(path), 401)
    assert_problem(client.get("/api/v1/exports/999999", headers=owner), 404)
    listed = client.get(f"/api/v1/projects/{project['id']}/exports", headers=owner).get_json()
    assert [e["id"] for e in listed["items"]] == [done["id"]]


def test_a_download_before_completion_is_409(app, client, owner, annotators):
    project = labelled(client, owner, annotators)
    queued = export(client, app, project, owner, run=False)
    refused = client.get(f"/api/v1/exports/{queued['id']}/download", headers=owner)
    assert assert_problem(refused, 409)["code"] == "conflict"


def test_a_failing_export_is_marked_failed_with_its_error(app, client, owner, annotators, monkeypatch):
    from tasks.formats import jsonl

    project = labelled(client, owner, annotators)

    def explode(self, task):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jsonl.JsonlWriter, "write", explode)
    with app.app_context():
        queue.get_queue(runtime().redis, "exports").empty()
    failed = export(client, app, project, owner)
    assert failed["status"] == "failed" and "disk on fire" in failed["error"] and failed["download_url"] is None


def test_an_export_whose_job_was_lost_is_queued_again_and_one_still_waiting_is_left_alone(
        app, client, owner, annotators, db):
    """Redis down at the commit, or a job queued under a name an upgrade removed: the minutely check finds the
    export still queued long after, and queues it again unless its job is still waiting."""
    from annotator.jobs import reclaim_stale_exports

    project = labelled(client, owner, annotators)
    with app.app_context():
        exports_queue = queue.get_queue(runtime().redis, "exports")
        exports_queue.empty()
    queued = export(client, app, project, owner, run=False)
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
    db.execute(update(Export).where(Export.id == queued["id"]).values(created_at=long_ago))
    db.commit()
    with app.app_context():
        assert reclaim_stale_exports() == []  # its job is still waiting: only the worker is slow
        exports_queue.empty()  # the job is lost
        assert reclaim_stale_exports() == [queued["id"]]
        assert exports_queue.job_ids == [f"export-{queued['id']}-0"]
        assert reclaim_stale_exports() == []  # queued once, not every minute
    run_exports(app)
    assert client.get(f"/api/v1/exports/{queued['id']}", headers=owner).get_json()["status"] == "completed"


# --- a real worker, killed ------------------------------------------------------------------------------------

def _worker(app, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
           "ANNOTATOR_SECRET_KEY": "worker-test-key", "ANNOTATOR_INSTANCE_PATH": app.instance_path,
           "ANNOTATOR_STORAGE_PATH": app.config["ANNOTATOR_STORAGE_PATH"]}
    return subprocess.Popen([sys.executable, "-m", "annotator.cli", "worker", "--queue", "exports", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_a_worker_killed_mid_export_leaves_no_file_and_the_export_completes_with_the_same_checksum(
        app, client, owner, annotators, db):
    from annotator.jobs import reclaim_stale_exports

    project = create_text_project(client, owner, visibility="public", overlap=1)
    for start in range(0, 30_000, 10_000):
        assert client.post(f"/api/v1/projects/{project['id']}/tasks", headers=owner, json=[
            {"data": {"text": f"review number {n} " + "words " * 20}} for n in range(start, start + 10_000)]
        ).status_code == 201
    with app.app_context():
        queue.get_queue(runtime().redis, "exports").empty()
    queued = export(client, app, project, owner, include="all", run=False)
    worker = _worker(app)
    try:
        deadline = time.monotonic() + 120
        while db.scalar(select(Export.status).where(Export.id == queued["id"]).execution_options(
                populate_existing=True)) != "running":
            assert time.monotonic() < deadline and worker.poll() is None, worker.stderr.read() if worker.poll() else ""
            db.rollback()
            time.sleep(0.005)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-export
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    db.rollback()
    killed = client.get(f"/api/v1/exports/{queued['id']}", headers=owner).get_json()
    assert killed["status"] == "running" and killed["download_url"] is None and killed["sha256"] is None
    assert_problem(client.get(f"/api/v1/exports/{queued['id']}/download", headers=owner), 409)
    exported = os.path.join(app.config["ANNOTATOR_STORAGE_PATH"], "exports", str(queued["id"]))
    assert not os.path.exists(exported) or not [f for f in os.listdir(exported) if not f.startswith(".")]
    # The minutely check sees no heartbeat for longer than STALE_AFTER and queues it again.
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    db.execute(update(Export).where(Export.id == queued["id"]).values(heartbeat_at=long_ago))
    db.commit()
    with app.app_context():
        queue.get_queue(runtime().redis, "exports").empty()  # RQ's own retry may also be pending: one is enough
        assert reclaim_stale_exports() == [queued["id"]]
    finished = _worker(app, "--burst")
    assert finished.wait(timeout=300) == 0, finished.stderr.read()[-2000:]
    done = client.get(f"/api/v1/exports/{queued['id']}", headers=owner).get_json()
    assert done["status"] == "completed" and done["rows"] == 30_000
    # An undisturbed export of the same data by the same kind of worker: the same bytes.
    row = db.get(Export, queued["id"])
    twin = Export(project_id=row.project_id, created_by=row.created_by, format=row.format, include=row.include,
                  fingerprint="twin", status="queued", progress=0.0, rows=0, attempts=0)
    db.add(twin)
    db.commit()
    with app.app_context():
        session = runtime().session_factory()
        queue.enqueue_export(session, twin.id, twin.attempts)
        session.commit()
        session.close()
    assert _worker(app, "--burst").wait(timeout=300) == 0
    undisturbed = client.get(f"/api/v1/exports/{twin.id}", headers=owner).get_json()
    assert undisturbed["status"] == "completed" and undisturbed["sha256"] == done["sha256"]


def test_the_demo_project_exports_in_every_format_and_each_file_loads_in_its_tool(app, client):
    """The issue's 'done when': the demo owner exports both demo projects in every format their media allow,
    follows each to completion, downloads it, and the files load in the tools that consume them."""
    import json
    import xml.etree.ElementTree as ET
    import zipfile

    import yaml
    from pycocotools.coco import COCO

    from annotator import demo
    from tasks.formats.label_studio import parse_export

    assert invoke(app, "demo").exit_code == 0
    assert client.post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD}
                       ).status_code == 200
    headers = {"X-CSRF-Token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]}
    listed = client.get("/api/v1/projects").get_json()["items"]
    with app.app_context():
        queue.get_queue(runtime().redis, "exports").empty()
    for project in listed:
        formats = ["jsonl", "csv", "label_studio"] + (["coco", "yolo", "voc"] if project["media_type"] == "image"
                                                      else [])
        for format_name in formats:
            done = export(client, app, project, headers, format_name, include="all")
            assert done["status"] == "completed" and done["progress"] == 1.0, done
            data = client.get(done["download_url"]).get_data()
            assert hashlib.sha256(data).hexdigest() == done["sha256"]
            if format_name == "jsonl":
                lines = [orjson.loads(line) for line in data.splitlines()]
                assert len(lines) == client.get(f"/api/v1/projects/{project['id']}/stats").get_json()["total"]
                assert any(line["annotations"] for line in lines)
            elif format_name == "csv":
                assert list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
            elif format_name == "label_studio":
                assert len(parse_export(data)) == len(json.loads(data))
            elif format_name == "coco":
                path = os.path.join(app.instance_path, f"coco-{project['id']}.json")
                with open(path, "wb") as file:
                    file.write(data)
                coco = COCO(path)
                assert len(coco.getImgIds()) > 0 and coco.loadCats(coco.getCatIds())
                for image in coco.loadImgs(coco.getImgIds()):
                    assert (image["width"], image["height"]) == (640, 480)
            elif format_name == "yolo":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    described = yaml.safe_load(archive.read("data.yaml"))
                    assert described["nc"] == len(described["names"]) and "dataset_card.json" in archive.namelist()
                    for name in archive.namelist():
                        if name.startswith("labels/"):
                            for line in archive.read(name).decode().splitlines():
                                parts = line.split()
                                assert len(parts) == 5 and 0 <= int(parts[0]) < described["nc"]
                                assert all(0.0 <= float(v) <= 1.0 for v in parts[1:])
            elif format_name == "voc":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    xmls = [n for n in archive.namelist() if n.startswith("Annotations/")]
                    for name in xmls:
                        root = ET.fromstring(archive.read(name))
                        assert root.find("size/width").text == "640"


def test_a_large_projects_export_takes_the_fresh_stored_consensus_else_each_tasks_own_majority(
        app, client, owner, annotators):
    """Above ANNOTATOR_QUALITY_ON_REQUEST the export computes no consensus: it takes the quality worker's stored
    one where it is fresh, else the task's own majority (rejected answers left out, ties to the smaller id)."""
    project = labelled(client, owner, annotators)
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 1

    def lines(done):
        body = client.get(done["download_url"], headers=owner).get_data()
        return {len(line["annotations"]) and tuple(sorted(a["result"]["labels"][0] for a in line["annotations"])):
                line for line in map(orjson.loads, body.splitlines())}

    first = export(client, app, project, owner, include="all")
    by_votes = lines(first)
    agreed, split = by_votes[("positive", "positive")], by_votes[("negative", "positive")]
    assert (agreed["result"], agreed["method"], agreed["confidence"], agreed["answers"]) == (
        {"labels": ["positive"]}, "majority_vote", 1.0, 2)
    assert (split["result"], split["confidence"], split["agreement"]) == ({"labels": ["negative"]}, 0.5, 0.5)
    assert by_votes[0]["result"] is None and by_votes[0]["answers"] == 0

    negative = next(a for a in split["annotations"] if a["result"]["labels"] == ["negative"])
    assert client.post(f"/api/v1/annotations/{negative['id']}/review", json={"verdict": "reject", "note": "wrong"},
                       headers=owner).status_code in (200, 201)
    split = lines(export(client, app, project, owner, include="all"))[("negative", "positive")]
    assert (split["result"], split["confidence"]) == ({"labels": ["positive"]}, 1.0)  # the rejected one is out

    with app.app_context():
        from tasks.jobs import refresh_quality

        assert refresh_quality() == [project["id"]]
    stored = export(client, app, project, owner, include="all")
    assert lines(stored)[("positive", "positive")]["method"] != "majority_vote"  # the worker's, as stored

    # The rejection took the split task under its overlap: it is offered again first (a started task) ...
    lease = nxt(client, project, annotators[2]).get_json()
    assert lease["task"]["id"] == split["id"]
    assert answer(client, lease, annotators[2], label="positive").status_code == 201
    lease = nxt(client, project, annotators[2]).get_json()  # ... then the one task left: the store knows nothing of it
    assert lease["task"]["id"] == by_votes[0]["id"]
    assert answer(client, lease, annotators[2], label="negative").status_code == 201
    latest = lines(export(client, app, project, owner, include="all"))
    assert latest[("negative",)]["method"] == "majority_vote"
    assert (latest[("negative",)]["result"], latest[("negative",)]["confidence"]) == ({"labels": ["negative"]}, 1.0)
    assert latest[("positive", "positive")]["method"] == lines(stored)[("positive", "positive")]["method"]


def test_a_forged_host_header_cannot_point_export_links_elsewhere(app, client, owner, annotators):
    project = labelled(client, owner, annotators)
    done = export(client, app, project, owner)
    forged = client.get(f"/api/v1/exports/{done['id']}", headers={**owner, "Host": "evil.example"},
                        environ_overrides={"HTTP_X_FORWARDED_HOST": "evil.example"}).get_json()
    for link in (forged["download_url"], forged["card_url"]):
        assert link.startswith("/api/v1/exports/") and "evil" not in link  # a path on whatever host serves it
    card = client.get(done["card_url"], headers={**owner, "Host": "evil.example"}).get_data(as_text=True)
    assert "evil" not in card and "http" not in card
