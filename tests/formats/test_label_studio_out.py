"""The Label Studio JSON writer: its structure and percent coordinates, and the round trip the issue asks for:
a Label Studio export of ours, re-imported by our own Label Studio importer, gives the same tasks and answers."""
from __future__ import annotations

import io
import json
import urllib.parse

import pytest

from tasks.formats import label_studio
from tasks.formats.base import ExportAnnotation, ExportContext, ExportTask, Label, Media
from tasks.formats.label_studio_out import LabelStudioWriter, image_url, label_names
from tasks.results import TaskContext, validate_result
from tasks.schema import LabelSchema, parse_label_schema
from tests.factories import create_project, export, imported, jpeg, nxt, tasks_of

TEXT_SCHEMA = {"tools": ["classify", "span"], "multi_label": False, "labels": [
    {"id": "positive", "name": "正面"}, {"id": "negative", "name": "负面"}, {"id": "species", "name": "物种"}]}
IMAGE_SCHEMA = {"tools": ["classify", "bbox", "polygon", "keypoint"], "multi_label": False, "labels": [
    {"id": "bird", "name": "鸟类", "children": [{"id": "sparrow", "name": "麻雀"}, {"id": "warbler", "name": "莺"}]},
    {"id": "bat", "name": "蝙蝠"}],
    "attributes": [{"name": "occluded", "type": "boolean"}]}


def context_for(schema: LabelSchema, media_type: str, include: str = "all", project_id: int = 7) -> ExportContext:
    labels = tuple(Label(label.id, label.name, label.parent_id, tuple(schema.labels[step].name for step in label.path))
                   for label in schema.labels.values())
    return ExportContext(project_id=project_id, project_name="Birds", media_type=media_type, tools=schema.tools,
                         labels=labels, schema_version=1, include=include, open_media=lambda sha256: io.BytesIO())


def answer(annotation_id: int, result: dict, annotator: str = "a_0123456789abcdef", lead_time_ms: int | None = 1500,
           verdict: str | None = None) -> ExportAnnotation:
    return ExportAnnotation.of(id=annotation_id, annotator=annotator, result=result, lead_time_ms=lead_time_ms,
                            schema_version=1, created_at="2024-05-01T08:00:00Z", counted=True, verdict=verdict,
                            gold_score=None, credits=0)


def written(context: ExportContext, tasks: list[ExportTask]) -> bytes:
    out = io.BytesIO()
    writer = LabelStudioWriter(out, context)
    assert sum(writer.write(task) for task in tasks) == len(tasks)
    writer.close({"dataset": {}})
    return out.getvalue()


def image_task(task_id: int, sha: str, width: int, height: int, name: str | None, answers=(), consensus=None,
               **data) -> ExportTask:
    media = Media(sha, width, height, "image/jpeg", f"{task_id:08d}_x.jpg")
    return ExportTask(id=task_id, external_id=None, data={"image": f"/media/{sha}",
                                                          **({"name": name} if name else {}), **data},
                      status="completed", is_gold=False, media=media, consensus=consensus,
                      annotations=tuple(answers))


# ---------------------------------------------------------------------------------------------------------
# The writer's output
# ---------------------------------------------------------------------------------------------------------

def test_an_empty_export_is_an_empty_json_array_and_the_writer_says_what_it_writes():
    schema = parse_label_schema(TEXT_SCHEMA)
    assert written(context_for(schema, "text"), []) == b"[\n]\n"
    assert json.loads(written(context_for(schema, "text"), [])) == []
    assert (LabelStudioWriter.extension, LabelStudioWriter.content_type, LabelStudioWriter.archive) == \
        (".json", "application/json", False)


