"""COCO instances JSON (one file): categories, images and annotations, written as a stream.

COCO wants every image before every annotation, but they arrive together, one task at a time: images go
straight to the output and annotations to a temporary spool file, appended at `close`. Nothing grows with the
project but that spool (on disk).

- categories: one per label of the taxonomy, in its order, ids 1..N; `supercategory` is the parent's name (a
  top-level label is its own supercategory, as in COCO); extensions `label_id` and `parent_label_id` (names
  need not be unique, ids are), and `names` (by language tag) and `aliases` where the label has them. With
  the keypoint tool every category also has `keypoints: ["point"]` and an empty `skeleton`, so keypoint
  readers accept the file.
- images: id = task id, for tasks with an image and something to say about it: a consensus with objects
  (include=consensus; `"objects": []` means "agreed: nothing here", a negative) or at least one answer
  (include=all). Unanswered images are left out: an image without annotations reads as "nothing in it".
- annotations: the consensus objects, or every answer's objects with extensions `annotator` (pseudonym),
  `annotation_id` and `verdict`; ids 1.. in write order. A box keeps its [x, y, w, h] and area w*h; a polygon
  gets `segmentation` [[x1, y1, x2, y2, ...]], its bounds as bbox and its shoelace area; a keypoint becomes
  `keypoints` [x, y, 2] (2 = labelled and visible) with `num_keypoints` 1, area 1 and a 1x1 px bbox around
  the point (centred on it, moved inside the image at an edge) because COCO needs a bbox; that box is no
  object's extent (filter on `tool` before training a detector). Every annotation carries its `tool`, `score`
  where the consensus gave a confidence, and `attributes` where it had any. Objects whose label is not in the
  current taxonomy are left out (COCO has no category for them).
"""
from __future__ import annotations

import shutil
import tempfile
from typing import Any, BinaryIO

import orjson

from tasks.formats.base import ExportContext, ExportTask

CHUNK = 1 << 20
KEYPOINT_VISIBLE = 2  # COCO visibility flag: labelled and visible


def polygon_area(points: list[list[float]]) -> float:
    """The shoelace area of the closed polygon through `points`."""
    twice = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2


def keypoint_box(x: float, y: float, width: int, height: int) -> list[float]:
    """A 1x1 box around the point, centred on it unless that would leave the image."""
    return [min(max(x - 0.5, 0.0), max(width - 1.0, 0.0)), min(max(y - 0.5, 0.0), max(height - 1.0, 0.0)), 1, 1]


class CocoWriter:
    extension = ".json"
    content_type = "application/json"
    archive = False

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context
        self.category = {label.id: number for number, label in enumerate(context.labels, 1)}
        self.spool = tempfile.TemporaryFile()
        self.images = self.annotations = 0
        info = {"description": context.project_name, "version": f"schema {context.schema_version}",
                "contributor": "", "url": "", "project_id": context.project_id, "include": context.include}
        out.write(b'{"info":' + orjson.dumps(info) + b',\n"licenses":[],\n"categories":[')
        keypoints = "keypoint" in context.tools
        for number, label in enumerate(context.labels, 1):
            parent = context.label(label.parent) if label.parent is not None else None
            category: dict[str, Any] = {"id": number, "name": label.name,
                                        "supercategory": parent.name if parent is not None else label.name,
                                        "label_id": label.id, "parent_label_id": label.parent}
            if label.names:
                category["names"] = dict(label.names)
            if label.aliases:
                category["aliases"] = list(label.aliases)
            if keypoints:
                category["keypoints"], category["skeleton"] = ["point"], []
            out.write((b"\n" if number == 1 else b",\n") + orjson.dumps(category))
        out.write(b'\n],\n"images":[')

    def write(self, task: ExportTask) -> int:
        media = task.media
        if media is None:
            return 0
        if self.context.include == "all":
            if not task.annotations:
                return 0
            sources = [(a.result.get("objects") or (), (a.annotator, a.id, a.verdict)) for a in task.annotations]
        else:
            objects = ((task.consensus or {}).get("result") or {}).get("objects")
            if objects is None:
                return 0
            sources = [(objects, None)]
        self.images += 1
        image = {"id": task.id, "file_name": media.filename, "width": media.width, "height": media.height}
        self.out.write((b"\n" if self.images == 1 else b",\n") + orjson.dumps(image))
        chunks = []  # one spool write per image, not one per object
        for objects, who in sources:
            for obj in objects:
                annotation = self._annotation(task.id, obj, media.width, media.height)
                if annotation is None:
                    continue
                if who is not None:
                    annotation["annotator"], annotation["annotation_id"], annotation["verdict"] = who
                self.annotations += 1
                annotation["id"] = self.annotations
                chunks.append(b"\n" if self.annotations == 1 else b",\n")
                chunks.append(orjson.dumps(annotation))
        if chunks:
            self.spool.write(b"".join(chunks))
        return len(chunks) // 2

    def _annotation(self, image_id: int, obj: dict[str, Any], width: int, height: int) -> dict[str, Any] | None:
        category = self.category.get(obj.get("label"))
        tool = obj.get("tool")
        if category is None:
            return None
        annotation: dict[str, Any] = {"id": 0, "image_id": image_id, "category_id": category, "tool": tool}
        if tool == "bbox":
            x, y, w, h = obj["bbox"]
            annotation.update(bbox=[x, y, w, h], area=w * h, iscrowd=0)
        elif tool == "polygon":
            points = obj["points"]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            annotation.update(segmentation=[[v for point in points for v in point[:2]]],
                              bbox=[min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                              area=polygon_area(points), iscrowd=0)
        elif tool == "keypoint":
            x, y = obj["point"]
            annotation.update(keypoints=[x, y, KEYPOINT_VISIBLE], num_keypoints=1,
                              bbox=keypoint_box(x, y, width, height), area=1, iscrowd=0)
        else:
            return None
        if obj.get("confidence") is not None:
            annotation["score"] = obj["confidence"]
        if obj.get("attributes"):
            annotation["attributes"] = dict(sorted(obj["attributes"].items()))
        return annotation

    def close(self, card: dict[str, Any]) -> None:
        self.out.write(b'\n],\n"annotations":[')
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, self.out, CHUNK)
        self.spool.close()
        self.out.write(b"\n]}\n")
