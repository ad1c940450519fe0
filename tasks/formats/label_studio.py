"""Label Studio JSON exports in: tasks, and their first annotation as a gold answer.

Label Studio stores boxes, polygons and keypoints in percent of the image; we
store pixels of the upright image, so x_px = x% * width / 100. Its labels are
names; ours are taxonomy ids, so a name maps to the id with that id, that
(unique) name, or else that (unique) name in another language or alias.
"""
from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tasks.schema import LabelSchema

# Label Studio prefixes uploaded file names with 8 hex characters and a dash.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
_TOLERANCE_PX = 0.5  # percent -> pixel rounding may overshoot the edge by a hair


class NotLabelStudio(ValueError):
    """The bytes are not a Label Studio JSON export."""


@dataclass(frozen=True)
class ImageRef:
    sha256: str
    width: int
    height: int


class ImageIndex:
    """The uploaded images by their path in the upload ("photos.zip/set_a/1.jpg"), to match Label Studio URLs."""

    def __init__(self, images: Mapping[str, ImageRef]) -> None:
        self.by_path = {path.lstrip("/"): ref for path, ref in images.items()}

    def find(self, url: str) -> ImageRef:
        wanted = image_path(url)
        if not wanted:
            raise _Skip("its image URL cannot be read")
        name = posixpath.basename(wanted)
        if "/" in wanted:  # a path (local files, ?d=dir/x.jpg): match it at the end of the upload path
            hits = [ref for path, ref in self.by_path.items() if path == wanted or path.endswith("/" + wanted)]
        else:
            hits = [ref for path, ref in self.by_path.items() if posixpath.basename(path) == name]
        if not hits:
            raise _Skip(f"its image {wanted!r} was not in this upload")
        if len({ref.sha256 for ref in hits}) > 1:
            raise _Skip(f"several uploaded images match {wanted!r}; put them in folders as Label Studio saw them")
        return hits[0]


@dataclass(frozen=True)
class Converted:
    """One Label Studio task as our task row, or the reason it cannot be imported."""

    label: str
    row: dict[str, Any] | None
    reason: str | None = None


def looks_like_export(raw: bytes) -> bool:
    head = raw[:64].lstrip()
    return head.startswith(b"[") or head.startswith(b"{")


def parse_export(raw: bytes) -> list[dict[str, Any]]:
    try:
        tasks = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise NotLabelStudio(f"not valid JSON: {error}") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks):
        raise NotLabelStudio("a Label Studio export is a JSON list of tasks, each with a `data` object")
    return tasks


def image_path(url: str) -> str:
    """What a Label Studio image URL names: "dir/x.jpg" for local files, else the uploaded file's name.

    Uploads look like /data/upload/<project>/<8 hex>-x.jpg; local storage like /data/local-files/?d=dir/x.jpg.
    Returns "" for a URL that cannot be read.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return ""
    local = urllib.parse.parse_qs(parts.query).get("d")
    if local:
        return posixpath.normpath(urllib.parse.unquote(local[0])).lstrip("/")
    return _UPLOAD_PREFIX.sub("", posixpath.basename(urllib.parse.unquote(parts.path)))


def convert(tasks: list[dict[str, Any]], *, media_type: str, schema: LabelSchema,
            images: Mapping[str, ImageRef], with_gold: bool) -> list[Converted]:
    """Our task rows for Label Studio tasks; `images` maps each uploaded image's path in the upload to it."""
    names, index = _label_names(schema), ImageIndex(images)
    return [_convert_one(task, n, media_type, names, index, with_gold) for n, task in enumerate(tasks, start=1)]


def _label_names(schema: LabelSchema) -> dict[str, str | None]:
    """What a Label Studio label may say -> our label id (None: ambiguous). An id is itself; then a name; then a
    name in another language or an alias (a taxonomy made in Chinese exported with Chinese names)."""
    names: dict[str, str | None] = {}
    others: dict[str, str | None] = {}

    def add(table: dict[str, str | None], term: str, label_id: str) -> None:
        table[term] = None if term in table and table[term] != label_id else label_id

    for label in schema.labels.values():
        add(names, label.name, label.id)
        for term in (*(name for _, name in label.names), *label.aliases):
            add(others, term, label.id)
    return {**others, **names, **{label_id: label_id for label_id in schema.labels}}


def _convert_one(task: dict, n: int, media_type: str, names: dict, images: ImageIndex,
                 with_gold: bool) -> Converted:
    label = f"task {task.get('id', n)}"
    try:
        return _convert_checked(task, label, media_type, names, images, with_gold)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
        # An export is untrusted input: one odd task is reported, never the end of the whole import.
        return Converted(label, None, f"is not a task we can read ({type(error).__name__})")


def _convert_checked(task: dict, label: str, media_type: str, names: dict, images: ImageIndex,
                     with_gold: bool) -> Converted:
    try:
        data, image = _data(task["data"], media_type, images)
        row: dict[str, Any] = {"data": data}
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        if isinstance(meta.get("external_id"), str) and meta["external_id"].strip():
            row["external_id"] = meta["external_id"][:200]  # our own export names the task's original id
        elif task.get("id") is not None:
            row["external_id"] = f"label-studio-{task['id']}"
        annotation = _first_annotation(task) if with_gold else None
        if annotation is not None:
            gold = _result(annotation.get("result") or [], names, image)
            if gold:  # an empty answer ("nothing here") is no gold to score others by: the task comes in plain
                row["gold"] = gold
        return Converted(label, row)
    except _Skip as skip:
        return Converted(label, None, str(skip))