def test_a_text_task_with_every_answer():
    schema = parse_label_schema(TEXT_SCHEMA)
    text = "麻雀在树上唱歌, a sparrow sings"
    task = ExportTask(id=11, external_id="review-1", data={"text": text, "source": "forum"}, status="completed",
                      is_gold=False, media=None,
                      consensus={"result": {"labels": ["positive"]}, "confidence": 0.75, "method": "dawid_skene",
                                 "agreement": 0.5, "annotations": 2},
                      annotations=(answer(101, {"labels": ["positive"], "spans": [
                          {"start": 0, "end": 2, "label": "species", "attributes": {}},
                          {"start": 11, "end": 18, "label": "species", "attributes": {}}]}),
                                   answer(102, {"labels": ["negative"]}, annotator="a_fedcba9876543210",
                                          lead_time_ms=None, verdict="rejected")))
    [record] = json.loads(written(context_for(schema, "text"), [task]))
    assert record["id"] == 11 and record["data"] == {"text": text, "source": "forum"}
    assert record["meta"] == {"task_id": 11, "external_id": "review-1", "status": "completed", "is_gold": False,
                              "answers": 2, "consensus": {"method": "dawid_skene", "confidence": 0.75,
                                                          "agreement": 0.5, "annotations": 2}}
    first, second = record["annotations"]
    assert first["result"] == [
        {"id": "a101-1", "type": "choices", "from_name": "label", "to_name": "text", "value": {"choices": ["正面"]}},
        {"id": "a101-2", "type": "labels", "from_name": "span", "to_name": "text",
         "value": {"start": 0, "end": 2, "text": "麻雀", "labels": ["物种"]}},
        {"id": "a101-3", "type": "labels", "from_name": "span", "to_name": "text",
         "value": {"start": 11, "end": 18, "text": "sparrow", "labels": ["物种"]}}]
    assert first["id"] == 101 and first["lead_time"] == 1.5 and first["created_at"] == "2024-05-01T08:00:00Z"
    assert first["was_cancelled"] is False and first["ground_truth"] is False
    assert "completed_by" not in first  # Label Studio refuses an import naming an annotator it does not know
    assert first["meta"] == {"annotator": "a_0123456789abcdef", "schema_version": 1, "counted": True,
                             "verdict": None, "gold_score": None, "credits": 0}
    assert "lead_time" not in second and second["meta"]["verdict"] == "rejected"
    assert second["result"] == [{"id": "a102-1", "type": "choices", "from_name": "label", "to_name": "text",
                                 "value": {"choices": ["负面"]}}]
    assert record["predictions"] == [{"model_version": "consensus-dawid_skene", "score": 0.75, "result": [
        {"id": "t11-1", "type": "choices", "from_name": "label", "to_name": "text", "value": {"choices": ["正面"]}}]}]


def test_with_include_consensus_the_one_annotation_is_the_consensus_and_unanswered_tasks_have_none():
    schema = parse_label_schema(TEXT_SCHEMA)
    answered = ExportTask(id=1, external_id=None, data={"text": "good"}, status="completed", is_gold=True, media=None,
                          consensus={"result": {"labels": ["positive"]}, "confidence": None, "method": "majority_vote",
                                     "agreement": 1.0, "annotations": 3})
    unanswered = ExportTask(id=2, external_id=None, data={"text": "meh"}, status="open", is_gold=False, media=None,
                            consensus=None)
    first, second = json.loads(written(context_for(schema, "text", include="consensus"), [answered, unanswered]))
    assert first["annotations"] == [{
        "result": [{"id": "t1-1", "type": "choices", "from_name": "label", "to_name": "text",
                    "value": {"choices": ["正面"]}}],
        "was_cancelled": False, "ground_truth": False,
        "meta": {"consensus": True, "method": "majority_vote", "confidence": None, "agreement": 1.0,
                 "annotations": 3}}]
    assert first["predictions"] == [{"model_version": "consensus-majority_vote", "result": first["annotations"][0][
        "result"]}]  # no confidence, no score
    assert second["annotations"] == [] and second["predictions"] == [] and "consensus" not in second["meta"]


