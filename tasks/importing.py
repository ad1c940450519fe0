"""Importing task rows: parse JSON / NDJSON / CSV, validate every row, skip duplicates, insert all or nothing.

Row numbers in errors are 1-based: the first element of a JSON array, the first
NDJSON line, the first CSV line after the header are row 1.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from annotator.errors import InvalidInput, MalformedBody, PayloadTooLarge
from tasks import bulk
from tasks.projects import current_schema
from tasks.models import Media, Project, Task
from tasks.results import TaskContext, validate_result
from tasks.schema import LabelSchema

MAX_ROWS = 10_000
MAX_EXTERNAL_ID = 200
MAX_ERRORS = 200  # a file with a systematic problem should not produce a 10,000-entry error body
ROW_KEYS = {"data", "external_id", "gold", "gold_scope"}
MEDIA_URL = re.compile(r"/media/([0-9a-f]{64})")  # used with fullmatch
CSV_MIMETYPES = {"text/csv", "application/csv"}
NDJSON_MIMETYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"}


@dataclass(frozen=True)
class PreparedTask:
    data: dict[str, Any]
    data_hash: str
    external_id: str | None
    gold: dict[str, Any] | None
    media_sha256: str | None


# Imports of at least this many tasks refresh the planner's statistics once they are committed.
ANALYZE_AFTER = 1000


@dataclass(frozen=True)
class ImportSummary:
    created: int
    duplicates: int
    task_ids: list[int]


def parse_rows(body: bytes, mimetype: str) -> list[Any]:
    """The rows of a JSON array, NDJSON or CSV body."""
    if mimetype in CSV_MIMETYPES:
        return _csv_rows(utf8_text(body))
    if mimetype in NDJSON_MIMETYPES:
        return _ndjson_rows(utf8_text(body))
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedBody(f"The body is not valid JSON: {error}.") from None
    if not isinstance(rows, list):
        raise MalformedBody("Send a JSON array of tasks (or NDJSON, or CSV with a header row).")
    return rows


def utf8_text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")  # a BOM, as spreadsheet programs write, is dropped
    except UnicodeDecodeError as error:
        raise InvalidInput({"_body": [
            f"The file is not UTF-8 (byte {error.start} is invalid). Save it as UTF-8 (for Chinese text "
            "from GBK/GB18030, re-save or convert it) and import again."]}) from None


def _ndjson_rows(text: str) -> list[Any]:
    rows = []
    # Only "\n" ends a line: JSON strings may hold U+2028 and friends, which str.splitlines() would split on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            raise InvalidInput({f"rows.{len(rows) + 1}": [f"Line {number} is not valid JSON: {error}."]}) from None
    return rows


def _csv_rows(text: str) -> list[Any]:
    """One task per line: a column per data field; `external_id` and `gold` (JSON) columns are special."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InvalidInput({"_body": ["The CSV needs a header row naming its columns."]})
        names = [h.strip() for h in header]
        if len(set(names)) != len(names) or "" in names:
            raise InvalidInput({"_body": ["Every CSV column needs a distinct, non-empty name."]})
        rows, errors = [], {}
        for number, cells in enumerate(reader, start=1):
            if len(cells) != len(names):
                errors[f"rows.{number}"] = [f"Has {len(cells)} cells; the header has {len(names)} columns."]
                continue
            rows.append(_csv_row(dict(zip(names, cells)), number, errors))
    except csv.Error as error:
        raise InvalidInput({"_body": [f"The CSV cannot be read: {error}."]}) from None
    if errors:
        raise InvalidInput(errors)
    return rows


def _csv_row(cells: dict[str, str], number: int, errors: dict) -> dict[str, Any]:
    # Cells are stored exactly as text: a formula-looking "=1+1" stays a string (exports neutralise it).
    row: dict[str, Any] = {"data": {k: v for k, v in cells.items() if k not in ("external_id", "gold")}}
    if cells.get("external_id"):
        row["external_id"] = cells["external_id"]
    if cells.get("gold"):
        try:
            row["gold"] = orjson.loads(cells["gold"])
        except orjson.JSONDecodeError:
            errors[f"rows.{number}.gold"] = ["The gold column must hold a JSON result."]
    return row


