"""POST /projects/{id}/tasks: JSON, NDJSON, CSV; all or nothing; duplicates skipped; gold validated."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from tasks.models import Task
from tests.factories import assert_problem, create_project, create_text_project


@pytest.fixture
def text_project(client, owner):
    return create_text_project(client, owner)


def count(db, project_id: int) -> int:
    db.rollback()  # end the previous read: on SQLite it would keep showing its old snapshot
    return db.scalar(select(func.count()).select_from(Task).where(Task.project_id == project_id))


def post(client, project, owner, body, content_type="application/json"):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(f"/api/v1/projects/{project['id']}/tasks", data=raw, content_type=content_type, headers=owner)


def test_json_array_creates_tasks_and_returns_their_ids(client, owner, text_project, db):
    response = post(client, text_project, owner, [{"data": {"text": "一只黄林莺"}, "external_id": "a1"},
                                                  {"data": {"text": "a sparrow", "source": "web"}}])
    assert response.status_code == 201
    body = response.get_json()
    assert body["created"] == 2 and body["duplicates"] == 0 and len(body["task_ids"]) == 2
    listed = client.get(f"/api/v1/projects/{text_project['id']}/tasks", headers=owner).get_json()
    assert [t["id"] for t in listed["items"]] == body["task_ids"]
    assert listed["items"][0]["external_id"] == "a1" and listed["items"][1]["data"]["source"] == "web"


def test_duplicates_by_external_id_or_by_data_are_counted_and_skipped(client, owner, text_project, db):
    first = post(client, text_project, owner, [{"data": {"text": "one"}}, {"data": {"text": "x"}, "external_id": "e1"}])
    assert first.get_json()["created"] == 2
    again = post(client, text_project, owner, [{"data": {"text": "one"}}, {"data": {"text": "other"}, "external_id": "e1"},
                                               {"data": {"text": "two"}}, {"data": {"text": "two"}}])
    assert again.status_code == 201
    assert again.get_json()["created"] == 1 and again.get_json()["duplicates"] == 3
    assert count(db, text_project["id"]) == 3


def test_ndjson_is_accepted(client, owner, text_project):
    raw = b'{"data": {"text": "a"}}\n\n{"data": {"text": "b"}}\n'
    assert post(client, text_project, owner, raw, "application/x-ndjson").get_json()["created"] == 2


def test_ndjson_with_a_bad_line_names_it(client, owner, text_project, db):
    raw = b'{"data": {"text": "a"}}\n{oops\n'
    body = assert_problem(post(client, text_project, owner, raw, "application/x-ndjson"), 422)
    assert "rows.2" in body["errors"] and "Line 2" in body["errors"]["rows.2"][0]
    assert count(db, text_project["id"]) == 0


def test_csv_with_a_bom_and_chinese_text(client, owner, text_project, db):
    raw = "\ufefftext,external_id,region\n一只黄林莺在枝头,c1,云南\n\"a, quoted\nline\",c2,\n".encode()
    body = post(client, text_project, owner, raw, "text/csv").get_json()
    assert body["created"] == 2
    tasks = client.get(f"/api/v1/projects/{text_project['id']}/tasks", headers=owner).get_json()["items"]
    assert tasks[0]["data"] == {"text": "一只黄林莺在枝头", "region": "云南"} and tasks[0]["external_id"] == "c1"
    assert tasks[1]["data"]["text"] == "a, quoted\nline"


def test_csv_formula_cells_are_stored_as_plain_text(client, owner, text_project):
    raw = b'text,note\n"=HYPERLINK(""http://x"",""y"")",+1\n'
    post(client, text_project, owner, raw, "text/csv")
    task = client.get(f"/api/v1/projects/{text_project['id']}/tasks", headers=owner).get_json()["items"][0]
    assert task["data"] == {"text": '=HYPERLINK("http://x","y")', "note": "+1"}


def test_csv_ragged_rows_are_422_with_row_numbers_and_nothing_written(client, owner, text_project, db):
    raw = b"text,region\nok,yunnan\ntoo,many,cells\nfew\n"
    body = assert_problem(post(client, text_project, owner, raw, "text/csv"), 422)
    assert set(body["errors"]) == {"rows.2", "rows.3"}
    assert count(db, text_project["id"]) == 0


def test_gbk_bytes_get_a_clear_422_asking_for_utf8(client, owner, text_project, db):
    raw = "text\n一只黄林莺\n".encode("gbk")
    body = assert_problem(post(client, text_project, owner, raw, "text/csv"), 422)
    assert "UTF-8" in body["errors"]["_body"][0]
    assert count(db, text_project["id"]) == 0


def test_csv_without_a_header_is_422(client, owner, text_project):
    assert_problem(post(client, text_project, owner, b"\n", "text/csv"), 422)
    assert_problem(post(client, text_project, owner, b"text,text\na,b\n", "text/csv"), 422)


def test_one_bad_row_rejects_the_whole_request_listing_every_bad_row(client, owner, text_project, db):
    rows = [{"data": {"text": "fine"}}, {"data": {"txt": "typo"}}, {"data": "not an object"}, "nope",
            {"data": {"text": "x"}, "colour": "red"}, {"data": {"text": "nul\x00"}}, {"data": {"text": "y"}, "external_id": ""}]
    body = assert_problem(post(client, text_project, owner, rows), 422)
    assert set(body["errors"]) == {"rows.2.data.text", "rows.3.data", "rows.4", "rows.5.colour", "rows.6.data",
                                   "rows.7.external_id"}
    assert count(db, text_project["id"]) == 0


def test_gold_answers_are_validated_against_the_schema_and_the_text(client, owner, text_project, db):
    good = [{"data": {"text": "Sparrows!"}, "gold": {"labels": ["positive"], "spans": [{"start": 0, "end": 8, "label": "species"}]}}]
    assert post(client, text_project, owner, good).status_code == 201
    bad = [{"data": {"text": "short"}, "gold": {"spans": [{"start": 2, "end": 99, "label": "species"}]}},
           {"data": {"text": "other"}, "gold": {"labels": ["no_such_label"]}}]
    body = assert_problem(post(client, text_project, owner, bad), 422)
    assert any(k.startswith("rows.1.gold.spans.0") for k in body["errors"])
    assert any(k.startswith("rows.2.gold.labels") for k in body["errors"])
    task = client.get(f"/api/v1/projects/{text_project['id']}/tasks", headers=owner).get_json()["items"][0]
    assert task["is_gold"] is True and task["gold"]["labels"] == ["positive"]


def test_more_than_10000_rows_is_413(client, owner, text_project, db):
    rows = [{"data": {"text": f"t{n}"}} for n in range(10_001)]
    assert_problem(post(client, text_project, owner, rows), 413)
    assert count(db, text_project["id"]) == 0


def test_10000_rows_in_one_request_are_fine(client, owner, text_project, db):
    rows = [{"data": {"text": f"t{n}"}} for n in range(10_000)]
    assert post(client, text_project, owner, rows).get_json()["created"] == 10_000
    assert count(db, text_project["id"]) == 10_000


@pytest.mark.parametrize("raw,content_type,status", [
    (b"{}", "application/json", 400), (b"[", "application/json", 400), (b"[]", "application/json", 422),
    (b"text\nx", "application/xml", 415), (b"", "text/csv", 422),
])
def test_malformed_bodies(client, owner, text_project, raw, content_type, status):
    assert_problem(post(client, text_project, owner, raw, content_type), status)


def test_image_tasks_must_point_at_uploaded_media(client, owner, db):
    project = create_project(client, owner)
    rows = [{"data": {"image": "https://example.org/bird.jpg"}}, {"data": {"image": "/media/" + "a" * 64}}]
    body = assert_problem(post(client, project, owner, rows), 422)
    assert set(body["errors"]) == {"rows.1.data.image", "rows.2.data.image"}


def test_task_list_filters_by_status_and_get_task(client, owner, text_project, make_user, token_for):
    ids = post(client, text_project, owner, [{"data": {"text": "a"}}]).get_json()["task_ids"]
    assert client.get(f"/api/v1/projects/{text_project['id']}/tasks?status=completed", headers=owner).get_json()["total"] == 0
    assert_problem(client.get(f"/api/v1/projects/{text_project['id']}/tasks?status=bogus", headers=owner), 422)
    assert client.get(f"/api/v1/tasks/{ids[0]}", headers=owner).get_json()["data"] == {"text": "a"}
    assert_problem(client.get(f"/api/v1/tasks/{ids[0]}", headers=token_for(make_user())), 404)
    assert_problem(client.get("/api/v1/tasks/424242", headers=owner), 404)


def test_deeply_nested_data_is_422_not_a_crash(client, owner, text_project, db):
    raw = b'[{"data": {"text": "hi", "x": ' + b"[" * 600 + b"]" * 600 + b"}}]"
    body = assert_problem(post(client, text_project, owner, raw), 422)
    assert "Nested deeper" in body["errors"]["rows.1.data"][0]
    assert count(db, text_project["id"]) == 0


def test_ndjson_keeps_line_separator_characters_inside_strings(client, owner, text_project):
    raw = '{"data": {"text": "a\u2028b\u0085c"}}\r\n'.encode()
    assert post(client, text_project, owner, raw, "application/x-ndjson").get_json()["created"] == 1
    task = client.get(f"/api/v1/projects/{text_project['id']}/tasks", headers=owner).get_json()["items"][0]
    assert task["data"]["text"] == "a\u2028b\u0085c"


def test_a_chunked_body_over_the_limit_is_413_not_truncated(client, app, owner, text_project, db):
    import io

    app.config["ANNOTATOR_MAX_JSON_BYTES"] = 2000
    csv = b"text\n" + b"".join(b"row %d\n" % n for n in range(1000))
    response = client.post(f"/api/v1/projects/{text_project['id']}/tasks", input_stream=io.BytesIO(csv),
                           content_type="text/csv", headers={**owner, "Transfer-Encoding": "chunked"},
                           environ_base={"wsgi.input_terminated": True})
    assert_problem(response, 413)
    assert count(db, text_project["id"]) == 0


def test_an_image_address_from_another_project_cannot_be_borrowed(client, owner, make_user, token_for, db):
    from annotator.runtime import runtime
    from tasks.models import Media

    with client.application.app_context():
        session = runtime().session_factory()
        session.add(Media(sha256="b" * 64, content_type="image/jpeg", width=10, height=10, size_bytes=1, phash=0,
                          created_at=__import__("annotator.db", fromlist=["utcnow"]).utcnow()))
        session.commit()
    thief = token_for(make_user())
    project = create_project(client, thief)
    body = assert_problem(post(client, project, thief, [{"data": {"image": "/media/" + "b" * 64}}]), 422)
    assert body["errors"]["rows.1.data.image"] == ["No image of this project has this address."]
    assert_problem(client.get("/media/" + "b" * 64, headers=thief), 404)


def test_an_image_address_with_a_trailing_newline_is_refused(client, owner):
    project = create_project(client, owner)
    assert_problem(post(client, project, owner, [{"data": {"image": "/media/" + "c" * 64 + "\n"}}]), 422)


def test_absurd_ids_in_the_path_are_404(client, owner):
    for path in ("/api/v1/projects/100000000000000000000", "/api/v1/tasks/99999999999999999999999",
                 "/api/v1/imports/18446744073709551616"):
        assert_problem(client.get(path, headers=owner), 404)