def test_image_regions_are_in_percent_of_the_image():
    schema = parse_label_schema(IMAGE_SCHEMA)
    sha = "ab" * 32
    task = image_task(5, sha, 200, 100, "麻雀 #1.jpg", answers=[answer(9, {
        "labels": ["sparrow"],
        "objects": [{"tool": "bbox", "label": "sparrow", "bbox": [10, 20, 50, 30], "attributes": {"occluded": True}},
                    {"tool": "polygon", "label": "bat", "points": [[0, 0], [100, 50], [200, 100]], "attributes": {}},
                    {"tool": "keypoint", "label": "warbler", "point": [150, 25], "attributes": {}}]})])
    [record] = json.loads(written(context_for(schema, "image"), [task]))
    assert record["data"] == {"image": f"/data/upload/7/abababab-{urllib.parse.quote('麻雀 #1.jpg')}",
                              "name": "麻雀 #1.jpg"}
    assert record["meta"]["image"] == {"sha256": sha, "width": 200, "height": 100, "file_name": "00000005_x.jpg"}
    choices, box, polygon, keypoint = record["annotations"][0]["result"]
    assert choices == {"id": "a9-1", "type": "choices", "from_name": "label", "to_name": "image",
                       "value": {"choices": ["麻雀"]}}
    common = {"to_name": "image", "original_width": 200, "original_height": 100, "image_rotation": 0}
    assert box == {"id": "a9-2", "type": "rectanglelabels", "from_name": "bbox", **common, "value": {
        "x": 5.0, "y": 20.0, "width": 25.0, "height": 30.0, "rotation": 0, "rectanglelabels": ["麻雀"]}}
    assert polygon == {"id": "a9-3", "type": "polygonlabels", "from_name": "polygon", **common, "value": {
        "points": [[0.0, 0.0], [50.0, 50.0], [100.0, 100.0]], "closed": True, "polygonlabels": ["蝙蝠"]}}
    assert keypoint == {"id": "a9-4", "type": "keypointlabels", "from_name": "keypoint", **common, "value": {
        "x": 75.0, "y": 25.0, "width": 1.5, "keypointlabels": ["莺"]}}
    assert record["annotations"][0]["meta"]["attributes"] == {"a9-2": {"occluded": True}}


def test_consensus_boxes_keep_their_confidence_as_the_region_score():
    schema = parse_label_schema(IMAGE_SCHEMA)
    task = image_task(3, "cd" * 32, 400, 300, "b.jpg", consensus={
        "result": {"objects": [{"tool": "bbox", "label": "bird", "bbox": [40, 30, 200, 150], "confidence": 0.9,
                                "annotators": 2}]},
        "confidence": 0.9, "method": "clusters", "agreement": None, "annotations": 3})
    [record] = json.loads(written(context_for(schema, "image", include="consensus"), [task]))
    [region] = record["annotations"][0]["result"]
    assert region["score"] == 0.9 and region["value"] == {"x": 10.0, "y": 10.0, "width": 50.0, "height": 50.0,
                                                          "rotation": 0, "rectanglelabels": ["鸟类"]}
    assert record["predictions"][0]["score"] == 0.9 and record["predictions"][0]["result"] == [region]


def test_labels_are_written_by_name_only_where_the_importer_maps_the_name_back_to_them():
    schema = parse_label_schema({"tools": ["classify"], "labels": [
        {"id": "a", "name": "Same"}, {"id": "b", "name": "Same"},  # a name two labels share
        {"id": "c", "name": "d"}, {"id": "d", "name": "Dee"},  # a name that is another label's id
        {"id": "e", "name": "e"}, {"id": "f", "name": "雀"}]})
    names = label_names(context_for(schema, "text"))
    assert names == {"a": "a", "b": "b", "c": "c", "d": "Dee", "e": "e", "f": "雀"}
    importer = label_studio._label_names(schema)
    assert all(importer[written_as] == label_id for label_id, written_as in names.items())


