"""Import jobs end to end: upload, a real RQ worker on real Redis, the report, the tasks, the media."""
from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib

import orjson
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from annotator import queue
from annotator.runtime import runtime
from tasks.models import Import
from tests.factories import (assert_problem, create_project, create_text_project, imported, jpeg, run_jobs, tasks_of,
                             upload)


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_images_and_a_zip_become_tasks_and_bad_files_are_reported_with_reasons(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    archive = zip_of({"photos/a.jpg": jpeg(pattern=1), "photos/b.png": _png(), "../../evil.jpg": jpeg(pattern=2),
                      "inner.zip": zip_of({"x.jpg": jpeg()}), "__MACOSX/._a.jpg": b"junk", "notes.txt": b"hello"})
    report = imported(client, app, pid, owner, {
        "one.jpg": jpeg(pattern=0), "page.jpg": b"<!doctype html><script>alert(1)</script>",
        "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>', "empty.jpg": b"", "photos.zip": archive})
    assert report["progress"] == 1.0
    reasons = {r["file"]: r["reason"] for r in report["rejected"]}
    assert set(reasons) == {"page.jpg", "logo.svg", "empty.jpg", "photos.zip/../../evil.jpg", "photos.zip/inner.zip",
                            "photos.zip/notes.txt"}
    assert "not an image" in reasons["page.jpg"] and "unsafe path" in reasons["photos.zip/../../evil.jpg"]
    assert report["counts"]["created"] == 3 and report["counts"]["rejected"] == 6
    tasks = tasks_of(db, pid)
    assert sorted(t.data["name"] for t in tasks) == ["a.jpg", "b.png", "one.jpg"]
    assert all(t.data["image"] == f"/media/{t.media_sha256}" for t in tasks)
    assert all("key" not in f for f in report["files"])


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 128, 255, 128)).save(out, "PNG")
    return out.getvalue()


def test_media_is_served_only_to_those_who_may_see_the_task(client, app, owner, db, make_user, token_for):
    pid = create_project(client, owner)["id"]
    imported(client, app, pid, owner, {"bird.jpg": jpeg()})
    sha = tasks_of(db, pid)[0].media_sha256
    response = client.get(f"/media/{sha}", headers=owner)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert Image.open(io.BytesIO(response.data)).size == (64, 48)
    thumb = client.get(f"/media/{sha}/thumbnail", headers=owner)
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert_problem(client.get(f"/media/{sha}", headers=token_for(make_user())), 404)
    assert_problem(app.test_client().get(f"/media/{sha}"), 401)
    assert_problem(client.get(f"/media/{'0' * 64}", headers=owner), 404)


def test_gps_metadata_never_reaches_storage(client, app, owner, db):
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0), 1: "N"}  # GPSInfo
    exif[0x010F] = "SecretCameraMaker"
    pid = create_project(client, owner)["id"]
    imported(client, app, pid, owner, {"gps.jpg": jpeg(exif=exif)})
    served = client.get(f"/media/{tasks_of(db, pid)[0].media_sha256}", headers=owner).data
    assert b"SecretCameraMaker" not in served
    assert dict(Image.open(io.BytesIO(served)).getexif()) == {}


