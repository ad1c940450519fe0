"""Multilingual labels (issue 19): a label's names by language and its aliases beside its name, checked naming
the exact field, kept by the API in canonical form, versioned like any schema change, and carried by exports."""
from __future__ import annotations

import copy
import io
import zipfile

import orjson
import pytest
import yaml
from sqlalchemy import select

from tasks.models import ProjectSchemaVersion
from tests.factories import assert_problem, create_project, export, imported, jpeg, nxt, project_body, tasks_of

SEDAN = {"id": "sedan", "name": "Sedan", "names": {"zh": "轿车", "zh-Hant": "轎車", "pt-BR": "Sedã"},
         "aliases": ["saloon", "Berline"]}
CARS = {"tools": ["bbox", "classify"], "labels": [
    {"id": "car", "name": "Car", "names": {"zh": "汽车"}, "children": [
        SEDAN, {"id": "suv", "name": "SUV", "aliases": ["sport utility vehicle"]}]},
    {"id": "truck", "name": "Truck"}]}
SUV_PATH = "label_schema.labels.0.children.1"  # where the bad shapes below are put


def cars(**suv) -> dict:
    """CARS with the SUV's fields changed (a deep copy)."""
    schema = copy.deepcopy(CARS)
    schema["labels"][0]["children"][1].update(suv)
    return schema


def test_names_and_aliases_come_back_in_canonical_form(client, owner):
    sent = cars(names={"ZH": " 越野车 ", "zh-hant": "休旅車", "pt-br": "utilitário esportivo", "es-419": "camioneta"},
                aliases=[" sport utility vehicle ", "4x4"])
    sent["labels"][1].update(names={}, aliases=[])  # empty ones are dropped, like a blank description
    project = create_project(client, owner, label_schema=sent)
    got = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["label_schema"]["labels"]
    assert got[0]["children"][0] == SEDAN
    assert got[0]["children"][1] == {"id": "suv", "name": "SUV", "names": {
        "zh": "越野车", "zh-Hant": "休旅車", "pt-BR": "utilitário esportivo", "es-419": "camioneta"},
        "aliases": ["sport utility vehicle", "4x4"]}
    assert got[0]["names"] == {"zh": "汽车"} and got[1] == {"id": "truck", "name": "Truck"}


def test_a_changed_name_or_alias_is_a_new_schema_version_and_the_same_names_in_other_letter_case_are_not(
        client, owner, db):
    project = create_project(client, owner, label_schema=CARS)
    url = f"/api/v1/projects/{project['id']}"
    same = cars()
    same["labels"][0]["children"][0]["names"] = {"ZH": "轿车", "ZH-HANT": "轎車", "pt-br": "Sedã"}
    assert client.patch(url, json={"label_schema": same}, headers=owner).get_json()["schema_version"] == 1
    renamed = cars(names={"zh": "越野车"})
    assert client.patch(url, json={"label_schema": renamed}, headers=owner).get_json()["schema_version"] == 2
    aliased = cars(names={"zh": "越野车"}, aliases=["sport utility vehicle", "4x4"])
    assert client.patch(url, json={"label_schema": aliased}, headers=owner).get_json()["schema_version"] == 3
    versions = db.scalars(select(ProjectSchemaVersion).where(ProjectSchemaVersion.project_id == project["id"])
                          .order_by(ProjectSchemaVersion.version)).all()
    suvs = [v.label_schema["labels"][0]["children"][1] for v in versions]
    assert [s.get("names") for s in suvs] == [None, {"zh": "越野车"}, {"zh": "越野车"}]
    assert [s["aliases"] for s in suvs] == [["sport utility vehicle"]] * 2 + [["sport utility vehicle", "4x4"]]