def test_with_names_by_language_and_aliases_labels_are_written_by_name_and_read_back_by_any_of_their_names():
    schema = parse_label_schema({"tools": ["classify"], "labels": [
        {"id": "sedan", "name": "Sedan", "names": {"zh": "轿车", "en": "Sedan"}, "aliases": ["saloon", "Berline"]},
        {"id": "coupe", "name": "Coupe", "names": {"zh": "轿跑"}, "aliases": ["Sedan"]},  # another's name: not its
        {"id": "van", "name": "Van", "aliases": ["轿车"]}]})  # another's Chinese name: ambiguous, refused
    context = context_for(schema, "text")
    assert label_names(context) == {"sedan": "Sedan", "coupe": "Coupe", "van": "Van"}  # `name`, as before
    task = ExportTask(id=1, external_id=None, data={"text": "a car"}, status="completed", is_gold=False, media=None,
                      consensus=None, annotations=(answer(1, {"labels": ["sedan"]}),))
    assert json.loads(written(context, [task]))[0]["annotations"][0]["result"][0]["value"] == {"choices": ["Sedan"]}
    importer = label_studio._label_names(schema)
    assert [importer.get(term) for term in ("Sedan", "saloon", "Berline", "轿跑", "Coupe", "sedan", "轿车")] == \
        ["sedan", "sedan", "sedan", "coupe", "coupe", "sedan", None]
    # A Label Studio export made in Chinese imports into the project whose labels carry Chinese names.
    chinese = [{"id": 3, "data": {"text": "一辆轿跑"}, "annotations": [{"result": [
        {"type": "choices", "from_name": "label", "to_name": "text", "value": {"choices": ["轿跑"]}}]}]}]
    converted = label_studio.convert(chinese, media_type="text", schema=schema, images={}, with_gold=True)
    assert converted[0].reason is None and converted[0].row["gold"] == {"labels": ["coupe"]}


def test_the_image_url_names_the_uploaded_file_so_the_importer_finds_it():
    sha = "0123abcd" + "e" * 56
    named = image_task(4, sha, 10, 10, "deadbeef-photo 1.jpg")
    unnamed = image_task(12, sha, 10, 10, None)
    assert label_studio.image_path(image_url(named, 3)) == "deadbeef-photo 1.jpg"  # its own hex prefix survives
    assert image_url(unnamed, 3) == "/data/upload/3/0123abcd-00000012_x.jpg"
    assert label_studio.image_path(image_url(unnamed, 3)) == "00000012_x.jpg"


def test_the_same_tasks_give_the_same_bytes():
    schema = parse_label_schema(IMAGE_SCHEMA)
    tasks = [image_task(n, f"{n:02x}" * 32, 640, 480, f"{n}.jpg", answers=[answer(n * 10, {
        "objects": [{"tool": "bbox", "label": "bat", "bbox": [1.5, 2.25, 3, 4], "attributes": {}}]})])
        for n in range(1, 4)]
    assert written(context_for(schema, "image"), tasks) == written(context_for(schema, "image"), tasks)


# ---------------------------------------------------------------------------------------------------------
# Round trip through our own Label Studio importer (its pure functions)
# ---------------------------------------------------------------------------------------------------------

def reimported(schema: LabelSchema, media_type: str, tasks: list[ExportTask], images: dict) -> list:
    raw = written(context_for(schema, media_type), tasks)
    converted = label_studio.convert(label_studio.parse_export(raw), media_type=media_type, schema=schema,
                                     images=images, with_gold=True)
    assert [c.reason for c in converted] == [None] * len(tasks)
    return [c.row for c in converted]


