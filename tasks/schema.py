"""Label schemas: the taxonomy (a tree of labels), tools and attributes of a project.

Pure domain code: input is the decoded JSON of the HTTP API, output is frozen value objects. Every problem
is collected and raised at once as `InvalidInput`, keyed by a dotted path such as
`label_schema.labels.0.children.1.id`, so a form can mark every bad field. Results are checked against a
schema in tasks/results.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tasks.label_names import MAX_NAME_LENGTH, parse_aliases, parse_names
from tasks.validation import MISSING, Problems, check_bool, check_string, is_int, is_number, required_field, show

TOOLS = ("classify", "bbox", "polygon", "keypoint", "span")
GEOMETRY_TOOLS = ("bbox", "polygon", "keypoint")
ATTRIBUTE_TYPES = ("boolean", "choice", "text", "number")
MEDIA_TYPES = ("image", "text")  # what a project's tasks show: Project.media_type and TaskContext.media_type
MAX_DEPTH = 10
MAX_LABELS = 20_000
MAX_ID_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_ATTRIBUTE_NAME_LENGTH = 64
MAX_OPTIONS = 1000
MAX_OPTION_LENGTH = 200
DEFAULT_TEXT_MAX_LENGTH = 1000
MAX_TEXT_MAX_LENGTH = 10_000
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_ATTRIBUTE_NAME = re.compile(r"[^\W\d][\w-]*")
_SCHEMA_KEYS = ("tools", "multi_label", "labels", "attributes")
_NODE_KEYS = frozenset({"id", "name", "names", "aliases", "children", "description", "color"})
_ATTRIBUTE_COMMON_KEYS = frozenset({"name", "type", "required"})
_ATTRIBUTE_TYPE_KEYS = {"boolean": frozenset(), "choice": frozenset({"options"}),
                        "text": frozenset({"max_length"}), "number": frozenset({"min", "max"})}
_ATTRIBUTE_OPTIONAL_KEYS = frozenset().union(*_ATTRIBUTE_TYPE_KEYS.values())


@dataclass(frozen=True)
class Label:
    """One node of the label tree.

    id: unique across the whole tree; name: display name (stripped); parent_id: None at the top level;
    depth: 1 for a top-level label; path: ids from the root down to and including this label;
    description, color: optional display hints (color is "#rrggbb", lower case);
    names: (language tag, name) pairs in the order given, tags in canonical case ("zh-Hant", "pt-BR"): what
    readers of that language see instead of `name`; aliases: other names search finds it by (synonyms,
    scientific names, codes). Tuples rather than a dict so a Label stays hashable and picklable.
    """

    id: str
    name: str
    parent_id: str | None
    depth: int
    path: tuple[str, ...]
    description: str | None = None
    color: str | None = None
    names: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()


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
            if label.names:
                node["names"] = dict(label.names)
            if label.aliases:
                node["aliases"] = list(label.aliases)
            nodes[label.id] = node
            siblings = roots if label.parent_id is None else nodes[label.parent_id].setdefault("children", [])
            siblings.append(node)
        return {"tools": list(self.tools), "multi_label": self.multi_label, "labels": roots,
                "attributes": [_attribute_to_dict(a) for a in self.attributes.values()]}


# ---------------------------------------------------------------------------------------------------------
# Label schema
# ---------------------------------------------------------------------------------------------------------

def parse_label_schema(raw: object, *, path: str = "label_schema") -> LabelSchema:
    """Check a label schema from the API and return it parsed; raise InvalidInput naming every problem.

    Whether the tools suit the project's media type is the caller's check, not this one.
    """
    problems = Problems()
    if not isinstance(raw, dict):
        problems.add(path, "Must be an object with tools, labels and optionally multi_label and attributes.")
        problems.raise_if_any()
    for key in raw:
        if key not in _SCHEMA_KEYS:
            problems.add(f"{path}.{key}", f"Unknown field; a label schema has {', '.join(_SCHEMA_KEYS)}.")
    tools = _parse_tools(raw.get("tools", MISSING), f"{path}.tools", problems)
    multi_label = check_bool(raw, "multi_label", path, problems)
    labels = _parse_labels(raw.get("labels", MISSING), f"{path}.labels", problems)
    attributes = _parse_attributes(raw.get("attributes", []), f"{path}.attributes", problems)
    problems.raise_if_any()
    return LabelSchema(tools=tools, multi_label=multi_label, labels=labels, attributes=attributes)


def _parse_tools(raw: object, path: str, problems: Problems) -> tuple[str, ...]:
    if raw is MISSING:
        problems.add(path, "Required.")
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add(path, f"Must be a non-empty list of tools from: {', '.join(TOOLS)}.")
        return ()
    tools: list[str] = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, str) or tool not in TOOLS:
            problems.add(f"{path}.{index}", f"Unknown tool {show(tool)}; choose from: {', '.join(TOOLS)}.")
        elif tool in tools:
            problems.add(f"{path}.{index}", f"Repeats {tool!r}; list each tool once.")
        else:
            tools.append(tool)
    return tuple(tools)


def _parse_labels(raw: object, path: str, problems: Problems) -> dict[str, Label]:
    """Walk the label tree depth-first with an explicit stack (no recursion), checking every node."""
    if raw is MISSING:
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
                      problems: Problems) -> tuple[str | None, Label | None]:
    """The node's id if well-formed, and its Label if the whole node is."""
    if not isinstance(node, dict):
        problems.add(path, "Must be an object with id and name.")
        return None, None
    for key in node:
        if key not in _NODE_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; a label has id, name, names, aliases, children, "
                                          "description, color.")
    label_id = required_field(node, "id", path, problems,
                              lambda v, p: check_string(v, p, problems, max_length=MAX_ID_LENGTH))
    name = required_field(node, "name", path, problems,
                          lambda v, p: check_string(v, p, problems, strip=True, max_length=MAX_NAME_LENGTH))
    description = _optional_description(node, path, problems)
    color = node.get("color")
    if color is not None and not (isinstance(color, str) and _COLOR.fullmatch(color)):
        problems.add(f"{path}.color", 'Must be a colour written "#rrggbb".')
        color = None
    names = parse_names(node.get("names"), f"{path}.names", problems)
    aliases = parse_aliases(node.get("aliases"), f"{path}.aliases", problems)
    if label_id is None or name is None or names is None or aliases is None:
        return label_id, None
    return label_id, Label(id=label_id, name=name, parent_id=ancestors[-1] if ancestors else None,
                           depth=len(ancestors) + 1, path=ancestors + (label_id,), description=description,
                           color=color.lower() if color else None, names=names, aliases=aliases)


