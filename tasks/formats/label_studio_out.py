"""Label Studio JSON out: a JSON array of Label Studio tasks, written one task at a time.

Each task is `{"id", "data", "meta", "annotations", "predictions"}` as Label Studio imports it, and as our own
Label Studio importer (tasks/formats/label_studio.py) reads it back:

- `data` is the task's data. An image task's `image` becomes a Label Studio upload URL,
  "/data/upload/<project id>/<8 hex>-<file name>", where the file name is the one the image was uploaded
  under (`data.name`, else the export's file name) and the 8 hex characters (from its SHA-256) are the prefix
  Label Studio gives its uploads, which our importer strips: importing this file with the same images matches
  each task to its image by that name.
- Boxes, polygons and keypoints are in percent of the upright image (`original_width`, `original_height`);
  spans keep our offsets (Unicode code points) and carry their text. Labels are written by name where the
  importer maps that name back to the same label, else by id.
- `annotations`: with include=all every answer in id order (so the first, which our importer takes as gold, is
  the earliest); with include=consensus one annotation holding the consensus. None is ground truth, and none
  has `completed_by`: Label Studio refuses an import naming an annotator it does not know, and leaves it out
  to credit the importing user. Our pseudonymous annotator, verdict, credits and so on go in the annotation's
  `meta`, which Label Studio ignores on import. `lead_time` is in seconds, as Label Studio keeps it.
- `predictions` holds the consensus too, with its confidence as `score` (Label Studio sorts and filters by it).
- Object and span attributes have no place in a plain Label Studio region our importer reads: they go in the
  annotation's `meta.attributes`, by region id.
"""
from __future__ import annotations

import posixpath
import urllib.parse
from typing import Any, BinaryIO

import orjson

from tasks.formats.base import ExportAnnotation, ExportContext, ExportTask

KEYPOINT_SIZE_PX = 3  # Label Studio gives a keypoint a size (`width`, percent of the image width)
# Control names (`from_name`), one per tool: Label Studio wants every control of a labeling config named apart.
FROM_NAMES = {"classify": "label", "bbox": "bbox", "polygon": "polygon", "keypoint": "keypoint", "span": "span"}
_LABEL_KEYS = {"bbox": "rectanglelabels", "polygon": "polygonlabels", "keypoint": "keypointlabels"}


def label_names(context: ExportContext) -> dict[str, str]:
    """Each label id -> what to write for it: its name where our importer maps that name back to this id (the
    name is unique and no other label's id), else the id itself (ids always map to themselves)."""
    owners: dict[str, set[str]] = {}
    for label in context.labels:
        owners.setdefault(label.name, set()).add(label.id)
    ids = {label.id for label in context.labels}

    def safe(label) -> bool:
        return owners[label.name] == {label.id} and (label.name == label.id or label.name not in ids)

    return {label.id: label.name if safe(label) else label.id for label in context.labels}


def image_url(task: ExportTask, project_id: int) -> str:
    """A Label Studio upload URL for the task's image that our importer's `image_path` reads back as its name."""
    media = task.media
    assert media is not None
    name = task.data.get("name")
    name = posixpath.basename(name.replace("\\", "/")) if isinstance(name, str) else ""
    if not name or name in (".", ".."):
        name = media.filename
    return f"/data/upload/{project_id}/{media.sha256[:8]}-{urllib.parse.quote(name)}"


