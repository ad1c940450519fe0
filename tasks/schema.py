"""Label schemas (the taxonomy, tools and attributes of a project) and the check of one annotation result.

Pure domain code: input is the decoded JSON of the HTTP API, output is frozen value objects or a normalised
copy of a result. Every problem is collected and raised at once as `InvalidInput`, keyed by a dotted path
such as `label_schema.labels.0.children.1.id` or `result.objects.2.bbox`, so a form can mark every bad field.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from annotator.errors import InvalidInput

TOOLS = ("classify", "bbox", "polygon", "keypoint", "span")
GEOMETRY_TOOLS = ("bbox", "polygon", "keypoint")
ATTRIBUTE_TYPES = ("boolean", "choice", "text", "number")
MEDIA_TYPES = ("image", "text")
MAX_DEPTH = 10
MAX_LABELS = 20_000
MAX_ID_LENGTH = 100
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_ATTRIBUTE_NAME_LENGTH = 64
MAX_OPTIONS = 1000
MAX_OPTION_LENGTH = 200
DEFAULT_TEXT_MAX_LENGTH = 1000
MAX_TEXT_MAX_LENGTH = 10_000
MAX_OBJECTS = 10_000
MAX_SPANS = 10_000
MIN_POLYGON_POINTS = 3
# The self-crossing check is quadratic in a polygon's points: these caps bound the work one result can cause.
MAX_POLYGON_POINTS = 2_000
MAX_RESULT_POLYGON_POINTS = 20_000

# Control characters (C0, DEL, C1), bidi embeddings/overrides/isolates (they can make a label read as
# another one: "Trojan Source"), and lone surrogates (they cannot be stored as UTF-8).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Free text typed by annotators may keep newlines and tabs.
_FORBIDDEN_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_ATTRIBUTE_NAME = re.compile(r"[^\W\d][\w-]*")
_SCHEMA_KEYS = ("tools", "multi_label", "labels", "attributes")
_NODE_KEYS = frozenset({"id", "name", "children", "description", "color"})
_ATTRIBUTE_COMMON_KEYS = frozenset({"name", "type", "required"})
_ATTRIBUTE_TYPE_KEYS = {"boolean": frozenset(), "choice": frozenset({"options"}),
                        "text": frozenset({"max_length"}), "number": frozenset({"min", "max"})}
_ATTRIBUTE_OPTIONAL_KEYS = frozenset().union(*_ATTRIBUTE_TYPE_KEYS.values())
_GEOMETRY_KEY = {"bbox": "bbox", "polygon": "points", "keypoint": "point"}
_OBJECT_COMMON_KEYS = frozenset({"tool", "label", "attributes"})
_SPAN_KEYS = frozenset({"start", "end", "label", "attributes"})
_RESULT_PARTS = {"labels": ("classify",), "objects": GEOMETRY_TOOLS, "spans": ("span",)}
# Edge pairs compared per numpy block in the self-crossing test: bounds memory to a few MB per array
# while a 1,000-point polygon still goes through in a single block.
_PAIR_BLOCK = 1 << 20
_MISSING: Any = object()


@dataclass(frozen=True)
class Label:
    """One node of the label tree.

    id: unique across the whole tree; name: display name (stripped); parent_id: None at the top level;
    depth: 1 for a top-level label; path: ids from the root down to and including this label;
    description, color: optional display hints (color is "#rrggbb", lower case).
    """

    id: str
    name: str
    parent_id: str | None
    depth: int
    path: tuple[str, ...]
    description: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Attribute:
    """A property annotators give to each object or span.

    name: key in a result's `attributes`; type: one of ATTRIBUTE_TYPES; options: the allowed values of a
    `choice` (else None); minimum/maximum: inclusive bounds of a `number` (None = unbounded);
    required: whether every object/span must carry it; max_length: longest `text` value in code points.
    """

    name: str
    type: str
    options: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class LabelSchema:
    """A parsed, valid label schema.

    tools: enabled tools, in the order given; multi_label: whether a classification may name several
    labels; labels: id -> Label in depth-first tree order; attributes: name -> Attribute in the order given.
    """

    tools: tuple[str, ...]
    multi_label: bool
    labels: Mapping[str, Label]
    attributes: Mapping[str, Attribute]

    def __post_init__(self) -> None:
        # Read-only views so a shared schema cannot be changed under its users.
        object.__setattr__(self, "tools", tuple(self.tools))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        children: dict[str | None, list[str]] = {}
        for label in self.labels.values():
            children.setdefault(label.parent_id, []).append(label.id)
        object.__setattr__(self, "_children", {parent: tuple(ids) for parent, ids in children.items()})

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views cannot be pickled or deep-copied; rebuild from plain dicts instead.
        return LabelSchema, (self.tools, self.multi_label, dict(self.labels), dict(self.attributes))

    def ancestors(self, label_id: str) -> tuple[str, ...]:
        """Ids from the root down to the parent of `label_id` (empty at the top level); KeyError if unknown."""
        return self.labels[label_id].path[:-1]

    def children(self, label_id: str | None) -> tuple[str, ...]:
        """Ids of the direct children of `label_id` in order (None: the top-level labels); KeyError if unknown."""
        if label_id is not None and label_id not in self.labels:
            raise KeyError(label_id)
        return self._children.get(label_id, ())  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        """The normalised JSON form; `parse_label_schema(s.to_dict())` gives an equal schema."""
        roots: list[dict[str, Any]] = []
        nodes: dict[str, dict[str, Any]] = {}
        for label in self.labels.values():  # depth-first order: a parent is always built before its children
            node: dict[str, Any] = {"id": label.id, "name": label.name}
            if label.description is not None:
                node["description"] = label.description
            if label.color is not None:
                node["color"] = label.color
            nodes[label.id] = node
            siblings = roots if label.parent_id is None else nodes[label.parent_id].setdefault("children", [])
            siblings.append(node)
        return {"tools": list(self.tools), "multi_label": self.multi_label, "labels": roots,
                "attributes": [_attribute_to_dict(a) for a in self.attributes.values()]}


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


class _Problems:
    """Collects messages by field path so every problem is reported in one InvalidInput."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise InvalidInput(self.fields)


