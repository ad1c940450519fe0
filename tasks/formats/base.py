"""What every export format writes from: one `ExportTask` at a time, in task id order, never the whole project.

A writer is made with the open output file and the `ExportContext`, gets `write(task)` once per task and
`close(card)` once at the end; it must write the same bytes for the same input (no clocks, no random, no dict
order it does not control). Archive formats (`archive = True`) put the dataset card inside themselves; the
others get it as a sidecar. Writers never touch the database: what they need is in the task and the context.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import orjson

INCLUDES = ("consensus", "all")


@dataclass(frozen=True)
class Label:
    """A taxonomy node: its id, display name, parent id (None at the top) and its path of names from the top;
    names: (language tag, name) pairs and aliases: other names, as in tasks/schema.py's Label. A format with
    room for one name writes `name`; the dataset card's label schema keeps every name."""

    id: str
    name: str
    parent: str | None
    path: tuple[str, ...]
    names: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Media:
    """An image task's picture: its sha256, size in pixels, type, and a file name to give it in an archive."""

    sha256: str
    width: int
    height: int
    content_type: str
    filename: str  # unique within the export, e.g. "000123_bird.jpg"


@dataclass(slots=True)  # not frozen: a million of these are made per large export, and frozen ones are slow
class ExportAnnotation:
    id: int
    annotator: str  # a stable pseudonym (the same person, the same name in every export of the project)
    result_json: str | bytes  # the answer's result as stored, JSON text: formats that copy it never parse it
    lead_time_ms: int | None
    schema_version: int
    created_at: str  # ISO 8601, UTC
    counted: bool
    verdict: str | None  # accepted, rejected, None before review
    gold_score: float | None
    credits: int  # minor units this answer earned, net (0 for unpaid projects)

    @property
    def result(self) -> dict[str, Any]:
        """The answer's result, parsed (each time it is asked for: formats that need it ask once)."""
        return orjson.loads(self.result_json)

    @classmethod
    def of(cls, *, result: dict[str, Any], **fields: Any) -> ExportAnnotation:
        """One made from a parsed result (tests, and writers' own helpers)."""
        return cls(result_json=orjson.dumps(result), **fields)


@dataclass(slots=True)
class ExportTask:
    id: int
    external_id: str | None
    data: dict[str, Any]
    status: str
    is_gold: bool
    media: Media | None
    # {"result", "confidence", "method", "agreement", "annotations"}, or None when nobody answered.
    consensus: dict[str, Any] | None
    annotations: tuple[ExportAnnotation, ...] = ()  # every answer, only with include=all

    @property
    def answers(self) -> int:
        return (self.consensus or {}).get("annotations") or len(self.annotations)


@dataclass(frozen=True)
class ExportContext:
    project_id: int
    project_name: str
    media_type: str  # image or text
    tools: tuple[str, ...]
    labels: tuple[Label, ...]  # in the schema's order, parents before their children
    schema_version: int
    include: str  # consensus or all
    open_media: Callable[[str], BinaryIO]  # sha256 -> the image's bytes (from storage)
    extra: dict[str, Any] = field(default_factory=dict)

    def label(self, label_id: str) -> Label | None:
        return self._index.get(label_id)

    @property
    def _index(self) -> dict[str, Label]:
        cached = self.extra.get("_label_index")
        if cached is None:
            cached = self.extra["_label_index"] = {label.id: label for label in self.labels}
        return cached


class Writer(Protocol):
    extension: str  # ".jsonl", ".zip", ...
    content_type: str
    archive: bool  # carries the dataset card inside

    def write(self, task: ExportTask) -> int: ...  # how many rows (lines, annotations, objects) it wrote

    def close(self, card: dict[str, Any]) -> None: ...


def card_bytes(card: dict[str, Any]) -> bytes:
    """The dataset card as JSON with sorted keys: the same card, the same bytes."""
    return orjson.dumps(card, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
