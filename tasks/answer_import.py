"""Answers from elsewhere: a crowd's labels imported with their annotators, analysed like our own, never paid.

Rows are `{external_id, annotator, result, created_at?, lead_time_ms?, data?}`: from a CSV
(`external_id,annotator,label`, or a `result` column of our result JSON), NDJSON, a JSON array, or a Label Studio
export whose tasks carry several annotations by different people. Tasks are matched by external id; missing ones
are created with `create_tasks` (from the row's `data` when given, else as a record of the item that holds only
its id). Annotators are external contributors named by the file's pseudonym, one per project and name (users of
kind "external": no e-mail, no password, never active). Everything is checked before anything is written
(all-or-nothing, each problem named by row and field); importing the same answers again adds nothing.

Imported answers do not count towards a task's overlap (the task's `submitted`), have no lease
(`assignment_id` is None) and are never credited or settled by the ledger.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates, write_intent
from annotator.errors import InvalidInput
from annotator.users.models import User
from tasks import bulk, importing
from tasks.formats import label_studio
from tasks.models import Media, Project, Task
from tasks.projects import current_schema
from tasks.results import TaskContext, validate_result
from tasks.schema import LabelSchema

MAX_ANNOTATOR = 100
MAX_ROWS = 500_000
ROW_KEYS = {"external_id", "annotator", "result", "label", "created_at", "lead_time_ms", "data"}
CHUNK = 900  # ids per IN (...) list: under SQLite's variable limit


@dataclass(frozen=True)
class Row:
    """One answer as read from the file; `result` is ours, or ("label_studio", items) converted once the task's
    image size is known."""

    number: int
    external_id: str
    annotator: str
    result: Any
    created_at: dt.datetime | None = None
    lead_time_ms: int | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Summary:
    created: int          # answers stored
    duplicates: int       # answers already stored (the same annotator's answer to the same task)
    tasks_created: int
    annotators: int       # distinct annotators in the file
    annotators_created: int


# ---------------------------------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------------------------------

def parse(body: bytes, mimetype: str, schema: LabelSchema) -> list[Row]:
    """The answers of a CSV, NDJSON, JSON array or Label Studio export; InvalidInput naming every bad row."""
    problems = importing.RowProblems()
    if mimetype in importing.CSV_MIMETYPES:
        raw = _csv_rows(importing.utf8_text(body), problems)
    else:
        rows = importing.parse_rows(body, mimetype)
        if rows and all(isinstance(row, dict) and "annotations" in row and "data" in row for row in rows[:50]):
            raw = _label_studio_rows(rows, problems)
        else:
            raw = [(n, row) for n, row in enumerate(rows, start=1)]
    if len(raw) > MAX_ROWS:
        raise InvalidInput({"_body": [f"At most {MAX_ROWS:,} answers a file; this one has {len(raw):,}."]})
    terms = label_studio.label_terms(schema)
    parsed = [row for row in (_row(n, item, terms, problems) for n, item in raw) if row is not None]
    problems.raise_if_any()
    if not parsed:
        raise InvalidInput({"_body": ["The file holds no answers."]})
    return parsed


def _csv_rows(text: str, problems: importing.RowProblems) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader, None) or []]
        missing = [c for c in ("external_id", "annotator") if c not in header]
        if missing or not ({"label", "result"} & set(header)):
            raise InvalidInput({"_body": ["The CSV needs a header row with external_id, annotator and label (or "
                                          "result, our result as JSON); created_at, lead_time_ms and text or image "
                                          "(the item, for tasks it creates) are optional."]})
        unknown = set(header) - ROW_KEYS - {"text", "image"}
        if unknown:
            raise InvalidInput({"_body": [f"Unknown CSV columns: {', '.join(sorted(unknown))}."]})
        rows = []
        for number, cells in enumerate(reader, start=1):
            if len(cells) != len(header):
                problems.fail(f"rows.{number}", f"Has {len(cells)} cells; the header has {len(header)} columns.")
                continue
            values = dict(zip(header, cells))
            row: dict[str, Any] = {k: values[k] for k in ("external_id", "annotator") if k in values}
            if values.get("label", "").strip():
                row["label"] = values["label"]
            if values.get("result", "").strip():
                try:
                    row["result"] = orjson.loads(values["result"])
                except orjson.JSONDecodeError:
                    problems.fail(f"rows.{number}.result", "The result column must hold our result as JSON.")
                    continue
            for key in ("created_at", "lead_time_ms"):
                if values.get(key, "").strip():
                    row[key] = values[key].strip()
            item = {k: values[k] for k in ("text", "image") if values.get(k, "").strip()}
            if item:
                row["data"] = item
            rows.append((number, row))
    except csv.Error as error:
        raise InvalidInput({"_body": [f"The CSV cannot be read: {error}."]}) from None
    return rows


def _label_studio_rows(tasks: list[dict[str, Any]], problems: importing.RowProblems) -> list[tuple[int, dict[str, Any]]]:
    """One row per annotation of every task (cancelled ones left out); the annotator is who completed it."""
    rows = []
    for n, task in enumerate(tasks, start=1):
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        external_id = meta.get("external_id") if isinstance(meta.get("external_id"), str) else (
            f"label-studio-{task['id']}" if task.get("id") is not None else None)
        annotations = task.get("annotations")
        if not isinstance(annotations, list):
            problems.fail(f"tasks.{n}.annotations", "Must be a list of annotations.")
            continue
        for annotation in annotations:
            if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
                continue
            who = annotation.get("completed_by")
            if isinstance(who, dict):  # its id, not its e-mail: a pseudonym is all we keep of a person
                who = who.get("id") if who.get("id") is not None else who.get("email")
            rows.append((len(rows) + 1, {
                "external_id": external_id, "annotator": f"label-studio-{who}" if isinstance(who, int) else who,
                "result": ("label_studio", annotation.get("result"), n),
                "created_at": annotation.get("created_at"), "data": task.get("data")}))
    return rows


def _row(n: int, item: Any, terms: dict[str, str | None], problems: importing.RowProblems) -> Row | None:
    where = f"rows.{n}"
    if not isinstance(item, dict):
        problems.fail(where, "Each answer must be an object with external_id, annotator and result.")
        return None
    for key in item.keys() - ROW_KEYS:
        problems.fail(f"{where}.{key}", "Unknown field.")
    external_id = item.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not 0 < len(external_id.strip()) <= importing.MAX_EXTERNAL_ID \
            or "\x00" in external_id:
        problems.fail(f"{where}.external_id", f"Must name the task: a string of 1 to {importing.MAX_EXTERNAL_ID} "
                                              "characters.")
        return None
    annotator = _annotator(item.get("annotator"))
    if annotator is None:
        problems.fail(f"{where}.annotator", f"Must name who answered: 1 to {MAX_ANNOTATOR} characters, no control "
                                            "characters.")
        return None
    result = item.get("result")
    if "label" in item:
        if result is not None:
            problems.fail(f"{where}.label", "Give a label or a result, not both.")
            return None
        label = terms.get(item["label"].strip()) if isinstance(item["label"], str) else None
        if label is None:
            problems.fail(f"{where}.label", f"{item['label']!r} is not a label of the taxonomy (by id, name, a name "
                                            "in another language or an alias).")
            return None
        result = {"labels": [label]}
    if result is None:
        problems.fail(f"{where}.result", "Missing: give the answer as a result (or a CSV label).")
        return None
    created_at = _moment(item.get("created_at"))
    if item.get("created_at") not in (None, "") and created_at is None:
        problems.fail(f"{where}.created_at", "Must be an ISO 8601 time, e.g. 2026-05-01T08:30:00Z.")
        return None
    lead = item.get("lead_time_ms")
    if isinstance(lead, str) and lead.isdigit():
        lead = int(lead)
    if lead is not None and (not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= 86_400_000):
        problems.fail(f"{where}.lead_time_ms", "Must be a whole number of milliseconds, 0 to 86,400,000.")
        return None
    data = item.get("data")
    if data is not None and (not isinstance(data, dict) or not data):
        problems.fail(f"{where}.data", "Must be a non-empty object (the item, for a task this import creates).")
        return None
    return Row(n, external_id.strip(), annotator, result, created_at, lead, data)


def _annotator(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not 0 < len(name) <= MAX_ANNOTATOR or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return None
    return name


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------------------------------------------
# Writing the answers
# ---------------------------------------------------------------------------------------------------------------

def import_answers(session: Session, project: Project, rows: list[Row], *, create_tasks: bool, now: dt.datetime,
                   progress: Callable[[float], None] | None = None) -> Summary:
    """Check every row against the project (tasks, results, duplicates in the file), then store what is new.
    Flushes, never commits: the caller commits, or nothing is written."""
    schema = current_schema(project)
    problems = importing.RowProblems()
    _refuse_repeats(rows, problems)
    tasks = _tasks_by_external_id(session, project.id, {row.external_id for row in rows})
    missing = [row for row in rows if row.external_id not in tasks]
    if missing and not create_tasks:
        for row in missing:
            problems.fail(f"rows.{row.number}.external_id", f"No task of this project has the external id "
                                                            f"{row.external_id!r} (import with create_tasks=true "
                                                            "to create it).")
    problems.raise_if_any()
    created_tasks = _create_tasks(session, project, missing, now, problems) if missing else {}
    problems.raise_if_any()
    tasks.update(created_tasks)
    sizes = _image_sizes(session, [task for task in tasks.values() if task[2]])
    answers = []
    for count, row in enumerate(rows, start=1):
        task_id, data, sha = tasks[row.external_id]
        context = _context(project, data, sha, sizes)
        result = _converted(row, schema, context, sha, sizes, problems)
        if result is None:
            continue
        try:
            clean = validate_result(schema, result, context, path=f"rows.{row.number}.result")
        except InvalidInput as error:
            for path, messages in error.fields.items():
                for message in messages:
                    problems.fail(path, message)
            continue
        answers.append((row, task_id, clean))
        if progress and count % 10_000 == 0:
            progress(0.8 * count / len(rows))
    problems.raise_if_any()
    people, made = _annotators(session, project.id, {row.annotator for row in rows}, now)
    values = [{"task_id": task_id, "user_id": people[row.annotator], "result": clean, "lead_time_ms": row.lead_time_ms,
               "created_at": row.created_at or now} for row, task_id, clean in answers]
    if progress:
        progress(0.85)
    created = bulk.insert_answers(session, project.id, project.schema_version, values)
    if progress:
        progress(1.0)
    if created_tasks:  # a task this import made holds these answers only: they are what it has
        for chunk in _chunks(list({task_id for task_id, _, _ in created_tasks.values()})):
            session.execute(update(Task).where(Task.id.in_(chunk)).values(status="completed"))
    session.flush()
    return Summary(created, len(values) - created, len(created_tasks), len(people), made)


def _refuse_repeats(rows: list[Row], problems: importing.RowProblems) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        first = seen.setdefault((row.external_id, row.annotator), row.number)
        if first != row.number:
            problems.fail(f"rows.{row.number}.annotator", f"{row.annotator!r} already answered task "
                                                          f"{row.external_id!r} in row {first}; one answer each.")


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _tasks_by_external_id(session: Session, project_id: int, wanted: set[str]
                          ) -> dict[str, tuple[int, dict[str, Any], str | None]]:
    found = {}
    for chunk in _chunks(sorted(wanted)):
        for task_id, external_id, data, sha in session.execute(
                select(Task.id, Task.external_id, Task.data, Task.media_sha256).where(
                    Task.project_id == project_id, Task.external_id.in_(chunk))):
            found[external_id] = (task_id, data, sha)
    return found


def _create_tasks(session: Session, project: Project, rows: list[Row], now: dt.datetime, problems: importing.RowProblems
                  ) -> dict[str, tuple[int, dict[str, Any], str | None]]:
    """The tasks rows name that do not exist yet: from the row's `data` when the file gives it (checked as a task
    import checks it), else, on a text project, a record of the item holding only its external id."""
    first: dict[str, Row] = {}
    for row in rows:
        first.setdefault(row.external_id, row)
    with_data = [row for row in first.values() if row.data]
    prepared: list[importing.PreparedTask] = []
    if with_data:
        try:
            prepared = importing.prepare(session, project, [{"external_id": row.external_id, "data": row.data}
                                                            for row in with_data])
        except InvalidInput as error:
            for path, messages in error.fields.items():
                _, n, *rest = path.split(".") + [""]
                where = ".".join(filter(None, ["rows", str(with_data[int(n) - 1].number) if n.isdigit() else n,
                                               *rest]))
                for message in messages:
                    problems.fail(where, message)
            return {}
    placeholders = []
    for row in first.values():
        if row.data:
            continue
        if project.media_type == "image":
            problems.fail(f"rows.{row.number}.external_id", f"No task has the external id {row.external_id!r}, and "
                                                            "an image task needs its image: upload the images first, "
                                                            "or give data.image.")
            continue
        data = {"external_id": row.external_id}
        placeholders.append(importing.PreparedTask(data, importing.data_hash(data), row.external_id, None, None))
    if problems.errors:
        return {}
    importing.insert_tasks(session, project, [*prepared, *placeholders], now)
    return _tasks_by_external_id(session, project.id, set(first))


def _image_sizes(session: Session, tasks: list[tuple[int, dict, str | None]]) -> dict[str, tuple[int, int]]:
    shas = sorted({sha for _, _, sha in tasks if sha})
    sizes = {}
    for chunk in _chunks(shas):
        sizes.update({sha: (w, h) for sha, w, h in session.execute(
            select(Media.sha256, Media.width, Media.height).where(Media.sha256.in_(chunk)))})
    return sizes


def _context(project: Project, data: dict[str, Any], sha: str | None, sizes: dict[str, tuple[int, int]]
             ) -> TaskContext:
    if project.media_type == "text":
        text = data.get("text")
        return TaskContext("text", text_length=len(text) if isinstance(text, str) else 0)
    width, height = sizes.get(sha, (0, 0)) if sha else (0, 0)
    return TaskContext("image", width=width, height=height)


def _converted(row: Row, schema: LabelSchema, context: TaskContext, sha: str | None,
               sizes: dict[str, tuple[int, int]], problems: importing.RowProblems) -> Any:
    """The row's result as ours: a Label Studio annotation is converted now that its image's size is known."""
    if not (isinstance(row.result, tuple) and row.result and row.result[0] == "label_studio"):
        return row.result
    _, items, task_number = row.result
    image = None
    if sha is not None:
        width, height = sizes[sha]
        image = label_studio.ImageRef(sha, width, height)
    try:
        return label_studio.annotation_result(items, schema, image)
    except label_studio.Unreadable as error:
        problems.fail(f"tasks.{task_number}", f"Task {row.external_id!r}: {error}")
        return None


def _annotators(session: Session, project_id: int, names: set[str], now: dt.datetime) -> tuple[dict[str, int], int]:
    """The external contributors of the project with these pseudonyms, made where missing: (name -> user id,
    how many were made). A concurrent import naming the same person finds the same row (unique per project)."""
    found = _named(session, project_id, names)
    fresh = sorted(names - found.keys())
    if fresh:
        session.execute(insert_skipping_duplicates(session, User.__table__), [
            {"display_name": name, "kind": "external", "external_project_id": project_id, "email": None,
             "password_hash": None, "is_active": False, "is_admin": False, "locale": "en", "session_epoch": 0,
             "created_at": now, "updated_at": now} for name in fresh])
        found.update(_named(session, project_id, set(fresh)))
    return found, len(fresh)


def _named(session: Session, project_id: int, names: set[str]) -> dict[str, int]:
    found = {}
    for chunk in _chunks(sorted(names)):
        found.update({name: user_id for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.kind == "external", User.external_project_id == project_id,
                                                     User.display_name.in_(chunk)))})
    return found


def external_ids(session: Session, project_id: int) -> list[int]:
    """The project's external contributors (imported pseudonyms)."""
    return list(session.scalars(select(User.id).where(User.kind == "external", User.external_project_id == project_id)))