# ---------------------------------------------------------------------------------------------------------
# Small value checks shared by schema and result parsing
# ---------------------------------------------------------------------------------------------------------

def _show(value: object, limit: int = 60) -> str:
    """A short repr for messages, so a megabyte of garbage is not echoed back."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _is_number(value: object) -> bool:
    """A finite int or float; bool is excluded although Python treats it as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_string(value: object, path: str, problems: _Problems, *, max_length: int,
                  strip: bool = False, multiline: bool = False) -> str | None:
    """A non-blank string of at most `max_length` code points without control or bidi characters."""
    if not isinstance(value, str):
        problems.add(path, "Must be a string.")
        return None
    text = value.strip() if strip else value
    if not text.strip():
        problems.add(path, "Must not be empty.")
        return None
    if len(text) > max_length:
        problems.add(path, f"Must be at most {max_length} characters long.")
        return None
    if (_FORBIDDEN_IN_TEXT if multiline else _FORBIDDEN).search(text):
        problems.add(path, "Must not contain control characters or bidirectional override characters.")
        return None
    return text


def _check_bool(raw: Mapping[str, Any], key: str, path: str, problems: _Problems) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        problems.add(f"{path}.{key}", "Must be true or false.")
        return False
    return value


# ---------------------------------------------------------------------------------------------------------
# Label schema
# ---------------------------------------------------------------------------------------------------------

