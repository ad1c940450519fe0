"""The image export writers (COCO, YOLO, Pascal VOC) on hand-made tasks: no database, real JPEG bytes.

Each output is read back by an independent reader (pycocotools, PyYAML, ElementTree, zipfile) and compared
with the pixel boxes that went in."""
from __future__ import annotations

import gc
import io
import json
import re
import tempfile
import tracemalloc
import xml.etree.ElementTree as ET
import zipfile

import pytest
from PIL import Image
from pycocotools.coco import COCO
from shapely.geometry import Polygon

from tasks.formats.base import ExportAnnotation, ExportContext, ExportTask, Label, Media
from tasks.formats.coco import CocoWriter
from tasks.formats.voc import VocWriter
from tasks.formats.yolo import YoloWriter, data_yaml

try:
    import yaml
except ImportError:  # PyYAML is optional: fall back to reading our own data.yaml layout
    yaml = None

W, H = 64, 48
SPECIAL_ID = "bird<&>\"'鸟"
SPECIAL_NAME = "Bird: <small> & \"quoted\" 'single' 鸟 #1"
LABELS = (
    Label("animal", "Animal", None, ("Animal",)),
    Label(SPECIAL_ID, SPECIAL_NAME, "animal", ("Animal", SPECIAL_NAME)),
    Label("cat", "猫 & <cat>: no", "animal", ("Animal", "猫 & <cat>: no")),
    Label("car", "yes", None, ("yes",)),  # a YAML 1.1 boolean if it were left unquoted
    Label("sep", "line\u2028sep\\path", None, ("line\u2028sep\\path",)),
)
CARD = {"dataset": {"name": "birds"}, "export": {"format": "test"}}
BOX = [10.4, 20.5, 30.2, 20.0]
POLYGON = [[5, 5], [40, 5], [40, 30], [20, 30], [20, 15], [5, 15]]  # an L shape: 35x10 + 20x15 = 650
WRITERS = (CocoWriter, YoloWriter, VocWriter)