NAME = "n" * 201
BAD = [
    # names: an object of language tag -> name
    ({"names": "越野车"}, "names"), ({"names": ["zh", "越野车"]}, "names"), ({"names": 1}, "names"),
    ({"names": {f"x{chr(97 + i // 26)}{chr(97 + i % 26)}": "n" for i in range(51)}}, "names"),  # 51 languages
    ({"names": {"zh_CN": "越野车"}}, "names.zh_CN"), ({"names": {"chinese": "越野车"}}, "names.chinese"),
    ({"names": {"z": "越野车"}}, "names.z"), ({"names": {"zh-": "越野车"}}, "names.zh-"),
    ({"names": {"zh-Hant-CN-x-private": "越野车"}}, "names.zh-Hant-CN-x-private"),  # no extensions
    ({"names": {"ẑh": "越野车"}}, "names.ẑh"), ({"names": {"\u212aa": "越野车"}}, "names.\u212aa"),  # ASCII only
    ({"names": {"": "越野车"}}, "names"), ({"names": {"en-" + "a" * 40: "SUV"}}, "names"),  # too long to echo
    ({"names": {"zh\n": "越野车"}}, "names"),
    ({"names": {"zh": ""}}, "names.zh"), ({"names": {"zh": "   "}}, "names.zh"), ({"names": {"zh": 5}}, "names.zh"),
    ({"names": {"zh": None}}, "names.zh"), ({"names": {"zh": ["越野车"]}}, "names.zh"),
    ({"names": {"zh": "越野\x00车"}}, "names.zh"), ({"names": {"zh": "越野\n车"}}, "names.zh"),
    ({"names": {"zh": "\u202e车野越"}}, "names.zh"), ({"names": {"zh": NAME}}, "names.zh"),
    ({"names": {"zh": "越野车", "ZH": "吉普"}}, "names.ZH"),  # one language twice
    # aliases: a list of distinct names
    ({"aliases": "4x4"}, "aliases"), ({"aliases": {"en": "4x4"}}, "aliases"),
    ({"aliases": [f"a{i}" for i in range(21)]}, "aliases"),
    ({"aliases": [""]}, "aliases.0"), ({"aliases": ["4x4", 3]}, "aliases.1"), ({"aliases": ["4x4", None]}, "aliases.1"),
    ({"aliases": ["4x4", " "]}, "aliases.1"), ({"aliases": [NAME]}, "aliases.0"), ({"aliases": ["a\tb"]}, "aliases.0"),
    ({"aliases": ["jeep", "4x4", "JEEP"]}, "aliases.2"),  # the same alias, letter case aside
    # and the label's own fields still
    ({"nicknames": ["4x4"]}, "nicknames"),
]


@pytest.mark.parametrize("suv,field", BAD, ids=[f"{i}-{field}" for i, (_, field) in enumerate(BAD)])
def test_every_bad_shape_is_422_naming_the_exact_field_and_nothing_is_saved(client, owner, suv, field):
    response = client.post("/api/v1/projects", json=project_body(label_schema=cars(**suv)), headers=owner)
    errors = assert_problem(response, 422, "invalid_fields")["errors"]
    assert list(errors) == [f"{SUV_PATH}.{field}"] and all(errors.values())
    assert client.get("/api/v1/projects", headers=owner).get_json()["total"] == 0
    project = create_project(client, owner, label_schema=CARS)
    patched = client.patch(f"/api/v1/projects/{project['id']}", json={"label_schema": cars(**suv)}, headers=owner)
    assert list(assert_problem(patched, 422)["errors"]) == [f"{SUV_PATH}.{field}"]
    stored = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()
    assert stored["schema_version"] == 1 and stored["label_schema"]["labels"] == CARS["labels"]


def test_every_problem_of_a_label_is_reported_at_once():
    from annotator.errors import InvalidInput
    from tasks.schema import parse_label_schema

    with pytest.raises(InvalidInput) as caught:
        parse_label_schema(cars(name="", names={"zh": "", "x_y": "z"}, aliases=["a", "A", 7]))
    assert sorted(caught.value.fields) == sorted(f"{SUV_PATH}.{f}" for f in (
        "name", "names.zh", "names.x_y", "aliases.1", "aliases.2"))