def parse_label_schema(raw: object, *, path: str = "label_schema") -> LabelSchema:
    """Check a label schema from the API and return it parsed; raise InvalidInput naming every problem.

    Whether the tools suit the project's media type is the caller's check, not this one.
    """
    problems = _Problems()
    if not isinstance(raw, dict):
        problems.add(path, "Must be an object with tools, labels and optionally multi_label and attributes.")
        problems.raise_if_any()
    for key in raw:
        if key not in _SCHEMA_KEYS:
            problems.add(f"{path}.{key}", f"Unknown field; a label schema has {', '.join(_SCHEMA_KEYS)}.")
    tools = _parse_tools(raw.get("tools", _MISSING), f"{path}.tools", problems)
    multi_label = _check_bool(raw, "multi_label", path, problems)
    labels = _parse_labels(raw.get("labels", _MISSING), f"{path}.labels", problems)
    attributes = _parse_attributes(raw.get("attributes", []), f"{path}.attributes", problems)
    problems.raise_if_any()
    return LabelSchema(tools=tools, multi_label=multi_label, labels=labels, attributes=attributes)


def _parse_tools(raw: object, path: str, problems: _Problems) -> tuple[str, ...]:
    if raw is _MISSING:
        problems.add(path, "Required.")
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add(path, f"Must be a non-empty list of tools from: {', '.join(TOOLS)}.")
        return ()
    tools: list[str] = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, str) or tool not in TOOLS:
            problems.add(f"{path}.{index}", f"Unknown tool {_show(tool)}; choose from: {', '.join(TOOLS)}.")
        elif tool in tools:
            problems.add(f"{path}.{index}", f"Repeats {tool!r}; list each tool once.")
        else:
            tools.append(tool)
    return tuple(tools)


def _parse_labels(raw: object, path: str, problems: _Problems) -> dict[str, Label]:
    """Walk the label tree depth-first with an explicit stack (no recursion), checking every node."""
    if raw is _MISSING:
        problems.add(path, "Required.")
        return {}
    if not isinstance(raw, list) or not raw:
        problems.add(path, "Must be a non-empty list of labels.")
        return {}
    labels: dict[str, Label] = {}
    first_path: dict[str, str] = {}  # id -> path of the node that first used it
    # Each entry: (node, its path, ids of its ancestors). Pushed in reverse so siblings pop in order.
    stack: list[tuple[object, str, tuple[str, ...]]] = [
        (node, f"{path}.{index}", ()) for index, node in reversed(list(enumerate(raw)))]
    seen = 0
    while stack:
        node, node_path, ancestors = stack.pop()
        depth = len(ancestors) + 1
        if depth > MAX_DEPTH:
            problems.add(node_path, f"The label tree is limited to {MAX_DEPTH} levels; this label would be "
                                    f"level {depth}.")
            continue
        seen += 1
        if seen > MAX_LABELS:
            # Stop walking: the tree is refused anyway and the rest may be arbitrarily large.
            problems.add(path, f"At most {MAX_LABELS} labels are allowed in the whole tree.")
            break
        label_id, label = _parse_label_node(node, node_path, ancestors, problems)
        # Uniqueness is checked for every well-formed id, even when the rest of its node is wrong.
        unique = label_id is not None and _unique_id(label_id, node_path, ancestors, first_path, problems)
        if label is not None and unique:
            labels[label.id] = label
        children = node.get("children", []) if isinstance(node, dict) else []
        if not isinstance(children, list):
            problems.add(f"{node_path}.children", "Must be a list of labels.")
            continue
        # A node with a bad id still has its subtree checked; "" never matches a real id.
        own_path = ancestors + (label_id or "",)
        stack.extend((child, f"{node_path}.children.{index}", own_path)
                     for index, child in reversed(list(enumerate(children))))
    return labels


def _parse_label_node(node: object, path: str, ancestors: tuple[str, ...],
                      problems: _Problems) -> tuple[str | None, Label | None]:
    """The node's id if well-formed, and its Label if the whole node is."""
    if not isinstance(node, dict):
        problems.add(path, "Must be an object with id and name.")
        return None, None
    for key in node:
        if key not in _NODE_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; a label has id, name, children, description, color.")
    label_id = _required(node, "id", path, problems, lambda v, p: _check_string(v, p, problems,
                                                                                max_length=MAX_ID_LENGTH))
    name = _required(node, "name", path, problems, lambda v, p: _check_string(v, p, problems, strip=True,
                                                                              max_length=MAX_NAME_LENGTH))
    description = _optional_description(node, path, problems)
    color = node.get("color")
    if color is not None and not (isinstance(color, str) and _COLOR.fullmatch(color)):
        problems.add(f"{path}.color", 'Must be a colour written "#rrggbb".')
        color = None
    if label_id is None or name is None:
        return label_id, None
    return label_id, Label(id=label_id, name=name, parent_id=ancestors[-1] if ancestors else None,
                           depth=len(ancestors) + 1, path=ancestors + (label_id,), description=description,
                           color=color.lower() if color else None)