def test_oversized_truncated_and_bomb_images_are_refused(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    whole = jpeg(400, 300)
    report = imported(client, app, pid, owner, {"huge.png": png_declaring(20_000, 20_000),
                                                "ninety.png": png_declaring(10_000, 9_000),
                                                "half.jpg": whole[: len(whole) // 2]})
    reasons = {r["file"]: r["reason"] for r in report["rejected"]}
    assert "400" in reasons["huge.png"] and "40" in reasons["huge.png"]
    assert "90" in reasons["ninety.png"]
    assert "truncated" in reasons["half.jpg"] or "corrupt" in reasons["half.jpg"]
    assert tasks_of(db, pid) == []


def test_a_zip_bomb_is_refused_whole(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    bomb = zip_of({"zeros.jpg": b"\x00" * (20 * 1024 * 1024)}, zipfile.ZIP_DEFLATED)
    report = imported(client, app, pid, owner, {"bomb.zip": bomb})
    assert report["rejected"][0]["file"] == "bomb.zip" and "zip bomb" in report["rejected"][0]["reason"]
    assert tasks_of(db, pid) == []


def test_a_zip_with_too_many_members_is_refused(client, app, owner, db):
    app.config["ANNOTATOR_ZIP_MAX_MEMBERS"] = 3
    pid = create_project(client, owner)["id"]
    report = imported(client, app, pid, owner, {"many.zip": zip_of({f"{n}.jpg": jpeg(pattern=n) for n in range(4)})})
    assert "4 entries" in report["rejected"][0]["reason"]


def test_re_importing_the_same_image_counts_a_duplicate(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    imported(client, app, pid, owner, {"a.jpg": jpeg()})
    report = imported(client, app, pid, owner, {"a-again.jpg": jpeg(), "a-third.jpg": jpeg()})
    assert report["counts"]["created"] == 0 and report["counts"]["duplicates"] == 2
    assert len(tasks_of(db, pid)) == 1


def test_near_duplicates_within_the_project_are_reported(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    imported(client, app, pid, owner, {"original.jpg": jpeg(color=(200, 40, 40), pattern=0)})
    report = imported(client, app, pid, owner, {"brighter.jpg": jpeg(color=(210, 50, 50), pattern=0),
                                                "different.jpg": jpeg(color=(200, 40, 40), pattern=1)})
    pairs = {(p["name"], p["distance"] <= 6) for p in report["near_duplicates"]}
    assert ("brighter.jpg", True) in pairs
    assert all(p["name"] != "different.jpg" or p["similar_name"] != "original.jpg" for p in report["near_duplicates"])


def test_label_studio_export_maps_percent_boxes_to_pixels_as_gold(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    export = [{"id": 7, "data": {"image": "/data/upload/1/3f2a1b2c-bird.jpg"},
               "annotations": [{"was_cancelled": False, "result": [
                   {"type": "rectanglelabels", "original_width": 200, "original_height": 100,
                    "value": {"x": 10, "y": 20, "width": 50, "height": 30, "rotation": 0,
                              "rectanglelabels": ["黄林莺"]}}]}]},
              {"id": 8, "data": {"image": "/data/upload/1/missing.jpg"}}]
    report = imported(client, app, pid, owner, {"bird.jpg": jpeg(200, 100), "export.json": orjson.dumps(export)})
    assert report["counts"]["created"] == 1
    assert any("missing.jpg" in r["reason"] for r in report["rejected"])
    task = tasks_of(db, pid)[0]
    assert task.external_id == "label-studio-7" and task.is_gold
    assert task.gold == {"objects": [{"tool": "bbox", "label": "yellow_warbler", "bbox": [20.0, 20.0, 100.0, 30.0],
                                     "attributes": {}}]}


def test_label_studio_text_export_with_choices_and_ignore_option(client, app, owner, db):
    pid = create_text_project(client, owner)["id"]
    export = [{"id": 1, "data": {"text": "great sparrows"}, "annotations": [{"result": [
        {"type": "choices", "value": {"choices": ["Positive"]}},
        {"type": "labels", "value": {"start": 6, "end": 14, "labels": ["species"]}}]}]},
              {"id": 2, "data": {"text": "meh"}, "annotations": [{"result": [
                  {"type": "choices", "value": {"choices": ["Neutral"]}}]}]}]
    report = imported(client, app, pid, owner, {"ls.json": orjson.dumps(export)})
    assert report["counts"]["created"] == 1 and "Neutral" in report["rejected"][0]["reason"]
    task = tasks_of(db, pid)[0]
    assert task.gold == {"labels": ["positive"], "spans": [{"start": 6, "end": 14, "label": "species", "attributes": {}}]}
    other = create_text_project(client, owner, name="Second")["id"]
    imported(client, app, other, owner, {"ls.json": orjson.dumps(export)}, label_studio_annotations="ignore")
    assert [t.is_gold for t in tasks_of(db, other)] == [False, False]


def test_images_in_a_text_project_are_refused(client, app, owner, db):
    pid = create_text_project(client, owner)["id"]
    report = imported(client, app, pid, owner, {"bird.jpg": jpeg()})
    assert "text project" in report["rejected"][0]["reason"]


def test_a_failing_job_is_marked_failed_and_leaves_no_tasks(client, app, owner, db, monkeypatch):
    from tasks import importing

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importing, "insert_tasks", explode)
    pid = create_project(client, owner)["id"]
    job_id = upload(client, pid, owner, {"a.jpg": jpeg()}).get_json()["id"]
    run_jobs(app)
    report = client.get(f"/api/v1/imports/{job_id}", headers=owner).get_json()
    assert report["status"] == "failed" and "disk on fire" in report["error"]
    assert tasks_of(db, pid) == []
    monkeypatch.undo()
    with app.app_context():  # the retry, as RQ would run it, imports everything once
        from tasks import jobs

        assert jobs.run_import(job_id)["created"] == 1
    assert len(tasks_of(db, pid)) == 1


@pytest.mark.parametrize("files,form,status,field", [
    ({}, {}, 422, "files"),
    ({"a.jpg": b"", "b.jpg": b""}, {}, 422, "files"),
    ({"a.jpg": b"x"}, {"label_studio_annotations": "maybe"}, 422, "label_studio_annotations"),
])
def test_bad_uploads_are_refused_at_once(client, app, owner, db, files, form, status, field):
    pid = create_project(client, owner)["id"]
    assert field in assert_problem(upload(client, pid, owner, files, **form), status)["errors"]
    assert db.scalar(select(func.count()).select_from(Import)) == 0
    uploads = runtime(app).storage.local_path("imports")
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))  # nothing left behind


def test_imports_need_multipart_and_the_right_project(client, owner, make_user, token_for):
    pid = create_project(client, owner)["id"]
    assert_problem(client.post(f"/api/v1/projects/{pid}/imports", json={"files": []}, headers=owner), 415)
    assert_problem(upload(client, pid, token_for(make_user()), {"a.jpg": jpeg()}), 404)
    assert_problem(client.get("/api/v1/imports/99999", headers=owner), 404)


def test_the_projects_imports_are_listed_newest_first_with_status_for_its_owner_and_managers(
        client, app, owner, make_user, token_for):
    pid = create_project(client, owner)["id"]
    first = imported(client, app, pid, owner, {"a.jpg": jpeg(pattern=1)})
    waiting = upload(client, pid, owner, {"b.jpg": jpeg(pattern=2), "c.jpg": jpeg(pattern=0)}).get_json()
    listed = client.get(f"/api/v1/projects/{pid}/imports", headers=owner).get_json()
    assert [job["id"] for job in listed["items"]] == [waiting["id"], first["id"]] and listed["total"] == 2
    assert [job["status"] for job in listed["items"]] == ["queued", "finished"]
    assert listed["items"][0]["files"] == [{"name": "b.jpg", "size": len(jpeg(pattern=2))},
                                           {"name": "c.jpg", "size": len(jpeg(pattern=0))}]  # no storage keys
    assert listed["items"][1]["counts"]["created"] == 1 and listed["items"][1]["progress"] == 1.0
    second_page = client.get(f"/api/v1/projects/{pid}/imports?per_page=1&page=2", headers=owner).get_json()
    assert [job["id"] for job in second_page["items"]] == [first["id"]]

    manager, annotator = make_user("manager@example.org"), make_user("annotator@example.org")
    for user, role in ((manager, "manager"), (annotator, "annotator")):
        assert client.post(f"/api/v1/projects/{pid}/members", json={"email": user.email, "role": role},
                           headers=owner).status_code == 201
    assert client.get(f"/api/v1/projects/{pid}/imports", headers=token_for(manager)).get_json()["total"] == 2
    assert_problem(client.get(f"/api/v1/projects/{pid}/imports", headers=token_for(annotator)), 403)
    assert_problem(client.get(f"/api/v1/projects/{pid}/imports", headers=token_for(make_user())), 404)
    assert_problem(client.get("/api/v1/projects/99999/imports", headers=owner), 404)
    for query, field in (("per_page=0", "per_page"), ("per_page=501", "per_page"), ("page=0", "page"),
                         ("page=two", "page")):
        assert field in assert_problem(client.get(f"/api/v1/projects/{pid}/imports?{query}", headers=owner),
                                       422)["errors"]


def test_an_upload_over_the_limit_is_413(client, app, owner):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    pid = create_project(client, owner)["id"]
    assert_problem(upload(client, pid, owner, {"big.jpg": b"x" * 20_000}), 413)


def test_label_studio_images_are_matched_by_their_folder_and_ambiguous_names_refused(client, app, owner, db):
    pid = create_project(client, owner)["id"]
    red, blue = jpeg(300, 100, color=(220, 0, 0), pattern=1), jpeg(100, 300, color=(0, 0, 220), pattern=2)
    gold = {"type": "rectanglelabels", "value": {"x": 0, "y": 0, "width": 50, "height": 50, "rectanglelabels": ["bird"]}}
    export = [{"id": 1, "data": {"image": "/data/local-files/?d=set_a/1.jpg"}, "annotations": [{"result": [gold]}]},
              {"id": 2, "data": {"image": "/data/local-files/?d=set_b/1.jpg"}, "annotations": [{"result": [gold]}]},
              {"id": 3, "data": {"image": "/data/upload/9/1a2b3c4d-1.jpg"}}]
    archive = zip_of({"set_a/1.jpg": red, "set_b/1.jpg": blue, "export.json": orjson.dumps(export)})
    report = imported(client, app, pid, owner, {"ls.zip": archive})
    by_id = {t.external_id: t for t in tasks_of(db, pid)}
    assert by_id["label-studio-1"].gold["objects"][0]["bbox"] == [0.0, 0.0, 150.0, 50.0]  # 50% of the 300x100 image
    assert by_id["label-studio-2"].gold["objects"][0]["bbox"] == [0.0, 0.0, 50.0, 150.0]  # 50% of the 100x300 image
    assert any("several uploaded images" in r["reason"] for r in report["rejected"])
    assert report["counts"]["created"] == 2


@pytest.mark.parametrize("task", [
    {"id": 1, "data": {"image": "x.jpg"}, "annotations": 5},
    {"id": 1, "data": {"image": "x.jpg"}, "annotations": [{"result": 7}]},
    {"id": 1, "data": {"image": "http://[::1/x.jpg"}},
    {"id": 1, "data": {"image": "x.jpg"}, "annotations": [{"result": [{"type": "polygonlabels",
                                                                        "value": {"points": [[1]], "polygonlabels": ["bird"]}}]}]},
])
def test_a_malformed_label_studio_task_is_reported_and_the_rest_imported(client, app, owner, db, task):
    pid = create_project(client, owner)["id"]
    good = {"id": 2, "data": {"image": "/data/upload/1/y.jpg"}}
    report = imported(client, app, pid, owner, {"x.jpg": jpeg(pattern=1), "y.jpg": jpeg(pattern=2),
                                                "ls.json": orjson.dumps([task, good])})
    assert report["status"] == "finished" and report["counts"]["rejected"] == 1
    # x.jpg, no longer claimed by a readable Label Studio task, is imported as a plain image task
    assert {t.external_id for t in tasks_of(db, pid)} == {"label-studio-2", None}


def test_job_caps_on_exports_and_tasks(client, app, owner, db, monkeypatch):
    from tasks import image_import

    monkeypatch.setattr(image_import, "MAX_EXPORT_BYTES", 200)
    monkeypatch.setattr(image_import, "MAX_JOB_TASKS", 2)
    pid = create_text_project(client, owner)["id"]
    small = orjson.dumps([{"id": n, "data": {"text": f"t{n}"}} for n in range(3)])
    big = orjson.dumps([{"id": 100 + n, "data": {"text": "x" * 50}} for n in range(5)])
    report = imported(client, app, pid, owner, {"small.json": small, "big.json": big})
    reasons = {r["file"]: r["reason"] for r in report["rejected"]}
    assert "at most" in reasons["big.json"] and "1 tasks" in reasons
    assert report["counts"]["created"] == 2


def test_an_import_whose_worker_died_is_queued_again_and_failed_after_three_attempts(client, app, owner, db):
    """A killed worker leaves its import `running` with a heartbeat that stopped: the minutely sweep queues it again
    under a new job id, and gives up after MAX_ATTEMPTS."""
    from annotator.jobs import requeue_lost_imports
    from tasks import image_import

    pid = create_project(client, owner)["id"]
    started = [upload(client, pid, owner, {f"{n}.jpg": jpeg(pattern=n)}).get_json()["id"] for n in range(2)]
    with app.app_context():
        queue.get_queue(runtime().redis, "imports").empty()  # the dead worker had taken their jobs
    long_ago = dt.datetime.now(dt.timezone.utc) - image_import.STALE_AFTER - dt.timedelta(seconds=5)
    db.execute(update(Import).where(Import.id == started[0]).values(status="running", heartbeat_at=long_ago,
                                                                   attempts=1))
    db.execute(update(Import).where(Import.id == started[1]).values(status="running", heartbeat_at=long_ago,
                                                                   attempts=image_import.MAX_ATTEMPTS))
    db.commit()
    with app.app_context():
        assert requeue_lost_imports() == [started[0]]
        assert queue.get_queue(runtime().redis, "imports").job_ids == [f"import-{started[0]}-1"]
        assert requeue_lost_imports() == []  # its job waits: not queued twice
    run_jobs(app)
    done = client.get(f"/api/v1/imports/{started[0]}", headers=owner).get_json()
    assert done["status"] == "finished" and done["counts"]["created"] == 1, done
    gave_up = client.get(f"/api/v1/imports/{started[1]}", headers=owner).get_json()
    assert gave_up["status"] == "failed" and "too many times" in gave_up["error"]
    assert len(tasks_of(db, pid)) == 1