def jpeg(width: int, height: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), ((seed * 37) % 256, (seed * 91) % 256, 128)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Images:
    """The fake media store: sha256 -> JPEG bytes, opened as files are."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.opened: list[str] = []

    def media(self, task_id: int, width: int = W, height: int = H) -> Media:
        sha = f"{task_id:064x}"
        self.blobs[sha] = jpeg(width, height, task_id)
        return Media(sha, width, height, "image/jpeg", f"{task_id:08d}_photo.jpg")

    def open(self, sha256: str) -> io.BytesIO:
        self.opened.append(sha256)
        return io.BytesIO(self.blobs[sha256])


def make_context(images: Images, include: str = "consensus", labels=LABELS) -> ExportContext:
    return ExportContext(project_id=7, project_name="Birds & <cars>", media_type="image",
                         tools=("bbox", "polygon", "keypoint"), labels=labels, schema_version=3, include=include,
                         open_media=images.open)


def consensus(objects=None, labels=None) -> dict:
    result = {}
    if objects is not None:
        result["objects"] = objects
    if labels is not None:
        result["labels"] = labels
    return {"result": result, "confidence": 0.8, "method": "clusters", "agreement": None, "annotations": 3}


def answer(answer_id: int, annotator: str, objects: list[dict], verdict: str | None = None) -> ExportAnnotation:
    return ExportAnnotation.of(id=answer_id, annotator=annotator, result={"objects": objects}, lead_time_ms=1200,
                            schema_version=3, created_at="2024-05-01T10:00:00Z", counted=True, verdict=verdict,
                            gold_score=None, credits=0)


def make_task(task_id: int, media: Media | None, cons: dict | None, answers=()) -> ExportTask:
    return ExportTask(id=task_id, external_id=f"ext-{task_id}", data={"name": "photo.jpg"}, status="done",
                      is_gold=False, media=media, consensus=cons, annotations=tuple(answers))


def box(label: str, bbox: list[float], confidence: float | None = None, **extra) -> dict:
    obj = {"tool": "bbox", "label": label, "bbox": bbox, **extra}
    if confidence is not None:
        obj["confidence"] = confidence
    return obj


def project(images: Images) -> list[ExportTask]:
    """Five tasks: boxes + polygon + keypoint, no image, an agreed empty image, unanswered, classify-only."""
    return [
        make_task(1, images.media(1), consensus([
            box(SPECIAL_ID, BOX, 0.91, attributes={"occluded": True, "colour": "red & <blue>"}),
            box("car", [0, 0, W, H], 0.5),
            {"tool": "polygon", "label": "cat", "points": POLYGON},
            {"tool": "keypoint", "label": "animal", "point": [0, H]},
            box("deleted-label", [1, 1, 2, 2], 0.7),  # a label no longer in the taxonomy
        ])),
        make_task(2, None, consensus([box("car", [1, 1, 5, 5], 0.9)])),  # a text-only task: skipped
        make_task(3, images.media(3, 100, 80), consensus([])),  # everyone agreed: nothing there
        make_task(4, images.media(4), None),  # nobody answered: skipped
        make_task(5, images.media(5), consensus(labels=["car"])),  # no consensus about objects: skipped
        make_task(6, images.media(6, 33, 17), consensus([box("cat", [3.5, 2.25, 20, 10], 0.66)])),
    ]


def run(writer_type, tasks, context, out=None) -> tuple[bytes, list[int]]:
    out = io.BytesIO() if out is None else out
    writer = writer_type(out, context)
    rows = [writer.write(task) for task in tasks]
    writer.close(CARD)
    return (out.getvalue() if isinstance(out, io.BytesIO) else b""), rows


def shoelace(points) -> float:
    return Polygon(points).area  # shapely: an implementation independent of the writer's


# --- COCO ---------------------------------------------------------------------------------------------------


def load_coco(data: bytes, tmp_path) -> COCO:
    path = tmp_path / "instances.json"
    path.write_bytes(data)
    return COCO(str(path))


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools on NumPy 2
def test_coco_consensus_reads_back_with_pycocotools(tmp_path):
    images = Images()
    data, rows = run(CocoWriter, project(images), make_context(images))
    coco = load_coco(data, tmp_path)

    assert rows == [4, 0, 0, 0, 0, 1]
    assert [c["id"] for c in coco.dataset["categories"]] == [1, 2, 3, 4, 5]
    by_label = {c["label_id"]: c for c in coco.dataset["categories"]}
    assert [c["name"] for c in coco.dataset["categories"]] == [label.name for label in LABELS]
    assert by_label["animal"]["supercategory"] == "Animal"  # top level: its own name, as COCO does
    assert by_label[SPECIAL_ID]["supercategory"] == "Animal"
    assert by_label[SPECIAL_ID]["parent_label_id"] == "animal"
    assert by_label["car"]["supercategory"] == "yes"
    assert by_label["cat"]["keypoints"] == ["point"]

    assert sorted(coco.imgs) == [1, 3, 6]  # no image (2), unanswered (4), classify-only (5): left out
    assert (coco.imgs[1]["width"], coco.imgs[1]["height"], coco.imgs[1]["file_name"]) == (W, H, "00000001_photo.jpg")
    assert (coco.imgs[3]["width"], coco.imgs[3]["height"]) == (100, 80)
    assert coco.getAnnIds(imgIds=[3]) == []
    assert coco.getAnnIds(imgIds=[1]) == [1, 2, 3, 4]
    assert coco.getAnnIds(imgIds=[6]) == [5]
    assert sorted(coco.anns) == [1, 2, 3, 4, 5]

    bird, car, cat, point = (coco.anns[i] for i in (1, 2, 3, 4))
    assert bird["category_id"] == by_label[SPECIAL_ID]["id"] and bird["bbox"] == BOX
    assert bird["area"] == pytest.approx(BOX[2] * BOX[3])
    assert bird["score"] == 0.91 and bird["iscrowd"] == 0 and bird["tool"] == "bbox"
    assert bird["attributes"] == {"colour": "red & <blue>", "occluded": True}
    assert car["area"] == W * H and car["category_id"] == by_label["car"]["id"]

    assert cat["tool"] == "polygon" and cat["category_id"] == by_label["cat"]["id"]
    assert cat["segmentation"] == [[v for p in POLYGON for v in p]]
    assert cat["area"] == pytest.approx(shoelace(POLYGON)) and cat["area"] == pytest.approx(650)
    assert cat["bbox"] == [5, 5, 35, 25]
    assert coco.annToMask(cat).sum() == pytest.approx(650, rel=0.1)  # pycocotools understands the polygon

    assert point["keypoints"] == [0, H, 2] and point["num_keypoints"] == 1
    assert point["bbox"] == [0.0, H - 1.0, 1, 1] and point["area"] == 1  # 1x1, moved inside at the edge
    assert "annotator" not in bird
    assert coco.getAnnIds(catIds=[by_label["cat"]["id"]]) == [3, 5]


def test_coco_include_all_exports_every_answer(tmp_path):
    images = Images()
    first = images.media(1)
    tasks = [
        make_task(1, first, consensus([box("car", [1, 1, 10, 10], 0.9)]), answers=[
            answer(11, "a_one", [box("car", [1, 1, 10, 10]), {"tool": "keypoint", "label": "cat", "point": [5, 6]}]),
            answer(12, "a_two", [box("car", [2, 2, 9, 9])], verdict="rejected"),
        ]),
        make_task(2, images.media(2), None),  # no answers: left out
        make_task(3, images.media(3), None, answers=[answer(13, "a_one", [])]),  # answered "nothing here"
        make_task(4, None, None, answers=[answer(14, "a_two", [box("car", [1, 1, 2, 2])])]),
    ]
    data, rows = run(CocoWriter, tasks, make_context(images, include="all"))
    coco = load_coco(data, tmp_path)
    assert rows == [3, 0, 0, 0]
    assert sorted(coco.imgs) == [1, 3]
    anns = [coco.anns[i] for i in coco.getAnnIds(imgIds=[1])]
    assert [a["id"] for a in anns] == [1, 2, 3]
    assert [(a["annotation_id"], a["annotator"], a["tool"]) for a in anns] == [
        (11, "a_one", "bbox"), (11, "a_one", "keypoint"), (12, "a_two", "bbox")]
    assert anns[2]["verdict"] == "rejected" and anns[0]["verdict"] is None
    assert anns[2]["area"] == 81 and "score" not in anns[0]
    assert anns[1]["keypoints"] == [5, 6, 2] and anns[1]["bbox"] == [4.5, 5.5, 1, 1]

    consensus_only, rows = run(CocoWriter, tasks, make_context(images))
    coco = load_coco(consensus_only, tmp_path)
    assert rows == [1, 0, 0, 0] and sorted(coco.imgs) == [1]
    assert coco.anns[1]["score"] == 0.9 and "annotator" not in coco.anns[1]


def test_coco_streams_twenty_thousand_tasks_in_flat_memory():
    images = Images()
    media = images.media(1)
    context = make_context(images)

    def tasks():
        for task_id in range(1, 20_001):
            yield make_task(task_id, media, consensus([box("car", [1, 2, 3, 4], 0.5), box("cat", [5, 6, 7, 8])]))

    with tempfile.TemporaryFile() as out:
        gc.collect()
        tracemalloc.start()
        try:
            writer = CocoWriter(out, context)
            rows = sum(writer.write(task) for task in tasks())
            writer.close(CARD)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert rows == 40_000
        assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"
        out.seek(0)
        dataset = json.load(out)
    assert len(dataset["images"]) == 20_000 and len(dataset["annotations"]) == 40_000
    assert dataset["annotations"][-1]["id"] == 40_000 and dataset["annotations"][-1]["image_id"] == 20_000


# --- YOLO ---------------------------------------------------------------------------------------------------


def _unquote(scalar: str) -> str:
    """A double-quoted YAML scalar as yolo.yaml_string writes it (for when PyYAML is not installed)."""
    assert scalar[0] == scalar[-1] == '"'
    return re.sub(r'\\(["\\]|u[0-9A-F]{4}|U[0-9A-F]{8})',
                  lambda m: m[1] if len(m[1]) == 1 else chr(int(m[1][1:], 16)), scalar[1:-1])


def read_data_yaml(text: str) -> dict:
    if yaml is not None:
        return yaml.safe_load(text)
    data: dict = {"names": []}
    for line in text.splitlines():
        if line.startswith("  - "):
            data["names"].append(_unquote(line[4:].split("  # ", 1)[0]))
        elif line and not line.startswith("#") and not line.startswith("names"):
            key, value = line.split(": ", 1)
            data[key] = int(value) if value.isdigit() else value
    return data


def test_yolo_boxes_round_trip_to_pixels():
    images = Images()
    tasks = project(images)
    data, rows = run(YoloWriter, tasks, make_context(images))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "images/00000001_photo.jpg", "labels/00000001_photo.txt",
        "images/00000003_photo.jpg", "labels/00000003_photo.txt",
        "images/00000006_photo.jpg", "labels/00000006_photo.txt",
        "data.yaml", "dataset_card.json"]
    assert rows == [2, 0, 0, 0, 0, 1]  # boxes only: the polygon and the keypoint are not YOLO lines
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == (zipfile.ZIP_STORED if info.filename.startswith("images/")
                                      else zipfile.ZIP_DEFLATED)
    assert archive.read("images/00000001_photo.jpg") == images.blobs[tasks[0].media.sha256]
    assert Image.open(io.BytesIO(archive.read("images/00000006_photo.jpg"))).size == (33, 17)

    class_of = {label.id: index for index, label in enumerate(LABELS)}
    expected = {"00000001_photo": (W, H, [(SPECIAL_ID, BOX), ("car", [0, 0, W, H])]),
                "00000003_photo": (100, 80, []),
                "00000006_photo": (33, 17, [("cat", [3.5, 2.25, 20, 10])])}
    for name, (width, height, boxes) in expected.items():
        text = archive.read(f"labels/{name}.txt").decode()
        lines = text.splitlines()
        assert len(lines) == len(boxes) and (text == "" or text.endswith("\n"))
        for line, (label, (x, y, w, h)) in zip(lines, boxes):
            parts = line.split(" ")
            assert len(parts) == 5 and all(re.fullmatch(r"\d\.\d{6}", p) for p in parts[1:])
            cls, xc, yc, bw, bh = int(parts[0]), *map(float, parts[1:])
            assert cls == class_of[label]
            assert all(0 <= v <= 1 for v in (xc, yc, bw, bh))
            # 6 decimals: each value is within 5e-7 of the truth, so a pixel edge within 1e-6 of the side.
            tolerance = 1e-6 * max(width, height) + 1e-9
            assert (xc - bw / 2) * width == pytest.approx(x, abs=tolerance)
            assert (yc - bh / 2) * height == pytest.approx(y, abs=tolerance)
            assert bw * width == pytest.approx(w, abs=tolerance)
            assert bh * height == pytest.approx(h, abs=tolerance)

    text = archive.read("data.yaml").decode()
    config = read_data_yaml(text)
    assert config["path"] == "." and config["train"] == "images" and config["val"] == "images"
    assert config["nc"] == len(LABELS)
    assert config["names"] == [label.name for label in LABELS]
    assert "Boxes only" in text
    assert json.loads(archive.read("dataset_card.json")) == CARD


def test_yolo_names_survive_without_pyyaml_too():
    text = data_yaml(make_context(Images()))
    names = [_unquote(line[4:].split("  # ", 1)[0]) for line in text.decode().splitlines() if line.startswith("  - ")]
    assert names == [label.name for label in LABELS]


@pytest.mark.parametrize("name", ["plain", "a: b # c", "- [x] {y} *z &w !v %u @t `s", "null", "~", "0x1F", "",
                                  "tab\there", "nel\x85bom\ufeffend", "emoji 🐦 and \U0001F600", "\ufffe\uffff",
                                  "new\nline\r", "'single' \"double\" \\"])
def test_yolo_names_are_quoted_for_any_yaml_reader(name):
    from tasks.formats.yolo import yaml_string

    assert _unquote(yaml_string(name)) == name
    if yaml is not None:
        assert yaml.safe_load(f"names:\n  - {yaml_string(name)}  # a comment\n") == {"names": [name]}


def test_yolo_include_all_uses_the_consensus():
    images = Images()
    media = images.media(1)
    task = make_task(1, media, consensus([box("car", [1, 1, 10, 10], 0.9)]),
                     answers=[answer(11, "a_one", [box("cat", [2, 2, 3, 3])])])
    unanswered = make_task(2, images.media(2), None, answers=[answer(12, "a_two", [box("cat", [2, 2, 3, 3])])])
    every, rows = run(YoloWriter, [task, unanswered], make_context(images, include="all"))
    archive = zipfile.ZipFile(io.BytesIO(every))
    assert rows == [1, 0]
    assert archive.read("labels/00000001_photo.txt").decode().split(" ")[0] == str(
        [label.id for label in LABELS].index("car"))
    assert "images/00000002_photo.jpg" not in archive.namelist()  # answers but no consensus yet


# --- Pascal VOC ---------------------------------------------------------------------------------------------


def test_voc_xml_boxes_and_names():
    images = Images()
    data, rows = run(VocWriter, project(images), make_context(images))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "JPEGImages/00000001_photo.jpg", "Annotations/00000001_photo.xml",
        "JPEGImages/00000003_photo.jpg", "Annotations/00000003_photo.xml",
        "JPEGImages/00000006_photo.jpg", "Annotations/00000006_photo.xml",
        "ImageSets/Main/default.txt", "labelmap.txt", "dataset_card.json"]
    assert rows == [2, 0, 0, 0, 0, 1]
    assert archive.read("ImageSets/Main/default.txt") == b"00000001_photo\n00000003_photo\n00000006_photo\n"

    root = ET.fromstring(archive.read("Annotations/00000001_photo.xml"))
    assert root.tag == "annotation"
    assert root.findtext("folder") == "JPEGImages" and root.findtext("filename") == "00000001_photo.jpg"
    assert [root.findtext(f"size/{k}") for k in ("width", "height", "depth")] == [str(W), str(H), "3"]
    assert root.findtext("segmented") == "0"
    objects = root.findall("object")
    assert [o.findtext("name") for o in objects] == [SPECIAL_ID, "car"]
    assert [o.findtext("label_name") for o in objects] == [SPECIAL_NAME, "yes"]
    for o in objects:
        assert (o.findtext("pose"), o.findtext("truncated"), o.findtext("difficult")) == ("Unspecified", "0", "0")
    corners = [tuple(int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")) for o in objects]
    # [10.4, 20.5, 30.2, 20]: edges 10.4..40.6 and 20.5..40.5; 1-based inclusive, rounded half up.
    assert corners == [(11, 22, 41, 41), (1, 1, W, H)]
    attributes = {a.findtext("name"): a.findtext("value") for a in objects[0].findall("attributes/attribute")}
    assert attributes == {"colour": "red & <blue>", "occluded": "true"}

    empty = ET.fromstring(archive.read("Annotations/00000003_photo.xml"))
    assert empty.findall("object") == [] and empty.findtext("size/width") == "100"
    small = ET.fromstring(archive.read("Annotations/00000006_photo.xml")).find("object")
    # [3.5, 2.25, 20, 10]: edges 3.5..23.5 and 2.25..12.25 -> (4 + 1, 2 + 1, 24, 12)
    assert tuple(int(small.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")) == (5, 3, 24, 12)

    labelmap = archive.read("labelmap.txt").decode().splitlines()
    assert labelmap[0].startswith("#") and labelmap[1:] == [f"{label.id}:::" for label in LABELS]
    assert json.loads(archive.read("dataset_card.json")) == CARD


def test_voc_tiny_and_edge_boxes_stay_valid():
    from tasks.formats.voc import voc_box

    assert voc_box([0, 0, W, H], W, H) == (1, 1, W, H)
    assert voc_box([3.6, 3.6, 0.2, 0.2], W, H) == (5, 5, 5, 5)  # under a pixel: still one pixel, never inverted
    assert voc_box([W - 0.2, 0, 0.2, 1], W, H) == (W, 1, W, 1)
    assert voc_box([-5, -5, 10, 10], W, H) == (1, 1, 5, 5)  # clipped to the image
    assert voc_box([W + 1, 0, 5, 5], W, H) is None


# --- all three ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer_type", WRITERS)
@pytest.mark.parametrize("include", ["consensus", "all"])
def test_same_input_same_bytes(writer_type, include):
    images = Images()
    tasks = project(images)
    first, _ = run(writer_type, tasks, make_context(images, include=include))
    second, _ = run(writer_type, tasks, make_context(images, include=include))
    assert first == second and len(first) > 100


@pytest.mark.parametrize("writer_type", WRITERS)
def test_image_less_tasks_are_skipped_and_never_opened(writer_type):
    images = Images()
    only_text = [make_task(1, None, consensus([box("car", [1, 1, 5, 5], 0.9)]),
                           answers=[answer(1, "a_one", [box("car", [1, 1, 5, 5])])])]
    for include in ("consensus", "all"):
        data, rows = run(writer_type, only_text, make_context(images, include=include))
        assert rows == [0] and images.opened == []
        if writer_type.archive:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
            assert not any(name.startswith(("images/", "JPEGImages/", "labels/", "Annotations/")) for name in names)
        else:
            parsed = json.loads(data)
            assert parsed["images"] == [] and parsed["annotations"] == []


@pytest.mark.parametrize("writer_type", WRITERS)
def test_an_empty_project_still_makes_a_valid_file(writer_type, tmp_path):
    images = Images()
    data, rows = run(writer_type, [], make_context(images, labels=()))
    assert rows == []
    if writer_type is CocoWriter:
        coco = load_coco(data, tmp_path)
        assert coco.dataset["categories"] == [] and coco.imgs == {}
    else:
        archive = zipfile.ZipFile(io.BytesIO(data))
        assert "dataset_card.json" in archive.namelist()
        if writer_type is YoloWriter:
            assert read_data_yaml(archive.read("data.yaml").decode())["names"] == []


def test_writer_attributes():
    assert (CocoWriter.extension, CocoWriter.content_type, CocoWriter.archive) == (".json", "application/json", False)
    for writer_type in (YoloWriter, VocWriter):
        assert (writer_type.extension, writer_type.content_type, writer_type.archive) == (
            ".zip", "application/zip", True)