def _required(raw: Mapping[str, Any], key: str, path: str, problems: _Problems,
              check: Callable[[object, str], Any]) -> Any:
    if key not in raw:
        problems.add(f"{path}.{key}", "Required.")
        return None
    return check(raw[key], f"{path}.{key}")


def _optional_description(node: Mapping[str, Any], path: str, problems: _Problems) -> str | None:
    """A description is optional; a blank one is dropped rather than refused."""
    value = node.get("description")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _check_string(value, f"{path}.description", problems, strip=True, multiline=True,
                         max_length=MAX_DESCRIPTION_LENGTH)


def _unique_id(label_id: str, path: str, ancestors: tuple[str, ...], first_path: dict[str, str],
               problems: _Problems) -> bool:
    earlier = first_path.get(label_id)
    if earlier is None:
        first_path[label_id] = path
        return True
    if label_id in ancestors:
        problems.add(f"{path}.id", f"Repeats an ancestor's id {label_id!r} (at {earlier}), which would make "
                                   f"a cycle.")
    else:
        problems.add(f"{path}.id", f"Duplicates the id {label_id!r} first used at {earlier}; label ids must "
                                   f"be unique across the whole tree.")
    return False


def _parse_attributes(raw: object, path: str, problems: _Problems) -> dict[str, Attribute]:
    if not isinstance(raw, list):
        problems.add(path, "Must be a list of attributes.")
        return {}
    attributes: dict[str, Attribute] = {}
    first_path: dict[str, str] = {}
    for index, item in enumerate(raw):
        item_path = f"{path}.{index}"
        attribute = _parse_attribute(item, item_path, problems)
        if attribute is None:
            continue
        if attribute.name in first_path:
            problems.add(f"{item_path}.name", f"Duplicates the attribute name {attribute.name!r} first used at "
                                              f"{first_path[attribute.name]}.")
            continue
        first_path[attribute.name] = item_path
        attributes[attribute.name] = attribute
    return attributes


def _parse_attribute(item: object, path: str, problems: _Problems) -> Attribute | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with name and type.")
        return None
    kind = item.get("type", _MISSING)
    if kind is _MISSING:
        problems.add(f"{path}.type", "Required.")
    elif not isinstance(kind, str) or kind not in ATTRIBUTE_TYPES:
        problems.add(f"{path}.type", f"Unknown type {_show(kind)}; choose from: {', '.join(ATTRIBUTE_TYPES)}.")
    known_type = kind if isinstance(kind, str) and kind in ATTRIBUTE_TYPES else None
    _check_attribute_keys(item, known_type, path, problems)
    name = _required(item, "name", path, problems, lambda v, p: _check_attribute_name(v, p, problems))
    required = _check_bool(item, "required", path, problems)
    if known_type is None or name is None:
        return None
    extra = _ATTRIBUTE_TYPE_PARSERS[known_type](item, path, problems)
    if extra is None:
        return None
    return Attribute(name=name, type=known_type, required=required, **extra)


def _check_attribute_keys(item: Mapping[str, Any], kind: str | None, path: str, problems: _Problems) -> None:
    for key in item:
        if key in _ATTRIBUTE_COMMON_KEYS:
            continue
        if key not in _ATTRIBUTE_OPTIONAL_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; an attribute has name, type, required and, by type, "
                                          "options (choice), min and max (number) or max_length (text).")
        elif kind is not None and key not in _ATTRIBUTE_TYPE_KEYS[kind]:
            problems.add(f"{path}.{key}", f"Does not apply to {kind} attributes.")