def test_a_text_export_reimports_as_the_same_tasks_and_answers():
    schema = parse_label_schema({**TEXT_SCHEMA, "multi_label": True})
    texts = ["麻雀在树上唱歌。", "A warbler 🐦 and a sparrow", "平平无奇"]
    results = [{"labels": ["positive"], "spans": [{"start": 0, "end": 2, "label": "species", "attributes": {}}]},
               {"labels": ["negative", "positive"], "spans": [
                   {"start": 2, "end": 9, "label": "species", "attributes": {}},
                   {"start": 18, "end": 25, "label": "species", "attributes": {}}]},
               {"labels": ["negative"]}]
    tasks = [ExportTask(id=n + 1, external_id=None, data={"text": text, "lang": "zh"}, status="completed",
                        is_gold=False, media=None, consensus=None,
                        annotations=(answer(100 + n, result), answer(200 + n, {"labels": ["positive"]})))
             for n, (text, result) in enumerate(zip(texts, results))]
    rows = reimported(schema, "text", tasks, {})
    for task, row, result in zip(tasks, rows, results):
        assert row["data"] == task.data
        assert row["external_id"] == f"label-studio-{task.id}"
        context = TaskContext("text", text_length=len(task.data["text"]))
        assert validate_result(schema, row["gold"], context) == result  # the first answer is the gold
    assert [texts[1][s["start"]:s["end"]] for s in rows[1]["gold"]["spans"]] == ["warbler", "sparrow"]


def test_an_image_export_reimports_as_the_same_tasks_and_answers():
    schema = parse_label_schema(IMAGE_SCHEMA)
    sizes = {"麻雀 1.jpg": (640, 480), "莺.png": (333, 251), "bat.jpg": (1000, 750)}
    shas = {name: f"{n:x}" * 64 for n, name in enumerate(sizes, start=1)}
    results = {
        "麻雀 1.jpg": {"labels": ["sparrow"], "objects": [
            {"tool": "bbox", "label": "sparrow", "bbox": [12.345, 100.5, 300.25, 200.125], "attributes": {}},
            {"tool": "bbox", "label": "bird", "bbox": [0, 0, 640, 480], "attributes": {}},  # the whole image
            {"tool": "keypoint", "label": "warbler", "point": [639.999, 0.001], "attributes": {}}]},
        "莺.png": {"objects": [
            {"tool": "polygon", "label": "warbler", "points": [[1.5, 2.5], [330.125, 10], [200, 250.75], [3, 200]],
             "attributes": {}},
            {"tool": "keypoint", "label": "bird", "point": [166.5, 125.5], "attributes": {}}]},
        "bat.jpg": {"labels": ["bat"], "objects": [
            {"tool": "polygon", "label": "bat", "points": [[100, 100], [900.333, 120.667], [500, 700]],
             "attributes": {}}]},
    }
    tasks = [image_task(n, shas[name], *sizes[name], name, answers=[answer(n * 10, results[name]), answer(
        n * 10 + 1, {"labels": ["bird"]})], batch="2024-05") for n, name in enumerate(sizes, start=1)]
    images = {f"uploads.zip/photos/{name}": label_studio.ImageRef(shas[name], *sizes[name]) for name in sizes}
    rows = reimported(schema, "image", tasks, images)
    for task, row in zip(tasks, rows):
        name = task.data["name"]
        assert row["data"] == task.data  # the same image (by its SHA-256), name and other data
        width, height = sizes[name]
        gold = validate_result(schema, row["gold"], TaskContext("image", width=width, height=height))
        expected = results[name]
        assert gold.get("labels") == expected.get("labels")
        assert [(o["tool"], o["label"], o["attributes"]) for o in gold["objects"]] == \
            [(o["tool"], o["label"], o["attributes"]) for o in expected["objects"]]
        for got, want in zip(gold["objects"], expected["objects"]):
            key = {"bbox": "bbox", "polygon": "points", "keypoint": "point"}[want["tool"]]
            assert _flat(got[key]) == pytest.approx(_flat(want[key]), rel=1e-6, abs=1e-9)


def _flat(value) -> list[float]:
    return [x for item in value for x in (item if isinstance(item, list) else [item])]


# ---------------------------------------------------------------------------------------------------------
# End to end: answers through the API, exported by the export job, imported into a new project
# ---------------------------------------------------------------------------------------------------------