class LabelStudioWriter:
    extension = ".json"
    content_type = "application/json"
    archive = False

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context
        self.names = label_names(context)
        self.to_name = "image" if context.media_type == "image" else "text"
        self.first = True
        self.out.write(b"[")

    def write(self, task: ExportTask) -> int:
        record = self.task(task)
        self.out.write((b"\n" if self.first else b",\n") + orjson.dumps(record))
        self.first = False
        return 1

    def close(self, card: dict[str, Any]) -> None:
        self.out.write(b"\n]\n")

    # -- one task ------------------------------------------------------------------------------------------

    def task(self, task: ExportTask) -> dict[str, Any]:
        """The Label Studio task for one of ours."""
        meta: dict[str, Any] = {"task_id": task.id, "external_id": task.external_id, "status": task.status,
                                "is_gold": task.is_gold, "answers": task.answers}
        if self.context.media_type == "image":
            if task.media is None:
                raise ValueError(f"task {task.id} is an image task without its image")
            data = {"image": image_url(task, self.context.project_id),
                    **{key: value for key, value in task.data.items() if key != "image"}}
            meta["image"] = {"sha256": task.media.sha256, "width": task.media.width, "height": task.media.height,
                             "file_name": task.media.filename}
        else:
            data = dict(task.data)
        consensus = task.consensus
        if consensus is not None:
            meta["consensus"] = {key: consensus.get(key) for key in ("method", "confidence", "agreement",
                                                                     "annotations")}
            if consensus.get("reviewed"):  # a reviewer's fix, its reviewer pseudonymised
                meta["consensus"].update(reviewed=True, reviewer=consensus.get("reviewer"))
        if self.context.include == "all":
            annotations = [self.answer(task, answer) for answer in task.annotations]
        elif consensus is not None and consensus.get("result") is not None:
            annotations = [self.consensus_annotation(task, consensus)]
        else:
            annotations = []
        record: dict[str, Any] = {"id": task.id, "data": data, "meta": meta, "annotations": annotations}
        if consensus is not None and consensus.get("result") is not None:
            prediction: dict[str, Any] = {"model_version": f"consensus-{consensus.get('method') or 'unknown'}"}
            if consensus.get("confidence") is not None:
                prediction["score"] = consensus["confidence"]
            prediction["result"] = self.result(task, consensus["result"], f"t{task.id}")[0]
            record["predictions"] = [prediction]
        else:
            record["predictions"] = []
        return record

    def answer(self, task: ExportTask, answer: ExportAnnotation) -> dict[str, Any]:
        items, attributes = self.result(task, answer.result, f"a{answer.id}")
        annotation: dict[str, Any] = {"id": answer.id, "result": items, "was_cancelled": False,
                                      "ground_truth": False, "created_at": answer.created_at}
        if answer.lead_time_ms is not None:
            annotation["lead_time"] = answer.lead_time_ms / 1000
        meta: dict[str, Any] = {"annotator": answer.annotator, "schema_version": answer.schema_version,
                                "counted": answer.counted, "verdict": answer.verdict, "gold_score": answer.gold_score,
                                "credits": answer.credits}
        if attributes:
            meta["attributes"] = attributes
        annotation["meta"] = meta
        return annotation

    def consensus_annotation(self, task: ExportTask, consensus: dict[str, Any]) -> dict[str, Any]:
        items, attributes = self.result(task, consensus["result"], f"t{task.id}")
        meta: dict[str, Any] = {"consensus": True, **{key: consensus.get(key) for key in (
            "method", "confidence", "agreement", "annotations")}}
        if attributes:
            meta["attributes"] = attributes
        return {"result": items, "was_cancelled": False, "ground_truth": False, "meta": meta}

    # -- one result ----------------------------------------------------------------------------------------

    def result(self, task: ExportTask, result: dict[str, Any] | None,
               prefix: str) -> tuple[list[dict[str, Any]], dict[str, dict]]:
        """Our result as Label Studio result items (region ids "<prefix>-<n>"), and the regions' attributes."""
        items: list[dict[str, Any]] = []
        attributes: dict[str, dict] = {}
        result = result or {}

        def region_id() -> str:
            return f"{prefix}-{len(items) + 1}"

        labels = result.get("labels") or []
        if labels:
            items.append({"id": region_id(), "type": "choices", "from_name": FROM_NAMES["classify"],
                          "to_name": self.to_name, "value": {"choices": [self.name(label) for label in labels]}})
        for drawn in result.get("objects") or []:
            item = self.region(task, drawn, region_id())
            if item is not None:
                items.append(item)
                if drawn.get("attributes"):
                    attributes[item["id"]] = drawn["attributes"]
        text = task.data.get("text") if isinstance(task.data.get("text"), str) else ""
        for span in result.get("spans") or []:
            start, end = span.get("start"), span.get("end")
            item = {"id": region_id(), "type": "labels", "from_name": FROM_NAMES["span"], "to_name": self.to_name,
                    "value": {"start": start, "end": end,
                              "text": text[start:end] if isinstance(start, int) and isinstance(end, int) else "",
                              "labels": [self.name(span.get("label"))]}}
            items.append(item)
            if span.get("attributes"):
                attributes[item["id"]] = span["attributes"]
        return items, attributes

    def region(self, task: ExportTask, drawn: dict[str, Any], region_id: str) -> dict[str, Any] | None:
        """A box, polygon or keypoint as a Label Studio region, in percent of the image."""
        tool = drawn.get("tool")
        if tool not in _LABEL_KEYS or task.media is None:
            return None
        width, height = task.media.width, task.media.height

        def px(x: float, y: float) -> tuple[float, float]:
            return x * 100 / width, y * 100 / height

        if tool == "bbox":
            x, y, w, h = drawn["bbox"]
            (px_x, px_y), (px_w, px_h) = px(x, y), px(w, h)
            value: dict[str, Any] = {"x": px_x, "y": px_y, "width": px_w, "height": px_h, "rotation": 0}
        elif tool == "polygon":
            value = {"points": [list(px(x, y)) for x, y in drawn["points"]], "closed": True}
        else:
            x, y = px(*drawn["point"])
            value = {"x": x, "y": y, "width": KEYPOINT_SIZE_PX * 100 / width}
        value[_LABEL_KEYS[tool]] = [self.name(drawn.get("label"))]
        item: dict[str, Any] = {"id": region_id, "type": _LABEL_KEYS[tool], "from_name": FROM_NAMES[tool],
                                "to_name": self.to_name, "original_width": width, "original_height": height,
                                "image_rotation": 0, "value": value}
        if drawn.get("confidence") is not None:  # a consensus box's own confidence
            item["score"] = drawn["confidence"]
        return item

    def name(self, label_id: Any) -> Any:
        """The label as written: its name where that maps back to it, else its id (also for labels the current
        schema no longer has)."""
        return self.names.get(label_id, label_id)