def _check_attribute_name(value: object, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not _ATTRIBUTE_NAME.fullmatch(value) \
            or len(value) > MAX_ATTRIBUTE_NAME_LENGTH:
        problems.add(path, f"Must be 1 to {MAX_ATTRIBUTE_NAME_LENGTH} letters, digits, underscores or hyphens, "
                           f"starting with a letter or underscore.")
        return None
    return value


def _parse_boolean_extra(item: Mapping[str, Any], path: str, problems: _Problems) -> dict[str, Any] | None:
    return {}


def _parse_choice_extra(item: Mapping[str, Any], path: str, problems: _Problems) -> dict[str, Any] | None:
    options_path = f"{path}.options"
    raw = item.get("options", _MISSING)
    if raw is _MISSING:
        problems.add(options_path, "Required for a choice attribute.")
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_OPTIONS:
        problems.add(options_path, f"Must be a list of 1 to {MAX_OPTIONS} options.")
        return None
    options: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw):
        option = _check_string(value, f"{options_path}.{index}", problems, max_length=MAX_OPTION_LENGTH)
        if option is not None and option in seen:
            problems.add(f"{options_path}.{index}", f"Repeats the option {option!r}.")
        elif option is not None:
            seen.add(option)
            options.append(option)
    return {"options": tuple(options)} if len(options) == len(raw) else None


def _parse_number_extra(item: Mapping[str, Any], path: str, problems: _Problems) -> dict[str, Any] | None:
    bounds: dict[str, Any] = {}
    for key, field in (("min", "minimum"), ("max", "maximum")):
        value = item.get(key)
        if value is not None and not _is_number(value):
            problems.add(f"{path}.{key}", "Must be a finite number.")
            return None
        bounds[field] = value
    if bounds["minimum"] is not None and bounds["maximum"] is not None and bounds["minimum"] > bounds["maximum"]:
        problems.add(f"{path}.min", "Must not be greater than max.")
        return None
    return bounds


def _parse_text_extra(item: Mapping[str, Any], path: str, problems: _Problems) -> dict[str, Any] | None:
    value = item.get("max_length", DEFAULT_TEXT_MAX_LENGTH)
    if not _is_int(value) or not 1 <= value <= MAX_TEXT_MAX_LENGTH:
        problems.add(f"{path}.max_length", f"Must be a whole number from 1 to {MAX_TEXT_MAX_LENGTH}.")
        return None
    return {"max_length": value}


_ATTRIBUTE_TYPE_PARSERS: dict[str, Callable[[Mapping[str, Any], str, _Problems], dict[str, Any] | None]] = {
    "boolean": _parse_boolean_extra, "choice": _parse_choice_extra,
    "number": _parse_number_extra, "text": _parse_text_extra,
}


def _attribute_to_dict(attribute: Attribute) -> dict[str, Any]:
    data: dict[str, Any] = {"name": attribute.name, "type": attribute.type, "required": attribute.required}
    if attribute.type == "choice":
        data["options"] = list(attribute.options or ())
    elif attribute.type == "text":
        data["max_length"] = attribute.max_length
    elif attribute.type == "number":
        for key, value in (("min", attribute.minimum), ("max", attribute.maximum)):
            if value is not None:
                data[key] = value
    return data


# ---------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------

def validate_result(schema: LabelSchema, result: object, context: TaskContext, *, path: str = "result") -> dict:
    """Check one annotation result against `schema` and the task; return a normalised copy.

    Raises InvalidInput naming every bad field. Objects always come back with an `attributes` object.
    """
    problems = _Problems()
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


def _check_label_ref(schema: LabelSchema, value: object, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or value not in schema.labels:
        problems.add(path, f"Unknown label {_show(value)}; use the id of a label in the schema.")
        return None
    return value


def _check_result_labels(schema: LabelSchema, raw: object, context: TaskContext, path: str,
                         problems: _Problems) -> list[str]:
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
                   problems: _Problems) -> list[dict[str, Any]]:
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
                  problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with tool, label and a shape.")
        return None
    enabled = [tool for tool in GEOMETRY_TOOLS if tool in schema.tools]
    tool = item.get("tool", _MISSING)
    if tool is _MISSING:
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
    label = _required(item, "label", path, problems, lambda v, p: _check_label_ref(schema, v, p, problems))
    attributes = _check_attribute_values(schema, item.get("attributes", {}), f"{path}.attributes", problems)
    if tool is None:
        return None
    key = _GEOMETRY_KEY[tool]
    shape = _required(item, key, path, problems, lambda v, p: _SHAPE_CHECKERS[tool](v, context, p, problems))
    if label is None or shape is None:
        return None
    return {"tool": tool, "label": label, key: shape, "attributes": attributes}


