"""Pieces shared by the checks of label schemas (tasks/schema.py) and results (tasks/results.py).

The problem collector (every problem is raised at once as `InvalidInput`, keyed by a dotted field path),
small value checks, and the one home of the characters never stored (also used by the API's SafeString).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from annotator.errors import InvalidInput

MISSING: Any = object()

# Characters refused in what people type. Bidi embeddings/overrides/isolates can make a label read as another
# one ("Trojan Source"); lone surrogates cannot be stored as UTF-8.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_C1_AND_SURROGATES = "\x80-\x9f\ud800-\udfff"
# Label schemas and results: control characters (C0, DEL, C1), bidi controls and lone surrogates.
FORBIDDEN = re.compile(f"[\x00-\x1f\x7f{_C1_AND_SURROGATES}{_BIDI}]")
# Free text typed by annotators (descriptions, text attributes) may keep newlines and tabs.
FORBIDDEN_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f{_C1_AND_SURROGATES}{_BIDI}]")
# The API's SafeString (names, titles, instructions): C0 controls, DEL and bidi controls. Unlike the two above
# it lets C1 controls and lone surrogates through, and its multi-line form also keeps carriage returns.
FORBIDDEN_IN_FIELD = re.compile(f"[\x00-\x1f\x7f{_BIDI}]")
FORBIDDEN_IN_FIELD_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{_BIDI}]")


class Problems:
    """Collects messages by field path so every problem is reported in one InvalidInput."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise InvalidInput(self.fields)


def show(value: object, limit: int = 60) -> str:
    """A short repr for messages, so a megabyte of garbage is not echoed back."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def is_number(value: object) -> bool:
    """A finite int or float; bool is excluded although Python treats it as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_string(value: object, path: str, problems: Problems, *, max_length: int,
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
    if (FORBIDDEN_IN_TEXT if multiline else FORBIDDEN).search(text):
        problems.add(path, "Must not contain control characters or bidirectional override characters.")
        return None
    return text


def check_bool(raw: Mapping[str, Any], key: str, path: str, problems: Problems) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        problems.add(f"{path}.{key}", "Must be true or false.")
        return False
    return value


def required_field(raw: Mapping[str, Any], key: str, path: str, problems: Problems,
                   check: Callable[[object, str], Any]) -> Any:
    if key not in raw:
        problems.add(f"{path}.{key}", "Required.")
        return None
    return check(raw[key], f"{path}.{key}")