class _Skip(Exception):
    pass


def _data(data: dict, media_type: str, images: ImageIndex) -> tuple[dict, ImageRef | None]:
    if media_type == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _Skip("has no `text` in its data")
        return {"text": text, **{k: v for k, v in data.items() if k != "text"}}, None
    url = data.get("image")
    if not isinstance(url, str):
        raise _Skip("has no `image` in its data")
    ref = images.find(url)
    extra = {k: v for k, v in data.items() if k != "image"}
    return {"image": f"/media/{ref.sha256}", "name": posixpath.basename(image_path(url)), **extra}, ref


def _first_annotation(task: dict) -> dict | None:
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        raise _Skip("has `annotations` that are not a list")
    for annotation in annotations:
        if isinstance(annotation, dict) and not annotation.get("was_cancelled"):
            return annotation
    return None


def _result(items: Any, names: dict, image: ImageRef | None) -> dict[str, Any]:
    if not isinstance(items, list):
        raise _Skip("has an annotation whose `result` is not a list")
    result: dict[str, list] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise _Skip("has an annotation result we cannot read")
        kind, value = item.get("type"), item["value"]
        if kind == "choices":
            result.setdefault("labels", []).extend(_ids(value.get("choices"), names))
        elif kind == "labels":
            for label_id in _ids(value.get("labels"), names):
                result.setdefault("spans", []).append({"start": value.get("start"), "end": value.get("end"),
                                                       "label": label_id})
        elif kind in ("rectanglelabels", "polygonlabels", "keypointlabels"):
            if image is None:
                raise _Skip(f"has a {kind} result on a text task")
            result.setdefault("objects", []).extend(_object(kind, value, names, image))
        else:
            raise _Skip(f"uses the Label Studio result type {kind!r}, which we do not import")
    return result


def _ids(values: Any, names: dict) -> list[str]:
    if not isinstance(values, list) or not values:
        raise _Skip("has a result without labels")
    ids = []
    for value in values:
        label_id = names.get(value) if isinstance(value, str) else None
        if label_id is None:
            raise _Skip(f"uses the label {value!r}, which is not (uniquely) in the taxonomy")
        ids.append(label_id)
    return ids


def _object(kind: str, value: dict, names: dict, image: ImageRef) -> list[dict[str, Any]]:
    label_key = kind  # "rectanglelabels" holds the label names, and so on
    labels = _ids(value.get(label_key), names)
    if kind == "rectanglelabels":
        if value.get("rotation"):
            raise _Skip("has a rotated box, which we do not import")
        x, y = _px(value.get("x"), image.width), _px(value.get("y"), image.height)
        w, h = _px(value.get("width"), image.width), _px(value.get("height"), image.height)
        x, y, w, h = _clamp_box(x, y, w, h, image)
        return [{"tool": "bbox", "label": label, "bbox": [x, y, w, h]} for label in labels]
    if kind == "polygonlabels":
        points = value.get("points")
        if not isinstance(points, list):
            raise _Skip("has a polygon without points")
        pixels = [_clamp_point(_px(p[0], image.width), _px(p[1], image.height), image) if isinstance(p, list)
                  and len(p) == 2 else _bad() for p in points]
        return [{"tool": "polygon", "label": label, "points": pixels} for label in labels]
    point = _clamp_point(_px(value.get("x"), image.width), _px(value.get("y"), image.height), image)
    return [{"tool": "keypoint", "label": label, "point": point} for label in labels]


def _bad():
    raise _Skip("has a coordinate that is not a number")


def _px(percent: Any, size: int) -> float:
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        _bad()
    return round(percent * size / 100, 3)


def _clamp_point(x: float, y: float, image: ImageRef) -> list[float]:
    if x < -_TOLERANCE_PX or y < -_TOLERANCE_PX or x > image.width + _TOLERANCE_PX or y > image.height + _TOLERANCE_PX:
        return [x, y]  # clearly outside: left for the schema check to refuse with its path
    return [min(max(x, 0.0), image.width), min(max(y, 0.0), image.height)]


def _clamp_box(x: float, y: float, w: float, h: float, image: ImageRef) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = _clamp_point(x, y, image), _clamp_point(x + w, y + h, image)
    return x0, y0, round(x1 - x0, 3), round(y1 - y0, 3)


class Unreadable(ValueError):
    """A Label Studio annotation we cannot import (an unknown result type, a label not in the taxonomy, ...)."""


def label_terms(schema: LabelSchema) -> dict[str, str | None]:
    """What a label may be called in a file -> our label id (None when the term names two labels)."""
    return _label_names(schema)


def annotation_result(items: Any, schema: LabelSchema, image: ImageRef | None) -> dict[str, Any]:
    """One Label Studio annotation's `result` list as our result; Unreadable saying why not."""
    try:
        return _result(items if items is not None else [], _label_names(schema), image)
    except _Skip as skip:
        raise Unreadable(str(skip).removeprefix("has ").removeprefix("uses ")) from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
        raise Unreadable(f"an annotation we cannot read ({type(error).__name__})") from None