# ---------------------------------------------------------------------------------------------------------------
# Large files: an import job
# ---------------------------------------------------------------------------------------------------------------

def upload_key(import_id: int) -> str:
    return f"imports/{import_id}/answers"


def run_job(factory: Any, storage: Any, job: Any, now: Callable[[], dt.datetime],
            progress: Callable[[float], None]) -> dict[str, int]:
    """Import the answers file of import `job` (an Import row, options kind "answers"); its counts. InvalidInput
    fails the job with the problems as its error; nothing is written then."""
    options = dict(job.options)
    key = job.files[0]["key"]
    with storage.open(key) as stream:
        body = stream.read()
    with factory() as session:
        rows = parse(body, options["mimetype"], current_schema(session.get(Project, job.project_id)))
    progress(0.2)
    with factory() as session:
        write_intent(session)
        project = session.get(Project, job.project_id)
        # Progress is written by another connection: PostgreSQL lets it commit beside this transaction; SQLite
        # has one writer at a time, so there the job says only when it has read the file and when it is done.
        live = progress if session.get_bind().dialect.name == "postgresql" else None
        summary = import_answers(session, project, rows, create_tasks=bool(options.get("create_tasks")), now=now(),
                                 progress=None if live is None else lambda value: live(0.2 + 0.8 * value))
        session.commit()
    storage.delete(key)
    return {"answers": summary.created, "duplicates": summary.duplicates, "tasks_created": summary.tasks_created,
            "annotators": summary.annotators, "annotators_created": summary.annotators_created}


def problems_text(error: InvalidInput, limit: int = 20) -> str:
    """A job's error from the problems of a refused file: each field and its first message."""
    lines = [f"{path}: {messages[0]}" for path, messages in list(error.fields.items())[:limit]]
    more = f" (and {len(error.fields) - limit} more)" if len(error.fields) > limit else ""
    return "Nothing was imported. " + "; ".join(lines) + more