def data_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


MAX_DATA_DEPTH = 32


def data_problem(value: Any) -> str | None:
    """Why task data cannot be stored (a NUL character, nesting deeper than MAX_DATA_DEPTH), or None.

    Iterative, so hostile nesting cannot exhaust the stack.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Contains a NUL character."
        elif isinstance(item, (dict, list)):
            if depth > MAX_DATA_DEPTH:
                return f"Nested deeper than {MAX_DATA_DEPTH} levels."
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


class RowProblems:
    """Collects every row's problems, so one 422 lists them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            more = " (only the first problems are listed)" if len(self.errors) >= MAX_ERRORS else ""
            raise InvalidInput(self.errors, detail=f"{len(self.errors)} rows have problems{more}; nothing was imported.")


def prepare(session: Session, project: Project, rows: list[Any], uploaded: frozenset[str] = frozenset()
            ) -> list[PreparedTask]:
    """Validate every row against the project; raise InvalidInput listing each bad row.

    An image row may only name media this project already uses or that `uploaded` (this import's
    own files) holds: knowing another project's image address must not give access to it.
    """
    if len(rows) > MAX_ROWS:
        raise PayloadTooLarge(f"{len(rows)} tasks in one request; send at most {MAX_ROWS} at a time.")
    if not rows:
        raise InvalidInput({"_body": ["There are no tasks in the request."]})
    schema = current_schema(project)
    check = RowProblems()
    media = _media_sizes(session, project.id, rows, uploaded) if project.media_type == "image" else {}
    prepared = [_prepare_row(project, schema, media, row, number, check)
                for number, row in enumerate(rows, start=1)]
    check.raise_if_any()
    return [p for p in prepared if p is not None]


def prepare_each(session: Session, project: Project, rows: list[Any], uploaded: frozenset[str] = frozenset()
                 ) -> tuple[list[PreparedTask], dict[int, list[str]]]:
    """Like `prepare`, but keeps the good rows and returns each bad row's problems by its row number."""
    schema = current_schema(project)
    media = _media_sizes(session, project.id, rows, uploaded) if project.media_type == "image" else {}
    prepared, errors = [], {}
    for number, row in enumerate(rows, start=1):
        check = RowProblems()
        task = _prepare_row(project, schema, media, row, number, check)
        if check.errors:
            errors[number] = [f"{path.removeprefix(f'rows.{number}.')}: {' '.join(m)}"
                              for path, m in check.errors.items()]
        elif task is not None:
            prepared.append(task)
    return prepared, errors


def _media_sizes(session: Session, project_id: int, rows: list[Any], uploaded: frozenset[str]
                 ) -> dict[str, tuple[int, int]]:
    wanted = set()
    for row in rows:
        image = row.get("data", {}).get("image") if isinstance(row, dict) and isinstance(row.get("data"), dict) else None
        match = MEDIA_URL.fullmatch(image) if isinstance(image, str) else None
        if match:
            wanted.add(match.group(1))
    sizes: dict[str, tuple[int, int]] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start:start + 900]
        used_here = select(Task.media_sha256).where(Task.project_id == project_id, Task.media_sha256.in_(chunk))
        sizes.update({sha: (w, h) for sha, w, h in session.execute(
            select(Media.sha256, Media.width, Media.height).where(
                Media.sha256.in_(chunk), or_(Media.sha256.in_(used_here), Media.sha256.in_(list(uploaded)))))})
    return sizes