def _optional_description(node: Mapping[str, Any], path: str, problems: Problems) -> str | None:
    """A description is optional; a blank one is dropped rather than refused."""
    value = node.get("description")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_string(value, f"{path}.description", problems, strip=True, multiline=True,
                        max_length=MAX_DESCRIPTION_LENGTH)


def _unique_id(label_id: str, path: str, ancestors: tuple[str, ...], first_path: dict[str, str],
               problems: Problems) -> bool:
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


def _parse_attributes(raw: object, path: str, problems: Problems) -> dict[str, Attribute]:
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


def _parse_attribute(item: object, path: str, problems: Problems) -> Attribute | None:
    if not isinstance(item, dict):
        problems.add(path, "Must be an object with name and type.")
        return None
    kind = item.get("type", MISSING)
    if kind is MISSING:
        problems.add(f"{path}.type", "Required.")
    elif not isinstance(kind, str) or kind not in ATTRIBUTE_TYPES:
        problems.add(f"{path}.type", f"Unknown type {show(kind)}; choose from: {', '.join(ATTRIBUTE_TYPES)}.")
    known_type = kind if isinstance(kind, str) and kind in ATTRIBUTE_TYPES else None
    _check_attribute_keys(item, known_type, path, problems)
    name = required_field(item, "name", path, problems, lambda v, p: _check_attribute_name(v, p, problems))
    required = check_bool(item, "required", path, problems)
    if known_type is None or name is None:
        return None
    extra = _ATTRIBUTE_TYPE_PARSERS[known_type](item, path, problems)
    if extra is None:
        return None
    return Attribute(name=name, type=known_type, required=required, **extra)


def _check_attribute_keys(item: Mapping[str, Any], kind: str | None, path: str, problems: Problems) -> None:
    for key in item:
        if key in _ATTRIBUTE_COMMON_KEYS:
            continue
        if key not in _ATTRIBUTE_OPTIONAL_KEYS:
            problems.add(f"{path}.{key}", "Unknown field; an attribute has name, type, required and, by type, "
                                          "options (choice), min and max (number) or max_length (text).")
        elif kind is not None and key not in _ATTRIBUTE_TYPE_KEYS[kind]:
            problems.add(f"{path}.{key}", f"Does not apply to {kind} attributes.")


def _check_attribute_name(value: object, path: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not _ATTRIBUTE_NAME.fullmatch(value) \
            or len(value) > MAX_ATTRIBUTE_NAME_LENGTH:
        problems.add(path, f"Must be 1 to {MAX_ATTRIBUTE_NAME_LENGTH} letters, digits, underscores or hyphens, "
                           f"starting with a letter or underscore.")
        return None
    return value


def _parse_boolean_extra(item: Mapping[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    return {}


def _parse_choice_extra(item: Mapping[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    options_path = f"{path}.options"
    raw = item.get("options", MISSING)
    if raw is MISSING:
        problems.add(options_path, "Required for a choice attribute.")
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_OPTIONS:
        problems.add(options_path, f"Must be a list of 1 to {MAX_OPTIONS} options.")
        return None
    options: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw):
        option = check_string(value, f"{options_path}.{index}", problems, max_length=MAX_OPTION_LENGTH)
        if option is not None and option in seen:
            problems.add(f"{options_path}.{index}", f"Repeats the option {option!r}.")
        elif option is not None:
            seen.add(option)
            options.append(option)
    return {"options": tuple(options)} if len(options) == len(raw) else None


def _parse_number_extra(item: Mapping[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    bounds: dict[str, Any] = {}
    for key, field in (("min", "minimum"), ("max", "maximum")):
        value = item.get(key)
        if value is not None and not is_number(value):
            problems.add(f"{path}.{key}", "Must be a finite number.")
            return None
        bounds[field] = value
    if bounds["minimum"] is not None and bounds["maximum"] is not None and bounds["minimum"] > bounds["maximum"]:
        problems.add(f"{path}.min", "Must not be greater than max.")
        return None
    return bounds


def _parse_text_extra(item: Mapping[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    value = item.get("max_length", DEFAULT_TEXT_MAX_LENGTH)
    if not is_int(value) or not 1 <= value <= MAX_TEXT_MAX_LENGTH:
        problems.add(f"{path}.max_length", f"Must be a whole number from 1 to {MAX_TEXT_MAX_LENGTH}.")
        return None
    return {"max_length": value}


_ATTRIBUTE_TYPE_PARSERS: dict[str, Callable[[Mapping[str, Any], str, Problems], dict[str, Any] | None]] = {
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
