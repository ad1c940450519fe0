"""How right an answer to a gold task is, 0..1, per result part; the quality issue refines this.

Labels: Jaccard overlap of the label sets, where naming an ancestor of the right label earns partial
credit by depth (answering "Warbler" for "Yellow Warbler" in a 3-level tree earns 2/3). Objects:
F1 of one-to-one matches at IoU >= 0.5 with the same label (boxes; polygons and keypoints by their
bounding boxes). Spans: F1 of exact (start, end, label) matches. A result's score is the mean of
its parts' scores.
"""
from __future__ import annotations

from typing import Any

from tasks.schema import LabelSchema

IOU_MATCH = 0.5


def score(schema: LabelSchema, answer: dict[str, Any], gold: dict[str, Any]) -> float:
    parts = []
    if "labels" in gold:
        parts.append(_labels(schema, answer.get("labels", []), gold["labels"]))
    if "objects" in gold:
        parts.append(_f1(_matched_objects(answer.get("objects", []), gold["objects"]),
                         len(answer.get("objects", [])), len(gold["objects"])))
    if "spans" in gold:
        wanted = {(s["start"], s["end"], s["label"]) for s in gold["spans"]}
        given = {(s["start"], s["end"], s["label"]) for s in answer.get("spans", [])}
        parts.append(_f1(len(wanted & given), len(given), len(wanted)))
    return sum(parts) / len(parts) if parts else 0.0


def _credit(schema: LabelSchema, given: str, wanted: str) -> float:
    if given == wanted:
        return 1.0
    label = schema.labels.get(wanted)
    if label is None:  # the gold label left the taxonomy in a later schema: only an exact match counts
        return 0.0
    path = label.path
    if given in path:  # an ancestor: right as far as it goes
        return (path.index(given) + 1) / len(path)
    return 0.0


def _labels(schema: LabelSchema, given: list[str], wanted: list[str]) -> float:
    if not given and not wanted:
        return 1.0
    matched = sum(max((_credit(schema, g, w) for g in given), default=0.0) for w in wanted)
    return matched / len(set(given) | set(wanted)) if given else 0.0


def _box(item: dict[str, Any]) -> tuple[float, float, float, float]:
    if "bbox" in item:
        x, y, w, h = item["bbox"]
        return x, y, x + w, y + h
    points = item["points"] if "points" in item else [item["point"]]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width, height = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 1.0 if a == b else 0.0  # keypoints: the same point
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _matched_objects(given: list[dict], wanted: list[dict]) -> int:
    """Greedy one-to-one matching by IoU; exact enough for a gold check."""
    pairs = sorted(((_iou(_box(g), _box(w)), i, j) for i, g in enumerate(given) for j, w in enumerate(wanted)
                    if g["label"] == w["label"]), reverse=True)
    used_given, used_wanted, matched = set(), set(), 0
    for iou, i, j in pairs:
        if iou >= IOU_MATCH and i not in used_given and j not in used_wanted:
            used_given.add(i)
            used_wanted.add(j)
            matched += 1
    return matched


def _f1(matched: int, given: int, wanted: int) -> float:
    if given == 0 and wanted == 0:
        return 1.0
    return 2 * matched / (given + wanted)
