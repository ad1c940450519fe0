"""Dataset exports: asking for one, and writing it (the RQ worker), streamed and crash-safe.

The writer reads the project a batch of tasks at a time (keyset pages in task id order, with their answers,
images, verdicts, credits and consensus), hands each task to the format's writer, which writes straight into
a temporary file, and only when the file is complete copies it into storage (atomically) and marks the export
completed with its size and SHA-256. Memory stays flat whatever the project's size; the same data gives the
same bytes. A worker killed mid-way leaves the row `running` with a stale heartbeat and no file; the job is
retried (RQ) and `reclaim_stale` (every minute) re-queues exports whose worker died.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import hmac
import os
import posixpath
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from annotator.errors import InvalidInput
from annotator.users.models import User
from tasks import quality_service
from tasks.formats import base
from tasks.formats.base import ExportAnnotation, ExportContext, ExportTask
from tasks.models import Annotation, Export, Media, Project, QualityReport, Review, Task, TaskConsensus
from tasks.projects import current_schema
from tasks.storage import Storage, media_key

BATCH = 1000  # tasks per page
HEARTBEAT = dt.timedelta(seconds=15)
STALE_AFTER = dt.timedelta(minutes=2)  # a running export without a heartbeat this long had its worker die
MAX_ATTEMPTS = 3
IMAGE_FORMATS = ("coco", "yolo", "voc")
LIVE = ("queued", "running", "completed")

# format -> (module path, writer class name): imported when used.
FORMATS: dict[str, tuple[str, str]] = {
    "jsonl": ("tasks.formats.jsonl", "JsonlWriter"),
    "csv": ("tasks.formats.csv", "CsvWriter"),
    "coco": ("tasks.formats.coco", "CocoWriter"),
    "yolo": ("tasks.formats.yolo", "YoloWriter"),
    "voc": ("tasks.formats.voc", "VocWriter"),
    "label_studio": ("tasks.formats.label_studio_out", "LabelStudioWriter"),
}

# (session, project id, task ids after, up to) -> {annotation id: net minor units its answer earned}
Credits = Callable[[Session, int, int, int], dict[int, int]]


def writer_class(name: str):
    import importlib

    module, cls = FORMATS[name]
    return getattr(importlib.import_module(module), cls)


def fingerprint(session: Session, project: Project, format_name: str, include: str) -> str:
    """Names the data an export would hold: the same fingerprint, the same bytes."""
    tasks = session.execute(select(func.count(), func.max(Task.id)).where(Task.project_id == project.id)).one()
    answers = session.execute(select(func.count(), func.max(Annotation.id), func.sum(Annotation.counted.cast(
        Integer()))).where(Annotation.project_id == project.id)).one()
    reviews = session.execute(select(func.count(), func.max(Review.id)).where(Review.project_id == project.id)).one()
    statuses = session.execute(select(Task.status, func.count()).where(Task.project_id == project.id)
                               .group_by(Task.status).order_by(Task.status)).all()
    # A large project's consensus is the quality worker's: a new report is new data.
    report = session.scalar(select(QualityReport.computed_at).where(QualityReport.project_id == project.id))
    text = "|".join(str(part) for part in (
        format_name, include, project.schema_version, project.name, project.licence, project.aggregation,
        tuple(tasks), tuple(answers), tuple(reviews), tuple(map(tuple, statuses)), report))
    return hashlib.sha256(text.encode()).hexdigest()


def request(session: Session, project: Project, user: User, format_name: str, include: str,
            now: dt.datetime) -> tuple[Export, bool]:
    """The export for this project, format and data: the live one if there is one, else a new queued row
    (the caller enqueues the job after commit). Returns (export, created)."""
    if format_name in IMAGE_FORMATS and project.media_type != "image":
        raise InvalidInput({"format": [f"{format_name} is for image projects; this one labels {project.media_type}."
                                       " Use jsonl, csv or label_studio."]})
    print_ = fingerprint(session, project, format_name, include)
    live = session.scalar(select(Export).where(Export.project_id == project.id, Export.fingerprint == print_,
                                               Export.status.in_(LIVE)).order_by(Export.id.desc()).limit(1))
    if live is not None:
        return live, False
    made = Export(project_id=project.id, created_by=user.id, format=format_name, include=include,
                  fingerprint=print_, status="queued", progress=0.0, rows=0, attempts=0, created_at=now,
                  updated_at=now)
    session.add(made)
    session.flush()
    return made, True


def pseudonym(secret: bytes, project_id: int, user_id: int) -> str:
    """A stable annotator id for one project's exports that does not reveal who it is."""
    return "a_" + hmac.new(secret, f"{project_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def _context(session: Session, project: Project, include: str, storage: Storage) -> ExportContext:
    schema = current_schema(project)
    labels = tuple(base.Label(label.id, label.name, label.parent_id,
                              tuple(schema.labels[step].name for step in label.path))
                   for label in schema.labels.values())
    return ExportContext(project_id=project.id, project_name=project.name, media_type=project.media_type,
                         tools=tuple(schema.tools), labels=labels, schema_version=project.schema_version,
                         include=include, open_media=lambda sha256: storage.open(media_key(sha256)))


def _majority(first_labels: list[str | None]) -> dict[str, Any] | None:
    """A task's own majority over whole-item labels (each answer's first; None for an answer without one): the
    fallback where no fresh project-wide consensus is kept."""
    votes: dict[str, int] = {}
    for label in first_labels:
        if label is not None:
            votes[label] = votes.get(label, 0) + 1
    if not votes:
        return None
    if len(votes) == 1:  # everyone agreed (the common case)
        winner = next(iter(votes))
        share = 1.0
    else:
        count, total = max(votes.values()), sum(votes.values())
        winner = min(label for label, n in votes.items() if n == count)  # ties broken by label id: deterministic
        share = round(count / total, 6)
    return {"result": {"labels": [winner]}, "confidence": share, "method": "majority_vote", "agreement": share,
            "annotations": len(first_labels)}


class _Source:
    """The project's tasks, one page at a time, each with what the writers need."""

    def __init__(self, session: Session, project: Project, include: str, secret: bytes, credits: Credits | None,
                 consensus: dict[int, dict] | None) -> None:
        self.session, self.project, self.include = session, project, include
        self.secret, self.credits, self.consensus = secret, credits, consensus
        self.names: dict[int, str] = {}
        self.connection = session.connection()  # Core rows: no ORM bookkeeping for a million of them
        self.created_iso = _iso_sql(self.connection.dialect.name)

    def pages(self) -> Iterator[list[ExportTask]]:
        """The tasks, a page at a time (reading and building in one thread)."""
        for raw in self.read():
            yield self.build(raw)

    def read(self) -> Iterator[_Raw]:
        """The database's part: each page's rows, nothing made of them yet (the export runs this in a thread, so
        that waiting for PostgreSQL overlaps with building and writing the page before)."""
        after = 0
        everything = self.include == "all"
        while True:
            tasks = self.connection.execute(
                select(Task.id, Task.external_id, Task.data, Task.status, Task.is_gold, Task.media_sha256,
                       Media.sha256, Media.width, Media.height, Media.content_type)
                .outerjoin(Media, Media.sha256 == Task.media_sha256)
                .where(Task.project_id == self.project.id, Task.id > after).order_by(Task.id).limit(BATCH)).all()
            if not tasks:
                return
            # Each query takes the page's task id range (after, last], not a list of ids: a thousand bind
            # parameters cost more to send than the rows they fetch. `project_id + 0`: so the planner walks the
            # (task_id, user_id) index over the range instead of every answer of the project by (project_id,
            # user_id) once per page (SQLite chose the latter: quadratic). The result comes as its stored JSON
            # text (formats that copy it never parse it: parsing was a third of the time) with its first
            # whole-item label beside it, all the task's own majority needs.
            last = tasks[-1].id
            answers = self.connection.execute(
                select(Annotation.id, Annotation.task_id, Annotation.user_id, cast(Annotation.result, Text),
                       Annotation.result[("labels", 0)].as_string(), Annotation.lead_time_ms,
                       Annotation.schema_version, self.created_iso, Annotation.counted, Annotation.gold_score,
                       Review.verdict)
                .outerjoin(Review, Review.annotation_id == Annotation.id)
                .where((Annotation.project_id + 0) == self.project.id, Annotation.task_id > after,
                       Annotation.task_id <= last)
                .order_by(Annotation.task_id, Annotation.id)).all()  # one fetchall, not a fetch a row
            stored = [] if self.consensus is not None else self.connection.execute(
                select(TaskConsensus.task_id, TaskConsensus.result, TaskConsensus.confidence, TaskConsensus.method,
                       TaskConsensus.agreement, TaskConsensus.annotations).where(
                    TaskConsensus.project_id == self.project.id, TaskConsensus.task_id > after,
                    TaskConsensus.task_id <= last)).all()
            earned = self.credits(self.session, self.project.id, after, last) \
                if self.credits and everything else {}
            yield _Raw(tasks, answers, stored, earned)
            after = last

    def build(self, raw: _Raw) -> list[ExportTask]:
        """The page's tasks made from its rows. Rows are unpacked as tuples, never read by attribute name: per
        answer that was most of the export's time."""
        everything = self.include == "all"
        names, secret, project_id, earned = self.names, self.secret, self.project.id, raw.earned
        answers: dict[int, list[ExportAnnotation]] = {}
        counted: dict[int, list[str | None]] = {}  # the first labels of the answers each task's majority counts
        tally: dict[int, int] = {}  # how many answers each task has that count: a stored consensus must match it
        for (answer_id, task_id, user_id, result_json, first_label, lead_time_ms, schema_version, created_iso,
             is_counted, gold_score, verdict) in raw.answers:
            if is_counted:
                tally[task_id] = tally.get(task_id, 0) + 1
                if verdict != "rejected":
                    counted.setdefault(task_id, []).append(first_label)
            if everything:
                name = names.get(user_id)
                if name is None:
                    name = names[user_id] = pseudonym(secret, project_id, user_id)
                answers.setdefault(task_id, []).append(ExportAnnotation(
                    answer_id, name, result_json, lead_time_ms, schema_version, created_iso, is_counted, verdict,
                    gold_score, int(earned.get(answer_id, 0))))
        consensus = self._consensus(raw, tally, counted)
        page = []
        for task_id, external_id, data, status, is_gold, _, sha256, width, height, content_type in raw.tasks:
            page.append(ExportTask(
                task_id, external_id, data, status, is_gold,
                base.Media(sha256, width, height, content_type, _filename(task_id, data, content_type))
                if width else None,
                consensus.get(task_id), tuple(answers.get(task_id, ()))))
        return page

    def _consensus(self, raw: _Raw, tally: dict[int, int], counted: dict[int, list[str | None]]) -> dict[int, dict]:
        """Each task's consensus: the one computed for the whole export, else the quality worker's stored one
        where it is fresh (made from as many answers as count now), else the task's own majority."""
        if self.consensus is not None:
            return {t.id: self.consensus[t.id] for t in raw.tasks if t.id in self.consensus}
        found = {}
        for task_id, result, confidence, method, agreement, answered in raw.stored:
            if answered == tally.get(task_id, 0):
                found[task_id] = {"result": result, "confidence": confidence, "method": method,
                                  "agreement": agreement, "annotations": answered}
        for task_id, first_labels in counted.items():
            if task_id not in found:
                majority = _majority(first_labels)
                if majority is not None:
                    found[task_id] = majority
        return found


class _Raw(NamedTuple):
    """One page as the database gave it."""

    tasks: list
    answers: list
    stored: list  # the quality worker's stored consensus rows
    earned: dict[int, int]


def _iso_sql(dialect: str):
    """An answer's time as ISO 8601 UTC text ("2026-11-22T21:24:58.123456Z"), made by the database: formatting
    a million aware datetimes in Python costs more than the rest of an answer's row."""
    if dialect == "postgresql":
        text_ = func.to_char(func.timezone("UTC", Annotation.created_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    else:  # SQLite keeps naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff"
        text_ = func.replace(type_coerce(Annotation.created_at, String), " ", "T") + "Z"
    return type_coerce(text_, String).label("created_iso")


_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
               "image/tiff": ".tif", "image/bmp": ".bmp"}


def _filename(task_id: int, data: dict, content_type: str) -> str:
    """A unique, safe file name for a task's image inside an archive: its task id and a tidy stem."""
    name = data.get("name")
    stem = posixpath.splitext(posixpath.basename(str(name).replace("\\", "/")))[0] if name else ""
    if stem and not (stem.isascii() and stem.replace("-", "").replace("_", "").isalnum()):  # tidy only if needed
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)
    stem = stem[:60].strip("_")
    return f"{task_id:08d}{'_' + stem if stem else ''}{_EXTENSIONS.get(content_type, '.img')}"


def _card(session: Session, project: Project, export: Export, report: dict | None, tasks: int, answers: int,
          annotators: int) -> dict[str, Any]:
    """The dataset card: what the export is, where it came from, and how much to trust its labels."""
    agreement = None
    if report is not None:
        agreement = {key: report.get(key) for key in (
            "krippendorff_alpha", "alpha_interval", "alpha_distance", "nominal_alpha", "fleiss_kappa",
            "mean_pairwise_cohen_kappa", "bbox_f1", "polygon_f1", "keypoint_f1", "span_f1") if key in report}
    return {
        "dataset": {"project_id": project.id, "name": project.name, "media_type": project.media_type,
                    "licence": project.licence or None, "schema_version": project.schema_version,
                    "label_schema": project.label_schema},
        "export": {"id": export.id, "format": export.format, "include": export.include,
                   "fingerprint": export.fingerprint},
        "counts": {"tasks": tasks, "answers": answers, "annotators": annotators},
        "aggregation": {"method": (report or {}).get("method") or project.aggregation,
                        "fallback": "the task's own majority vote where no fresh project-wide consensus is kept"},
        "agreement": agreement,
        "annotators": "pseudonymous: a keyed hash of the project and the person, stable across this project's "
                      "exports",
    }


def run(factory: sessionmaker, storage: Storage, export_id: int, *, secret: bytes, credits: Credits | None,
        on_request_limit: int, now: Callable[[], dt.datetime], scratch: str | None = None) -> dict | None:
    """Write export `export_id` (the RQ job's body). Safe to run twice: a completed export is left alone."""
    with factory() as session:
        export = session.get(Export, export_id, with_for_update=True)
        if export is None or export.status == "completed":
            return None
        export.status, export.error = "running", None
        export.attempts += 1
        export.started_at = export.heartbeat_at = now()
        export.progress, export.rows = 0.0, 0
        session.commit()
    with factory() as session:
        export = session.get(Export, export_id)
        project = session.get(Project, export.project_id)
        context = _context(session, project, export.include, storage)
        total = session.scalar(select(func.count()).where(Task.project_id == project.id)) or 0
        answers = session.scalar(select(func.count()).where(Annotation.project_id == project.id)) or 0
        annotators = session.scalar(select(func.count(func.distinct(Annotation.user_id))).where(
            Annotation.project_id == project.id)) or 0
        report, consensus = _quality(session, project, answers, on_request_limit, now())
        source = _Source(session, project, export.include, secret, credits, consensus)
        writer_type = writer_class(export.format)
        folder = scratch or tempfile.gettempdir()
        descriptor, temporary = tempfile.mkstemp(prefix=f"export-{export_id}-", suffix=writer_type.extension,
                                                 dir=folder)
        try:
            with os.fdopen(descriptor, "w+b") as out, _few_collections():
                writer = writer_type(out, context)
                rows = done = 0
                beat = now()
                for raw in _read_ahead(source.read()):
                    page = source.build(raw)
                    for task in page:
                        rows += writer.write(task)
                    done += len(page)
                    if now() - beat >= HEARTBEAT or done == total:
                        _progress(factory, export_id, done / total if total else 1.0, rows, now())
                        beat = now()
                card = _card(session, project, export, report, total, answers, annotators)
                writer.close(card)
                out.flush()  # no fsync: this is scratch; storage makes its copy durable
            digest, size = _digest(temporary)
            key = f"exports/{export_id}/export{writer_type.extension}"  # storage keys are ASCII; names need not be
            storage.put_file(key, temporary)
            storage.put(f"exports/{export_id}/dataset_card.json", base.card_bytes(card))
        finally:
            Path(temporary).unlink(missing_ok=True)
    with factory() as session:
        export = session.get(Export, export_id, with_for_update=True)
        export.status, export.progress, export.rows = "completed", 1.0, rows
        export.sha256, export.size_bytes, export.storage_key = digest, size, key
        export.filename, export.card = _download_name(project, export, writer_type.extension), card
        export.finished_at = export.heartbeat_at = now()
        session.commit()
    return {"rows": rows, "sha256": digest, "size_bytes": size}


def _read_ahead(pages: Iterator, depth: int = 2) -> Iterator:
    """What `pages` yields, read up to `depth` pages ahead in a thread while the caller builds and writes the
    current one.

    The database works on the next page (on its own core) while this process formats the last one: the wait
    for PostgreSQL was a third of an export's time. Only the thread touches the source's session until the
    pages end; an error there is raised here; if the caller stops early (its writer failed), the thread stops."""
    handoff: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not offer((page, None)):
                    return
            offer((end, None))
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            offer((end, error))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="export-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            try:
                page, error = handoff.get(timeout=1)
            except Empty:
                if not reader.is_alive() and handoff.empty():
                    raise RuntimeError("the export's reader stopped without a word") from None
                continue
            if page is end:
                if error is not None:
                    raise error
                return
            yield page
    finally:
        stop.set()
        reader.join()


@contextlib.contextmanager
def _few_collections(young: int = 100_000):
    """Run the write loop with the cycle collector's youngest generation 100,000 objects deep, not 700.

    A page is some ten thousand objects (rows, answers' parsed JSON) that live until it is written: with the default
    threshold they trigger a full collection, a walk over every object in the process, every few pages, which
    took 40 % of an export's time. They hold no cycles (reference counting frees them), so collecting rarely
    costs no memory."""
    before = gc.get_threshold()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _quality(session: Session, project: Project, answers: int, limit: int,
             now: dt.datetime) -> tuple[dict | None, dict[int, dict] | None]:
    """The agreement report for the card and, for a small project, every task's consensus (computed once).
    Large projects use the quality worker's last report and stored consensus where fresh."""
    if answers == 0:
        return None, {}
    if answers <= limit:
        report = quality_service.agreement_report(session, project, now)
        body, consensus = quality_service.split_report(report)
        return body, consensus
    stored = session.get(QualityReport, project.id)
    return (stored.body if stored is not None else None), None


def _progress(factory: sessionmaker, export_id: int, progress: float, rows: int, moment: dt.datetime) -> None:
    with factory() as session:
        export = session.get(Export, export_id)
        if export is not None and export.status == "running":
            export.progress, export.rows, export.heartbeat_at = round(min(progress, 0.999), 4), rows, moment
            session.commit()


def _digest(path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _download_name(project: Project, export: Export, extension: str) -> str:
    """The file name a download gets: the project's name (any script: browsers get it as RFC 5987 filename*)."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in project.name.lower())[:40].strip("-")
    return f"{stem or 'project'}-{project.id}-{export.format}-{export.include}{extension}"


def mark_failed(factory: sessionmaker, export_id: int, error: str, moment: dt.datetime) -> None:
    with factory() as session:
        export = session.get(Export, export_id, with_for_update=True)
        if export is not None and export.status != "completed":
            export.status, export.error, export.finished_at = "failed", error[:2000], moment
            session.commit()


def stale(session: Session, moment: dt.datetime) -> list[Export]:
    """Running exports whose worker stopped beating: died (killed, out of memory, machine gone)."""
    return list(session.scalars(select(Export).where(Export.status == "running",
                                                     Export.heartbeat_at < moment - STALE_AFTER)
                                .order_by(Export.id).with_for_update(skip_locked=True)))
