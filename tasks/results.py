"""The check of one annotation result against a label schema and its task: every tool's shape.

Pure domain code: input is the decoded JSON of the HTTP API, output is a normalised copy of the result.
Every problem is collected and raised at once as `InvalidInput`, keyed by a dotted path such as
`result.objects.2.bbox`, so a form can mark every bad field. Polygons must be simple (no self-crossing).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.schema import DEFAULT_TEXT_MAX_LENGTH, GEOMETRY_TOOLS, MEDIA_TYPES, Attribute, LabelSchema
from tasks.validation import FORBIDDEN_IN_TEXT, MISSING, Problems, is_int, is_number, required_field, show

MAX_OBJECTS = 10_000
MAX_SPANS = 10_000
MIN_POLYGON_POINTS = 3
# The self-crossing check is quadratic in a polygon's points: these caps bound the work one result can cause.
MAX_POLYGON_POINTS = 2_000
MAX_RESULT_POLYGON_POINTS = 20_000
_GEOMETRY_KEY = {"bbox": "bbox", "polygon": "points", "keypoint": "point"}
_OBJECT_COMMON_KEYS = frozenset({"tool", "label", "attributes"})
_SPAN_KEYS = frozenset({"start", "end", "label", "attributes"})
_RESULT_PARTS = {"labels": ("classify",), "objects": GEOMETRY_TOOLS, "spans": ("span",)}
# Edge pairs compared per numpy block in the self-crossing test: bounds memory to a few MB per array
# while a 1,000-point polygon still goes through in a single block.
_PAIR_BLOCK = 1 << 20


@dataclass(frozen=True)
class TaskContext:
    """What a result is checked against.

    media_type: "image" or "text"; width/height: image size in pixels of the upright image;
    text_length: length of the task text in Unicode code points (Python `len`, not UTF-16 units).
    """

    media_type: str
    width: int | None = None
    height: int | None = None
    text_length: int | None = None

    def __post_init__(self) -> None:
        # A wrong media type is a bug in the caller, not bad user input.
        if self.media_type not in MEDIA_TYPES:
            raise ValueError(f"media_type must be one of {MEDIA_TYPES}, not {self.media_type!r}")


def validate_result(schema: LabelSchema, result: object, context: TaskContext, *, path: str = "result") -> dict:
    """Check one annotation result against `schema` and the task; return a normalised copy.

    Raises InvalidInput naming every bad field. Objects always come back with an `attributes` object.
    """
    problems = Problems()
    if not isinstance(result, dict):
        problems.add(path, "Must be an object.")
        problems.raise_if_any()
    enabled = [part for part, tools in _RESULT_PARTS.items() if any(t in schema.tools for t in tools)]
    for key in result:
        if key not in _RESULT_PARTS:
            problems.add(f"{path}.{key}", f"Unknown field; this task's result may have: {', '.join(enabled)}.")
        elif key not in enabled:
            needs = " or ".join(_RESULT_PARTS[key])
            problems.add(f"{path}.{key}", f"Not allowed: this task's schema does not enable the {needs} tool.")
    if not any(key in result for key in _RESULT_PARTS):
        problems.add(path, f"Must contain at least one of: {', '.join(enabled)}.")
    checkers = {"labels": _check_result_labels, "objects": _check_objects, "spans": _check_spans}
    normalised = {}
    for part in enabled:
        if part in result:
            normalised[part] = checkers[part](schema, result[part], context, f"{path}.{part}", problems)
    problems.raise_if_any()
    return normalised


def _check_label_ref(schema: LabelSchema, value: object, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or value not in schema.labels:
        problems.add(path, f"Unknown label {show(value)}; use the id of a label in the schema.")
        return None
    return value


def _check_result_labels(schema: LabelSchema, raw: object, context: TaskContext, path: str,
                         problems: Problems) -> list[str]:
    if not isinstance(raw, list):
        problems.add(path, "Must be a list of label ids.")
        return []
    chosen: list[str] = []
    for index, value in enumerate(raw):
        label = _check_label_ref(schema, value, f"{path}.{index}", problems)
        if label is not None and label in chosen:
            problems.add(f"{path}.{index}", f"Repeats the label {label!r}.")
        elif label is not None:
            chosen.append(label)
    if schema.multi_label and not raw:
        problems.add(path, "Choose at least one label.")
    elif not schema.multi_label and len(raw) != 1:
        problems.add(path, f"Choose exactly one label (this schema is not multi-label); got {len(raw)}.")
    return chosen


def _check_objects(schema: LabelSchema, raw: object, context: TaskContext, path: str,
                   problems: Problems) -> list[dict[str, Any]]:
    if context.media_type != "image":
        problems.add(path, f"Objects can only be drawn on image tasks, not {context.media_type} tasks.")
        return []
    if context.width is None or context.height is None:
        problems.add(path, "The image size is not known yet, so objects cannot be checked.")
        return []
    if not isinstance(raw, list) or len(raw) > MAX_OBJECTS:
        problems.add(path, f"Must be a list of at most {MAX_OBJECTS} objects.")
        return []
    total = sum(len(o["points"]) for o in raw if isinstance(o, dict) and isinstance(o.get("points"), list))
    if total > MAX_RESULT_POLYGON_POINTS:
        problems.add(path, f"The polygons have {total} points in all; at most {MAX_RESULT_POLYGON_POINTS} are allowed.")
        return []
    objects = [_check_object(schema, item, context, f"{path}.{index}", problems) for index, item in enumerate(raw)]
    return [item for item in objects if item is not None]


def _check_object(schema: LabelSchema, item: object, context: TaskContext, path: str,
                  problems: Problems) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with tool, label and a shape.")
        return None
    enabled = [tool for tool in GEOMETRY_TOOLS if tool in schema.tools]
    tool = item.get("tool", MISSING)
    if tool is MISSING:
        problems.add(f"{path}.tool", "Required.")
    elif not isinstance(tool, str) or tool not in enabled:
        problems.add(f"{path}.tool", f"Must be a tool enabled for this task: {', '.join(enabled)}.")
    tool = tool if isinstance(tool, str) and tool in enabled else None
    for key in item:
        if key in _OBJECT_COMMON_KEYS:
            continue
        if key not in _GEOMETRY_KEY.values():
            problems.add(f"{path}.{key}", "Unknown field; an object has tool, label, attributes and its shape "
                                          "(bbox, points or point).")
        elif tool is not None and key != _GEOMETRY_KEY[tool]:
            problems.add(f"{path}.{key}", f"Does not apply to the {tool} tool, whose shape is "
                                          f"{_GEOMETRY_KEY[tool]!r}.")
    label = required_field(item, "label", path, problems, lambda v, p: _check_label_ref(schema, v, p, problems))
    attributes = _check_attribute_values(schema, item.get("attributes", {}), f"{path}.attributes", problems)
    if tool is None:
        return None
    key = _GEOMETRY_KEY[tool]
    shape = required_field(item, key, path, problems, lambda v, p: _SHAPE_CHECKERS[tool](v, context, p, problems))
    if label is None or shape is None:
        return None
    return {"tool": tool, "label": label, key: shape, "attributes": attributes}


def _check_bbox(value: object, context: TaskContext, path: str, problems: Problems) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 4 or not all(is_number(v) for v in value):
        problems.add(path, "Must be [x, y, width, height]: four numbers, in pixels.")
        return None
    x, y, w, h = value
    width, height = context.width, context.height
    assert width is not None and height is not None  # _check_objects made sure
    wrong = []
    if w <= 0 or h <= 0:
        wrong.append("width and height must be greater than 0")
    if x < 0 or y < 0:
        wrong.append("x and y must not be negative")
    if x + w > width or y + h > height:
        wrong.append(f"the box must lie inside the {width}×{height} image")
    if wrong:
        problems.add(path, f"Box {show(value)}: {'; '.join(wrong)}.")
        return None
    return list(value)


def _check_point(value: object, context: TaskContext, path: str, problems: Problems) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 2 or not all(is_number(v) for v in value):
        problems.add(path, "Must be [x, y]: two numbers, in pixels.")
        return None
    x, y = value
    if not (0 <= x <= context.width and 0 <= y <= context.height):  # type: ignore[operator]
        problems.add(path, f"Point {show(value)} must lie inside the {context.width}×{context.height} image.")
        return None
    return list(value)


def _check_polygon(value: object, context: TaskContext, path: str,
                   problems: Problems) -> list[list[float]] | None:
    if not isinstance(value, list):
        problems.add(path, "Must be a list of [x, y] points.")
        return None
    if not MIN_POLYGON_POINTS <= len(value) <= MAX_POLYGON_POINTS:
        problems.add(path, f"A polygon needs {MIN_POLYGON_POINTS} to {MAX_POLYGON_POINTS} points; "
                           f"got {len(value)}.")
        return None
    points = [_check_point(point, context, f"{path}.{index}", problems) for index, point in enumerate(value)]
    if any(point is None for point in points):
        return None
    defect = _polygon_defect(np.asarray(points, dtype=np.float64))
    if defect is not None:
        problems.add(path, defect)
        return None
    return points  # type: ignore[return-value]


_SHAPE_CHECKERS: dict[str, Callable[[object, TaskContext, str, Problems], Any]] = {
    "bbox": _check_bbox, "polygon": _check_polygon, "keypoint": _check_point,
}


def _polygon_defect(points: np.ndarray) -> str | None:
    """Why the closed polygon through `points` (n×2) is not simple, or None if it is simple with an area.

    Edge k joins point k to point k+1 (the last edge closes back to point 0).
    """
    count = len(points)
    following = np.roll(points, -1, axis=0)
    repeated = np.flatnonzero(np.all(points == following, axis=1))
    if repeated.size:
        first = int(repeated[0])
        return f"Points {first} and {(first + 1) % count} are the same; do not repeat a point (nor the first " \
               f"point at the end)."
    spike = _first_spike(points, following)
    if spike is not None:
        return f"Edges {(spike - 1) % count} and {spike} fold back on each other at point {spike}."
    crossing = _first_crossing(points, following)
    if crossing is not None:
        return f"Edges {crossing[0]} and {crossing[1]} cross or touch; a polygon must not cross itself " \
               f"(edge k joins point k to the next point)."
    # Belt and braces: an outline that passed the tests above always encloses some area.
    x, y = points[:, 0], points[:, 1]
    if np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == 0:
        return "The polygon has zero area."
    return None


def _first_spike(points: np.ndarray, following: np.ndarray) -> int | None:
    """The first point where the two edges meeting there are collinear and overlap (the outline turns back)."""
    back = np.roll(points, 1, axis=0) - points
    ahead = following - points
    cross = back[:, 0] * ahead[:, 1] - back[:, 1] * ahead[:, 0]
    dot = np.sum(back * ahead, axis=1)
    spikes = np.flatnonzero((cross == 0) & (dot > 0))
    return int(spikes[0]) if spikes.size else None


def _first_crossing(starts: np.ndarray, ends: np.ndarray) -> tuple[int, int] | None:
    """The first pair (i, j), i < j, of non-adjacent edges that intersect or touch.

    All pairs are screened at once in numpy blocks by bounding-box overlap, which is cheap; only the pairs
    that pass (few, for a typical outline) get the exact orientation test.
    """
    count = len(starts)
    if count < 4:  # in a triangle every pair of edges is adjacent
        return None
    low, high = np.minimum(starts, ends), np.maximum(starts, ends)
    rows = max(1, _PAIR_BLOCK // count)
    for first in range(0, count - 2, rows):
        i = np.arange(first, min(first + rows, count))[:, None]
        j = np.arange(first + 2, count)[None, :]  # j <= i + 1 is never a candidate
        near = (j > i + 1) & ~((i == 0) & (j == count - 1))  # edge 0 and the last edge share point 0
        for axis in (0, 1):
            near &= (low[i, axis] <= high[j, axis]) & (low[j, axis] <= high[i, axis])
        pair_rows, pair_columns = np.nonzero(near)  # row-major: lowest i first, then lowest j
        edge_i, edge_j = i[pair_rows, 0], j[0, pair_columns]
        hits = np.flatnonzero(_segments_meet(starts[edge_i], ends[edge_i], starts[edge_j], ends[edge_j]))
        if hits.size:
            return int(edge_i[hits[0]]), int(edge_j[hits[0]])
    return None


def _segments_meet(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """For each row k: do the closed segments p[k]q[k] and r[k]s[k] share a point?

    The classic orientation test: a proper crossing has both pairs of endpoints on opposite sides;
    a touch has an endpoint exactly on the other segment (collinear and inside its bounding box).
    """
    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:  # sign of (b - a) x (c - a)
        return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    def within(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:  # c inside the bounding box of ab
        return np.all((np.minimum(a, b) <= c) & (c <= np.maximum(a, b)), axis=1)

    d1, d2, d3, d4 = side(r, s, p), side(r, s, q), side(p, q, r), side(p, q, s)
    meet = (d1 * d2 < 0) & (d3 * d4 < 0)
    meet |= (d1 == 0) & within(r, s, p)
    meet |= (d2 == 0) & within(r, s, q)
    meet |= (d3 == 0) & within(p, q, r)
    meet |= (d4 == 0) & within(p, q, s)
    return meet


def _check_spans(schema: LabelSchema, raw: object, context: TaskContext, path: str,
                 problems: Problems) -> list[dict[str, Any]]:
    if context.media_type != "text":
        problems.add(path, f"Spans can only be marked on text tasks, not {context.media_type} tasks.")
        return []
    if context.text_length is None:
        problems.add(path, "The text length is not known, so spans cannot be checked.")
        return []
    if not isinstance(raw, list) or len(raw) > MAX_SPANS:
        problems.add(path, f"Must be a list of at most {MAX_SPANS} spans.")
        return []
    spans = [_check_span(schema, item, context.text_length, f"{path}.{index}", problems)
             for index, item in enumerate(raw)]
    return [span for span in spans if span is not None]


def _check_span(schema: LabelSchema, item: object, text_length: int, path: str,
                problems: Problems) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with start, end and label.")
        return None
    for key in item:
        if key not in _SPAN_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; a span has start, end, label and attributes.")
    start = required_field(item, "start", path, problems, lambda v, p: _check_offset(v, p, problems))
    end = required_field(item, "end", path, problems, lambda v, p: _check_offset(v, p, problems))
    if end is not None and end > text_length:
        problems.add(f"{path}.end", f"Must be at most {text_length}, the text's length in characters "
                                    f"(Unicode code points).")
        end = None
    if start is not None and end is not None and start >= end:
        problems.add(f"{path}.end", f"Must be greater than start ({start}); a span cannot be empty or inverted.")
        end = None
    label = required_field(item, "label", path, problems, lambda v, p: _check_label_ref(schema, v, p, problems))
    attributes = _check_attribute_values(schema, item.get("attributes", {}), f"{path}.attributes", problems)
    if start is None or end is None or label is None:
        return None
    return {"start": start, "end": end, "label": label, "attributes": attributes}


def _check_offset(value: object, path: str, problems: Problems) -> int | None:
    if not is_int(value) or value < 0:  # type: ignore[operator]
        problems.add(path, "Must be a whole number of characters, 0 or more.")
        return None
    return value  # type: ignore[return-value]


def _check_attribute_values(schema: LabelSchema, raw: object, path: str, problems: Problems) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.add(path, "Must be an object of attribute values.")
        return {}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        attribute = schema.attributes.get(name)
        if attribute is None:
            defined = ", ".join(schema.attributes) or "none"
            problems.add(f"{path}.{name}", f"Unknown attribute; this schema defines: {defined}.")
        elif _check_attribute_value(attribute, value, f"{path}.{name}", problems):
            values[name] = value
    for name, attribute in schema.attributes.items():
        if attribute.required and name not in raw:
            problems.add(f"{path}.{name}", "Required.")
    return values


def _check_attribute_value(attribute: Attribute, value: object, path: str, problems: Problems) -> bool:
    if attribute.type == "boolean" and not isinstance(value, bool):
        problems.add(path, "Must be true or false.")
    elif attribute.type == "choice" and (not isinstance(value, str) or value not in (attribute.options or ())):
        problems.add(path, f"Must be one of: {', '.join(attribute.options or ())}.")
    elif attribute.type == "number":
        return _check_number_value(attribute, value, path, problems)
    elif attribute.type == "text":
        return _check_text_value(attribute, value, path, problems)
    else:
        return True
    return False


def _check_number_value(attribute: Attribute, value: object, path: str, problems: Problems) -> bool:
    if not is_number(value):
        problems.add(path, "Must be a finite number.")
        return False
    if attribute.minimum is not None and value < attribute.minimum:  # type: ignore[operator]
        problems.add(path, f"Must be at least {attribute.minimum}.")
        return False
    if attribute.maximum is not None and value > attribute.maximum:  # type: ignore[operator]
        problems.add(path, f"Must be at most {attribute.maximum}.")
        return False
    return True


def _check_text_value(attribute: Attribute, value: object, path: str, problems: Problems) -> bool:
    # Empty text is a legitimate answer here ("no remark"), so this does not reuse check_string.
    if not isinstance(value, str):
        problems.add(path, "Must be a string.")
        return False
    if len(value) > (attribute.max_length or DEFAULT_TEXT_MAX_LENGTH):
        problems.add(path, f"Must be at most {attribute.max_length} characters long.")
        return False
    if FORBIDDEN_IN_TEXT.search(value):
        problems.add(path, "Must not contain control characters (other than newline and tab) or bidirectional "
                           "override characters.")
        return False
    return True