def test_exports_keep_every_name(app, client, owner, db):
    """COCO categories carry names and aliases; YOLO and VOC, which have room for one name, write `name`; every
    export's dataset card holds the whole label schema."""
    project = create_project(client, owner, label_schema=CARS, visibility="public", overlap=1)
    imported(client, app, project["id"], owner, {"sedan.jpg": jpeg(64, 48)})
    lease = nxt(client, project, owner).get_json()
    answer = {"result": {"labels": ["sedan"], "objects": [{"tool": "bbox", "label": "sedan", "bbox": [1, 2, 30, 20]}]},
              "lead_time_ms": 1000}
    made = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation", json=answer, headers=owner)
    assert made.status_code == 201, made.get_json()
    labels = client.get(f"/api/v1/projects/{project['id']}", headers=owner).get_json()["label_schema"]["labels"]

    coco = export(client, app, project, owner, "coco", include="all")
    categories = orjson.loads(client.get(coco["download_url"], headers=owner).get_data())["categories"]
    by_id = {c["label_id"]: c for c in categories}
    assert by_id["sedan"]["name"] == "Sedan" and by_id["sedan"]["names"] == SEDAN["names"]
    assert by_id["sedan"]["aliases"] == ["saloon", "Berline"] and by_id["sedan"]["supercategory"] == "Car"
    assert "names" not in by_id["truck"] and "aliases" not in by_id["truck"]
    card = client.get(coco["card_url"], headers=owner).get_json()
    assert card["dataset"]["label_schema"]["labels"] == labels

    yolo = export(client, app, project, owner, "yolo", include="all")
    with zipfile.ZipFile(io.BytesIO(client.get(yolo["download_url"], headers=owner).get_data())) as archive:
        assert yaml.safe_load(archive.read("data.yaml"))["names"] == ["Car", "Sedan", "SUV", "Truck"]
        assert orjson.loads(archive.read("dataset_card.json"))["dataset"]["label_schema"]["labels"] == labels
    for format_name in ("voc", "label_studio", "jsonl", "csv"):
        done = export(client, app, project, owner, format_name, include="all")
        assert client.get(done["card_url"], headers=owner).get_json()["dataset"]["label_schema"]["labels"] == labels
    voc = export(client, app, project, owner, "voc", include="consensus")
    with zipfile.ZipFile(io.BytesIO(client.get(voc["download_url"], headers=owner).get_data())) as archive:
        xml = next(archive.read(n) for n in archive.namelist() if n.startswith("Annotations/")).decode()
        assert "<name>sedan</name>" in xml and "<label_name>Sedan</label_name>" in xml
    studio = orjson.loads(client.get(export(client, app, project, owner, "label_studio", include="all")["download_url"],
                                     headers=owner).get_data())
    assert studio[0]["annotations"][0]["result"][0]["value"]["choices"] == ["Sedan"]


def test_a_label_studio_file_naming_labels_in_chinese_or_by_alias_imports_as_the_labels_ids(client, app, owner, db):
    project = create_project(client, owner, label_schema=CARS)
    studio = [{"id": n, "data": {"image": f"/data/upload/1/3f2a1b2c-car{n}.jpg"}, "annotations": [{"result": [
        {"type": "rectanglelabels", "original_width": 64, "original_height": 48,
         "value": {"x": 10, "y": 10, "width": 50, "height": 50, "rotation": 0, "rectanglelabels": [said]}}]}]}
        for n, said in enumerate(["轿车", "sport utility vehicle", "轎車", "汽车"], start=1)]
    files = {f"car{n}.jpg": jpeg(64, 48, pattern=n) for n in range(1, 5)}
    report = imported(client, app, project["id"], owner, {**files, "export.json": orjson.dumps(studio)})
    assert report["counts"]["created"] == 4, report
    by_external = {t.external_id: t.gold["objects"][0]["label"] for t in tasks_of(db, project["id"])}
    assert by_external == {"label-studio-1": "sedan", "label-studio-2": "suv", "label-studio-3": "sedan",
                           "label-studio-4": "car"}


def test_the_openapi_document_describes_names_and_aliases_of_labels(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    create = spec["paths"]["/api/v1/projects"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    described = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["label_schema"]["description"]
    assert '"names"' in described and '"aliases"' in described