def _check_bbox(value: object, context: TaskContext, path: str, problems: _Problems) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value):
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
        problems.add(path, f"Box {_show(value)}: {'; '.join(wrong)}.")
        return None
    return list(value)


def _check_point(value: object, context: TaskContext, path: str, problems: _Problems) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
        problems.add(path, "Must be [x, y]: two numbers, in pixels.")
        return None
    x, y = value
    if not (0 <= x <= context.width and 0 <= y <= context.height):  # type: ignore[operator]
        problems.add(path, f"Point {_show(value)} must lie inside the {context.width}×{context.height} image.")
        return None
    return list(value)


def _check_polygon(value: object, context: TaskContext, path: str,
                   problems: _Problems) -> list[list[float]] | None:
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


_SHAPE_CHECKERS: dict[str, Callable[[object, TaskContext, str, _Problems], Any]] = {
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
                 problems: _Problems) -> list[dict[str, Any]]:
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
                problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with start, end and label.")
        return None
    for key in item:
        if key not in _SPAN_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; a span has start, end, label and attributes.")
    start = _required(item, "start", path, problems, lambda v, p: _check_offset(v, p, problems))
    end = _required(item, "end", path, problems, lambda v, p: _check_offset(v, p, problems))
    if end is not None and end > text_length:
        problems.add(f"{path}.end", f"Must be at most {text_length}, the text's length in characters "
                                    f"(Unicode code points).")
        end = None
    if start is not None and end is not None and start >= end:
        problems.add(f"{path}.end", f"Must be greater than start ({start}); a span cannot be empty or inverted.")
        end = None
    label = _required(item, "label", path, problems, lambda v, p: _check_label_ref(schema, v, p, problems))
    attributes = _check_attribute_values(schema, item.get("attributes", {}), f"{path}.attributes", problems)
    if start is None or end is None or label is None:
        return None
    return {"start": start, "end": end, "label": label, "attributes": attributes}


def _check_offset(value: object, path: str, problems: _Problems) -> int | None:
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        problems.add(path, "Must be a whole number of characters, 0 or more.")
        return None
    return value  # type: ignore[return-value]


def _check_attribute_values(schema: LabelSchema, raw: object, path: str, problems: _Problems) -> dict[str, Any]:
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


def _check_attribute_value(attribute: Attribute, value: object, path: str, problems: _Problems) -> bool:
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


def _check_number_value(attribute: Attribute, value: object, path: str, problems: _Problems) -> bool:
    if not _is_number(value):
        problems.add(path, "Must be a finite number.")
        return False
    if attribute.minimum is not None and value < attribute.minimum:  # type: ignore[operator]
        problems.add(path, f"Must be at least {attribute.minimum}.")
        return False
    if attribute.maximum is not None and value > attribute.maximum:  # type: ignore[operator]
        problems.add(path, f"Must be at most {attribute.maximum}.")
        return False
    return True


def _check_text_value(attribute: Attribute, value: object, path: str, problems: _Problems) -> bool:
    # Empty text is a legitimate answer here ("no remark"), so this does not reuse _check_string.
    if not isinstance(value, str):
        problems.add(path, "Must be a string.")
        return False
    if len(value) > (attribute.max_length or DEFAULT_TEXT_MAX_LENGTH):
        problems.add(path, f"Must be at most {attribute.max_length} characters long.")
        return False
    if _FORBIDDEN_IN_TEXT.search(value):
        problems.add(path, "Must not contain control characters (other than newline and tab) or bidirectional "
                           "override characters.")
        return False
    return True
