"""Answers given elsewhere, imported with their annotators (issue 20): CSV, NDJSON, JSON and Label Studio exports;
tasks matched by external id or created; external contributors named by pseudonym, kept apart from accounts;
analysed like our own answers (agreement, reliability, consensus), never paid; all-or-nothing with every bad row
named; the same file twice adds nothing; large files through an import job."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from annotator.runtime import runtime
from annotator.users.models import User
from tasks.models import Annotation, Task
from tests.factories import (answer, assert_problem, create_text_project, deposit, nxt, run_jobs, verified,
                             wallet)

CSV = "text/csv"


@pytest.fixture
def project(client, owner):
    made = create_text_project(client, owner, overlap=3, visibility="public")
    rows = [{"external_id": f"item-{n}", "data": {"text": f"review number {n}"}} for n in range(6)]
    assert client.post(f"/api/v1/projects/{made['id']}/tasks", json=rows, headers=owner).status_code == 201
    return made


def post(client, project, headers, body, content_type=CSV, **query):
    data = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    return client.post(f"/api/v1/projects/{project['id']}/answers/import", data=data, content_type=content_type,
                       headers=headers, query_string=query)


# worker -> the labels of item-0..5: w1 and w2 mostly agree, w3 is a spammer saying "positive" to everything
CROWD = {"w1": ["positive", "negative", "positive", "negative", "species", "positive"],
         "w2": ["positive", "negative", "positive", "negative", "species", "negative"],
         "w3": ["positive", "positive", "positive", "positive", "positive", "positive"]}


def crowd_csv(crowd=CROWD) -> str:
    lines = ["external_id,annotator,label"]
    for worker, labels in crowd.items():
        lines += [f"item-{n},{worker},{label}" for n, label in enumerate(labels)]
    return "\n".join(lines) + "\n"


def test_a_csv_of_a_crowds_labels_is_analysed_like_our_own_answers(app, client, owner, project):
    response = post(client, project, owner, crowd_csv())
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": 18, "duplicates": 0, "tasks_created": 0, "annotators": 3,
                                   "annotators_created": 3}
    report = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert report["annotations"] == 18 and len(report["per_annotator"]) == 3
    assert report["krippendorff_alpha"] is not None
    reliability = {a["user_id"]: a["reliability"] for a in report["per_annotator"]}
    with runtime(app).session_factory() as session:
        names = dict(session.execute(select(User.id, User.display_name).where(User.kind == "external")).all())
    by_name = {names[user_id]: value for user_id, value in reliability.items()}
    assert by_name["w3"] < min(by_name["w1"], by_name["w2"])  # the spammer is found out
    tasks = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"]
    consensus = client.get(f"/api/v1/tasks/{tasks[1]['id']}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["negative"]} and consensus["annotations"] == 3
    answers = client.get(f"/api/v1/tasks/{tasks[0]['id']}/annotations", headers=owner).get_json()["items"]
    assert sorted(a["user"]["display_name"] for a in answers) == ["w1", "w2", "w3"]
    assert all(a["user"]["email"] is None for a in answers)
    # Imported answers do not take our annotators' places: the tasks are still open for three of ours.
    assert all(t["status"] == "open" and (t["annotations"], t["submitted"]) == (3, 0) for t in tasks)
    # The dashboard's figures say how far the imported answers reach, though no task is complete.
    stats = client.get(f"/api/v1/projects/{project['id']}/stats", headers=owner).get_json()
    assert (stats["progress"], stats["annotations"], stats["imported"], stats["answered"]) == (0.0, 18, 18, 6)


def test_stats_count_imported_answers_apart_from_ours(client, owner, project, annotators):
    rows = "external_id,annotator,label\nitem-0,w1,positive\nitem-0,w2,negative\nitem-1,w1,positive\n"
    assert post(client, project, owner, rows).status_code == 201
    leased = nxt(client, project, annotators[0]).get_json()
    assert answer(client, leased, annotators[0]).status_code == 201
    stats = client.get(f"/api/v1/projects/{project['id']}/stats", headers=owner).get_json()
    touched = {"item-0", "item-1", "item-" + leased["task"]["data"]["text"].split()[-1]}
    assert (stats["annotations"], stats["imported"], stats["answered"]) == (4, 3, len(touched))


def test_the_same_file_twice_adds_nothing(client, owner, project):
    assert post(client, project, owner, crowd_csv()).status_code == 201
    again = post(client, project, owner, crowd_csv())
    assert again.status_code == 201 and again.get_json()["created"] == 0 and again.get_json()["duplicates"] == 18
    assert again.get_json()["annotators_created"] == 0


def test_ndjson_and_json_rows_carry_results_times_and_lead_times(app, client, owner, project):
    rows = [{"external_id": "item-0", "annotator": "turker-A", "result": {"labels": ["negative"]},
             "created_at": "2025-03-01T08:30:00Z", "lead_time_ms": 4200},
            {"external_id": "item-0", "annotator": "turker-B", "result": {"spans": [
                {"start": 0, "end": 6, "label": "species"}]}}]
    ndjson = "\n".join(orjson.dumps(r).decode() for r in rows)
    assert post(client, project, owner, ndjson, "application/x-ndjson").status_code == 201
    assert post(client, project, owner, [{**rows[0], "external_id": "item-1"}], "application/json").status_code == 201
    with runtime(app).session_factory() as session:
        stored = session.execute(select(Annotation.lead_time_ms, Annotation.created_at, Annotation.assignment_id)
                                 .order_by(Annotation.id)).all()
    assert stored[0][0] == 4200 and stored[0][1].year == 2025 and all(row[2] is None for row in stored)


def test_unknown_tasks_are_refused_by_name_unless_created(client, owner, project):
    body = "external_id,annotator,label,text\nnew-1,w1,positive,A brand new item\nitem-0,w1,negative,\nnew-2,w2,positive,\n"
    refused = assert_problem(post(client, project, owner, body), 422)
    assert set(refused["errors"]) == {"rows.1.external_id", "rows.3.external_id"}
    assert "create_tasks" in refused["errors"]["rows.1.external_id"][0]
    made = post(client, project, owner, body, create_tasks="true")
    assert made.status_code == 201 and made.get_json()["tasks_created"] == 2 and made.get_json()["created"] == 3
    listed = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"]
    created = {t["external_id"]: t for t in listed if t["external_id"].startswith("new-")}
    assert created["new-1"]["data"] == {"text": "A brand new item"} and created["new-1"]["status"] == "completed"
    assert created["new-2"]["data"] == {"external_id": "new-2"}  # only its id: a record of the item


@pytest.mark.parametrize("body,field", [
    ("external_id,annotator,label\nitem-0,w1,no-such-label\n", "rows.1.label"),
    ("external_id,annotator,label\nitem-0,,positive\n", "rows.1.annotator"),
    ("external_id,annotator,label\nitem-0,w1,positive\nitem-0,w1,negative\n", "rows.2.annotator"),
    ("external_id,annotator,label\n,w1,positive\n", "rows.1.external_id"),
    ("external_id,annotator,result\nitem-0,w1,{not json\n", "rows.1.result"),
    ("external_id,annotator,result\nitem-0,w1,\"{\"\"labels\"\": [\"\"nope\"\"]}\"\n", "rows.1.result.labels.0"),
    ("external_id,annotator,label,created_at\nitem-0,w1,positive,yesterday\n", "rows.1.created_at"),
    ("external_id,annotator,label,lead_time_ms\nitem-0,w1,positive,-5\n", "rows.1.lead_time_ms"),
    ("external_id,annotator,label\nitem-0,w1\n", "rows.1"),
    ("item,worker,label\nitem-0,w1,positive\n", "_body"),
    ("external_id,annotator,label\n", "_body"),
])
def test_bad_rows_are_422_naming_the_row_and_field_and_nothing_is_stored(app, client, owner, project, body, field):
    header = body.split("\n")[0].split(",")
    good = ",".join({"external_id": "item-5", "annotator": "ok-worker", "label": "positive"}.get(c, "") for c in header)
    problem = assert_problem(post(client, project, owner, body + (good + "\n" if body.count("\n") > 1 and "label" in header
                                                                  else "")), 422)
    assert field in problem["errors"], problem["errors"]
    with runtime(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0
        assert session.scalar(select(func.count()).select_from(User).where(User.kind == "external")) == 0


def test_ndjson_rows_with_bad_shapes_are_named(client, owner, project):
    rows = [{"external_id": "item-0", "annotator": "a", "result": {"labels": ["positive"]}, "colour": "red"},
            {"external_id": "item-1", "annotator": "a\u0000b", "result": {"labels": ["positive"]}},
            {"external_id": "item-2", "annotator": "b", "label": "positive", "result": {"labels": ["positive"]}},
            {"external_id": "item-3", "annotator": "c"}, "not an object"]
    problem = assert_problem(post(client, project, owner, rows, "application/json"), 422)
    assert {"rows.1.colour", "rows.2.annotator", "rows.3.label", "rows.4.result", "rows.5"} <= set(problem["errors"])


def test_only_the_owner_imports_answers_everyone_else_is_told_the_project_is_not_there(
        client, owner, project, make_user, token_for):
    for role in ("manager", "annotator"):
        make_user(f"{role}@example.org")
        client.post(f"/api/v1/projects/{project['id']}/members", json={"email": f"{role}@example.org", "role": role},
                    headers=owner)
        assert_problem(post(client, project, token_for(make_user(f"{role}-x@example.org")), crowd_csv()), 404)
    member = token_for(make_user("member@example.org"))
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "member@example.org", "role": "manager"},
                headers=owner)
    assert_problem(post(client, project, member, crowd_csv()), 404)
    assert_problem(post(client, project, owner, b"<xml/>", "application/xml"), 415)


def test_a_file_over_the_size_limit_is_413(app, client, owner, project):
    app.config["ANNOTATOR_MAX_UPLOAD_BYTES"] = app.config["MAX_CONTENT_LENGTH"] = 1000
    assert_problem(post(client, project, owner, crowd_csv() + "#" * 2000), 413)


def test_a_label_studio_export_with_several_annotators_per_task(client, owner, project):
    export = [{"id": 7, "data": {"text": "review number 0"}, "meta": {"external_id": "item-0"}, "annotations": [
        {"completed_by": 11, "result": [{"type": "choices", "value": {"choices": ["Positive"]}}]},
        {"completed_by": {"id": 12, "email": "b@crowd.example"}, "result": [
            {"type": "labels", "value": {"start": 0, "end": 6, "labels": ["species"]}}]},
        {"completed_by": 13, "was_cancelled": True, "result": []}]}]
    made = post(client, project, owner, export, "application/json")
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["created"] == 2 and made.get_json()["annotators"] == 2
    export[0]["annotations"][0]["result"] = [{"type": "rating", "value": {"rating": 4}}]
    export[0]["annotations"][0]["completed_by"] = 14
    problem = assert_problem(post(client, project, owner, export, "application/json"), 422)
    assert "tasks.1" in problem["errors"] and "rating" in problem["errors"]["tasks.1"][0]


def test_external_contributors_cannot_sign_in_and_are_no_accounts(app, client, owner, project, make_user, token_for):
    assert post(client, project, owner, crowd_csv()).status_code == 201
    admin = token_for(make_user("admin@example.org", admin=True))
    listed = client.get("/api/v1/admin/users", query_string={"per_page": 100}, headers=admin).get_json()["items"]
    assert all(u["email"] for u in listed)  # accounts only
    with runtime(app).session_factory() as session:
        external = session.scalars(select(User).where(User.kind == "external")).all()
    assert len(external) == 3 and all(not u.is_active and u.email is None and u.password_hash is None
                                      for u in external)
    assert_problem(client.post(f"/api/v1/admin/users/{external[0].id}/activate", headers=admin), 404)
    assert_problem(client.post("/api/v1/auth/login", json={"email": "w1", "password": "x" * 12}), 401)


def test_imported_answers_are_never_paid_nor_move_the_pay_of_ours(app, client, owner, annotators):
    paid = create_text_project(client, owner, overlap=2, visibility="public",
                               rewards={"per_annotation": 50, "agreement_bonus": 20})
    client.post(f"/api/v1/projects/{paid['id']}/tasks", json=[{"external_id": "only", "data": {"text": "one"}}],
                headers=owner)
    deposit(client, app, paid["id"], owner, 1000)
    body = "external_id,annotator,label\n" + "".join(f"only,fake-{n},negative\n" for n in range(5))
    assert post(client, paid, owner, body).status_code == 201
    for person in annotators[:2]:
        assert answer(client, nxt(client, paid, person).get_json(), person, label="positive").status_code == 201
    for person in annotators[:2]:  # both agreed with each other: the five imported "negative" do not lower it
        assert wallet(client, person)["balance"] == 70
    budget = client.get(f"/api/v1/projects/{paid['id']}/budget", headers=owner).get_json()
    assert budget["spent"] == 140
    assert verified(app) == []  # every ledger invariant holds


def test_a_large_file_is_imported_by_a_job_with_progress(app, client, owner):
    project = create_text_project(client, owner)
    workers = [f"w{n}" for n in range(20)]
    lines = ["external_id,annotator,label"] + [f"t{item},{w},{'positive' if (item + n) % 3 else 'negative'}"
                                               for item in range(600) for n, w in enumerate(workers)]
    started = post(client, project, owner, "\n".join(lines) + "\n", create_tasks="true")
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert job["status"] == "queued"
    run_jobs(app)
    done = client.get(f"/api/v1/imports/{job['id']}", headers=owner).get_json()
    assert done["status"] == "finished" and done["progress"] == 1.0
    assert done["counts"] == {"answers": 12_000, "duplicates": 0, "tasks_created": 600, "annotators": 20,
                              "annotators_created": 20}
    with runtime(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project["id"])) == 600


def test_a_large_file_with_a_bad_row_fails_its_job_naming_it(app, client, owner):
    project = create_text_project(client, owner)
    lines = ["external_id,annotator,label"] + [f"t{n},w{n % 7},positive" for n in range(10_500)]
    lines[5000] = "t4999,w1,not-a-label"
    started = post(client, project, owner, "\n".join(lines) + "\n", create_tasks="true")
    assert_problem(started, 422)  # the file's own problems are found before any job
    lines[5000] = "t4999,w3,positive"
    lines.append("t1,w1,negative")  # w1 answered t1 already: found when the job checks the rows against each other
    started = post(client, project, owner, "\n".join(lines) + "\n", create_tasks="true")
    assert started.status_code == 202
    run_jobs(app)
    failed = client.get(f"/api/v1/imports/{started.get_json()['id']}", headers=owner).get_json()
    assert failed["status"] == "failed" and "rows.10501.annotator" in failed["error"]
    with runtime(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0


def test_a_refused_file_creates_no_task_either(app, client, owner, project):
    body = "external_id,annotator,label\nbrand-new,w1,positive\nbrand-new,w2,not-a-label\n"
    assert "rows.2.label" in assert_problem(post(client, project, owner, body, create_tasks="true"), 422)["errors"]
    body = "external_id,annotator,result\nbrand-new,w1,\"{\"\"spans\"\": [{\"\"start\"\": 0, \"\"end\"\": 99, \"\"label\"\": \"\"species\"\"}]}\"\n"
    assert_problem(post(client, project, owner, body, create_tasks="true"), 422)  # found after the task was made
    with runtime(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Task).where(Task.external_id == "brand-new")) == 0
        assert session.scalar(select(func.count()).select_from(User).where(User.kind == "external")) == 0