def test_an_export_imported_into_a_new_project_gives_the_same_tasks_and_gold_answers(app, client, owner,
                                                                                      annotators, db):
    images = {"麻雀 1.jpg": jpeg(640, 480, pattern=0), "bat.jpg": jpeg(300, 200, color=(20, 90, 200), pattern=1)}
    answers = {
        "麻雀 1.jpg": {"labels": ["sparrow"], "objects": [
            {"tool": "bbox", "label": "sparrow", "bbox": [12.5, 100.25, 300, 200], "attributes": {"occluded": True}},
            {"tool": "polygon", "label": "warbler", "points": [[10, 10], [600, 20.5], [300, 470]], "attributes": {}},
            {"tool": "keypoint", "label": "bird", "point": [320, 240], "attributes": {}}]},
        "bat.jpg": {"labels": ["bat"], "objects": [
            {"tool": "bbox", "label": "bat", "bbox": [0, 0, 300, 200], "attributes": {}}]}}
    project = create_project(client, owner, visibility="public", overlap=1, label_schema=IMAGE_SCHEMA)
    assert imported(client, app, project["id"], owner, images)["counts"]["created"] == 2
    while (lease := nxt(client, project, annotators[0])).status_code == 200:
        lease = lease.get_json()
        submitted = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                                json={"result": answers[lease["task"]["data"]["name"]], "lead_time_ms": 900},
                                headers=annotators[0])
        assert submitted.status_code == 201, submitted.get_json()
    done = export(client, app, project, owner, "label_studio", include="all")
    assert done["status"] == "completed" and done["rows"] == 2, done
    body = client.get(done["download_url"], headers=owner)
    assert body.status_code == 200
    exported = body.get_data()
    assert [t["annotations"][0]["meta"]["annotator"].startswith("a_") for t in json.loads(exported)] == [True] * 2

    copy = create_project(client, owner, name="Warblers again", visibility="public", overlap=1,
                          label_schema=IMAGE_SCHEMA)
    report = imported(client, app, copy["id"], owner, {"export.json": exported, **images})
    assert report["rejected"] == [] and report["counts"]["created"] == 2, report
    originals = {t.data["name"]: t for t in tasks_of(db, project["id"])}
    copies = {t.data["name"]: t for t in tasks_of(db, copy["id"])}
    assert set(copies) == set(originals) == set(images)
    for name, original in originals.items():
        again = copies[name]
        assert again.data == original.data and again.media_sha256 == original.media_sha256
        assert again.external_id == f"label-studio-{original.id}" and again.is_gold
        want = dict(answers[name], objects=[dict(o, attributes={}) for o in answers[name]["objects"]])
        assert again.gold["labels"] == want["labels"]  # attributes are not in Label Studio regions: dropped
        for got, expected in zip(again.gold["objects"], want["objects"], strict=True):
            key = {"bbox": "bbox", "polygon": "points", "keypoint": "point"}[expected["tool"]]
            assert (got["tool"], got["label"], got["attributes"]) == (expected["tool"], expected["label"], {})
            assert _flat(got[key]) == pytest.approx(_flat(expected[key]), rel=1e-6, abs=1e-9)


def test_an_empty_first_answer_imports_the_task_without_gold_and_our_external_id_comes_back():
    from tasks.formats.label_studio import convert
    from tasks.schema import parse_label_schema

    schema = parse_label_schema({"tools": ["classify"], "labels": [{"id": "pos", "name": "Positive"}]})
    exported = [{"id": 7, "data": {"text": "nothing to see"}, "meta": {"external_id": "row-42"},
                 "annotations": [{"result": [], "was_cancelled": False}]},
                {"id": 8, "data": {"text": "plain"}, "annotations": []}]
    converted = convert(exported, media_type="text", schema=schema, images={}, with_gold=True)
    rows = [c.row for c in converted]
    assert rows[0] == {"data": {"text": "nothing to see"}, "external_id": "row-42"}
    assert rows[1] == {"data": {"text": "plain"}, "external_id": "label-studio-8"}