def _prepare_row(project: Project, schema: LabelSchema, media: dict, row: Any, n: int, check: RowProblems) -> PreparedTask | None:
    where = f"rows.{n}"
    if not isinstance(row, dict):
        check.fail(where, "Each task must be an object with a `data` object.")
        return None
    for key in row.keys() - ROW_KEYS:
        check.fail(f"{where}.{key}", "Unknown field.")
    data, external_id = row.get("data"), row.get("external_id")
    if not isinstance(data, dict) or not data:
        check.fail(f"{where}.data", "Must be a non-empty object.")
        return None
    problem = data_problem(data)
    if problem:
        check.fail(f"{where}.data", problem)
        return None
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if external_id is not None and (not isinstance(external_id, str) or not 0 < len(external_id) <= MAX_EXTERNAL_ID
                                    or "\x00" in external_id):
        check.fail(f"{where}.external_id", f"Must be a string of 1 to {MAX_EXTERNAL_ID} characters.")
        return None
    context, sha = _context(project, media, data, where, check)
    if context is None:
        return None
    gold, scope = row.get("gold"), row.get("gold_scope")
    if gold is not None:
        try:
            gold = validate_result(schema, gold, context, path=f"{where}.gold")
        except InvalidInput as error:
            for path, messages in error.fields.items():
                for message in messages:
                    check.fail(path, message)
            return None
    if scope is not None:
        if gold is None or not isinstance(scope, str) or scope not in schema.labels:
            check.fail(f"{where}.gold_scope", "A label of the schema whose subtree this gold qualifies for "
                                             "(with `gold`)." if gold is not None else "Needs `gold`.")
            return None
        if not set(gold.get("labels") or []) <= _under(schema, scope):
            check.fail(f"{where}.gold_scope", f"The gold's labels must lie in the subtree of {scope}.")
            return None
        gold = {**gold, "scope": scope}  # kept with the gold answer; scoring reads only the answer's parts
    return PreparedTask(data, data_hash(data), external_id, gold, sha)


def _under(schema: LabelSchema, node: str) -> set[str]:
    return {label for label in schema.labels if node in schema.labels[label].path}


def _context(project: Project, media: dict, data: dict, where: str, check: RowProblems) -> tuple[TaskContext | None, str | None]:
    if project.media_type == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            check.fail(f"{where}.data.text", "Text tasks need a non-empty `text`.")
            return None, None
        return TaskContext("text", text_length=len(text)), None
    image = data.get("image")
    match = MEDIA_URL.fullmatch(image) if isinstance(image, str) else None
    if match is None:
        check.fail(f"{where}.data.image", "Image tasks need `image`: a /media/<sha256> URL of an uploaded image "
                                          "(upload images with POST /projects/{id}/imports).")
        return None, None
    if match.group(1) not in media:
        check.fail(f"{where}.data.image", "No image of this project has this address.")
        return None, None
    width, height = media[match.group(1)]
    return TaskContext("image", width=width, height=height), match.group(1)


def insert_tasks(session: Session, project: Project, prepared: Iterable[PreparedTask], now: dt.datetime,
                 import_id: int | None = None) -> ImportSummary:
    """Insert the tasks that are not duplicates, within the batch or of tasks already stored.

    The database skips stored duplicates itself (ON CONFLICT DO NOTHING on the unique indexes): one
    statement, no look-ups first, and a concurrent import of the same rows simply skips them too.
    """
    prepared = list(prepared)
    fresh = _first_of_each(prepared)
    if not fresh:
        return ImportSummary(0, len(prepared), [])
    rows = [{"external_id": p.external_id, "data": p.data, "data_hash": p.data_hash, "media_sha256": p.media_sha256,
             "is_gold": p.gold is not None, "gold": p.gold} for p in fresh]
    returned = bulk.insert_rows(session, {"project_id": project.id, "import_id": import_id, "created_at": now}, rows)
    order = {_identity(p.external_id, p.data_hash): n for n, p in enumerate(fresh)}
    returned.sort(key=lambda row: order[_identity(row.external_id, row.data_hash)])
    return ImportSummary(len(returned), len(prepared) - len(returned), [row.id for row in returned])


def _identity(external_id: str | None, digest: str) -> tuple[str, str]:
    """What makes a task a duplicate: its external id when it has one, else its data."""
    return ("external", external_id) if external_id is not None else ("data", digest)


def _first_of_each(prepared: list[PreparedTask]) -> list[PreparedTask]:
    seen: set[tuple[str, str]] = set()
    fresh = []
    for p in prepared:
        identity = _identity(p.external_id, p.data_hash)
        if identity not in seen:
            seen.add(identity)
            fresh.append(p)
    return fresh
