"""Dataset exports: asking for one, and writing it (the RQ worker), streamed and crash-safe.

The writer reads the project a batch of tasks at a time (tasks/export_pages.py: keyset pages in task id order,
with their answers, images, verdicts, credits and consensus), hands each task to the format's writer, which
writes straight into a temporary file, and only when the file is complete copies it into storage (atomically)
and marks the export completed with its size and SHA-256. Memory stays flat whatever the project's size; the
same data gives the same bytes. A worker killed mid-way leaves the row `running` with a stale heartbeat and no
file; the job is retried (RQ) and `reclaim_stale` (every minute) re-queues exports whose worker died.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session, sessionmaker

from annotator.errors import InvalidInput
from annotator.users.models import User
from tasks.export_pages import Credits, Pages, few_collections, read_ahead
from tasks.formats import base
from tasks.formats.base import ExportContext, Writer
from tasks.models import Annotation, Appeal, Export, Project, QualityReport, Review, Task
from tasks.projects import current_schema
from tasks.quality.consensus import Consensus
from tasks.quality.report import agreement_report
from tasks.storage import Storage, media_key

HEARTBEAT = dt.timedelta(seconds=15)
STALE_AFTER = dt.timedelta(minutes=2)  # a running export without a heartbeat this long had its worker die
# A queued export not started this long may have lost its job (Redis was down at the commit, or the job was
# queued under a name an upgrade removed): the minutely check queues it again unless its job is still waiting.
QUEUED_CHECK_AFTER = dt.timedelta(minutes=1)
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
    # An appeal's decision changes a verdict (and what counts) without a new review.
    decided = session.scalar(select(func.count()).where(Appeal.project_id == project.id, Appeal.status != "open"))
    statuses = session.execute(select(Task.status, func.count()).where(Task.project_id == project.id)
                               .group_by(Task.status).order_by(Task.status)).all()
    # A large project's consensus is the quality worker's: a new report is new data.
    report = session.scalar(select(QualityReport.computed_at).where(QualityReport.project_id == project.id))
    text = "|".join(str(part) for part in (
        format_name, include, project.schema_version, project.name, project.licence, project.aggregation,
        tuple(tasks), tuple(answers), tuple(reviews), decided, tuple(map(tuple, statuses)), report))
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


def _context(session: Session, project: Project, include: str, storage: Storage) -> ExportContext:
    schema = current_schema(project)
    labels = tuple(base.Label(label.id, label.name, label.parent_id,
                              tuple(schema.labels[step].name for step in label.path), label.names, label.aliases)
                   for label in schema.labels.values())
    return ExportContext(project_id=project.id, project_name=project.name, media_type=project.media_type,
                         tools=tuple(schema.tools), labels=labels, schema_version=project.schema_version,
                         include=include, open_media=lambda sha256: storage.open(media_key(sha256)))


def _card(project: Project, export: Export, report: dict | None, tasks: int, answers: int,
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


@dataclass(frozen=True)
class _Stored:
    """A written export file, copied into storage.

    key: its storage key; extension: its file name's ending; sha256, size: of its bytes; rows: what the
    writer wrote (lines, annotations, objects); card: the dataset card written with it.
    """

    key: str
    extension: str
    sha256: str
    size: int
    rows: int
    card: dict[str, Any]


def run(factory: sessionmaker, storage: Storage, export_id: int, *, secret: bytes, credits: Credits | None,
        on_request_limit: int, now: Callable[[], dt.datetime], scratch: str | None = None) -> dict | None:
    """Write export `export_id` (the RQ job's body). Safe to run twice: a completed export is left alone."""
    if not _start(factory, export_id, now):
        return None
    with factory() as session:
        export = session.get(Export, export_id)
        project = session.get(Project, export.project_id)
        context = _context(session, project, export.include, storage)
        total, answers, annotators = _counts(session, project.id)
        report, consensus = _quality(session, project, answers, on_request_limit, now())
        source = Pages(session, project, export.include, secret, credits, consensus)
        card = _card(project, export, report, total, answers, annotators)
        stored = _write(factory, storage, export, source, context, card, total, now, scratch)
    _finish(factory, export_id, project, stored, now())
    return {"rows": stored.rows, "sha256": stored.sha256, "size_bytes": stored.size}


def _start(factory: sessionmaker, export_id: int, now: Callable[[], dt.datetime]) -> bool:
    """Mark the export running, one more attempt; False when there is nothing to do (gone, or completed)."""
    with factory() as session:
        export = session.get(Export, export_id, with_for_update=True)
        if export is None or export.status == "completed":
            return False
        export.status, export.error = "running", None
        export.attempts += 1
        export.started_at = export.heartbeat_at = now()
        export.progress, export.rows = 0.0, 0
        session.commit()
    return True


def _counts(session: Session, project_id: int) -> tuple[int, int, int]:
    """The project's tasks, answers and annotators, for the progress and the card."""
    total = session.scalar(select(func.count()).where(Task.project_id == project_id)) or 0
    answers = session.scalar(select(func.count()).where(Annotation.project_id == project_id)) or 0
    annotators = session.scalar(select(func.count(func.distinct(Annotation.user_id))).where(
        Annotation.project_id == project_id)) or 0
    return total, answers, annotators


def _write(factory: sessionmaker, storage: Storage, export: Export, source: Pages, context: ExportContext,
           card: dict[str, Any], total: int, now: Callable[[], dt.datetime], scratch: str | None) -> _Stored:
    """Write every task into a scratch file, then copy the complete file and its card into storage."""
    writer_type = writer_class(export.format)
    descriptor, temporary = tempfile.mkstemp(prefix=f"export-{export.id}-", suffix=writer_type.extension,
                                             dir=scratch or tempfile.gettempdir())
    try:
        with os.fdopen(descriptor, "w+b") as out, few_collections():
            writer = writer_type(out, context)
            rows = _write_pages(factory, export.id, source, writer, total, now)
            writer.close(card)
            out.flush()  # no fsync: this is scratch; storage makes its copy durable
        digest, size = _digest(temporary)
        key = f"exports/{export.id}/export{writer_type.extension}"  # storage keys are ASCII; names need not be
        storage.put_file(key, temporary)
        storage.put(f"exports/{export.id}/dataset_card.json", base.card_bytes(card))
    finally:
        Path(temporary).unlink(missing_ok=True)
    return _Stored(key, writer_type.extension, digest, size, rows, card)


def _write_pages(factory: sessionmaker, export_id: int, source: Pages, writer: Writer, total: int,
                 now: Callable[[], dt.datetime]) -> int:
    """Hand every task to the writer, page by page as the read-ahead brings them, beating the heartbeat;
    returns the rows written."""
    rows = done = 0
    beat = now()
    for raw in read_ahead(source.read()):
        page = source.build(raw)
        for task in page:
            rows += writer.write(task)
        done += len(page)
        if now() - beat >= HEARTBEAT or done == total:
            _progress(factory, export_id, done / total if total else 1.0, rows, now())
            beat = now()
    return rows


def _finish(factory: sessionmaker, export_id: int, project: Project, stored: _Stored, moment: dt.datetime) -> None:
    """Mark the export completed with its file: only now can it be downloaded."""
    with factory() as session:
        export = session.get(Export, export_id, with_for_update=True)
        export.status, export.progress, export.rows = "completed", 1.0, stored.rows
        export.sha256, export.size_bytes, export.storage_key = stored.sha256, stored.size, stored.key
        export.filename, export.card = _download_name(project, export, stored.extension), stored.card
        export.finished_at = export.heartbeat_at = moment
        session.commit()


def _quality(session: Session, project: Project, answers: int, limit: int,
             now: dt.datetime) -> tuple[dict | None, dict[int, Consensus] | None]:
    """The agreement report for the card and, for a small project, every task's consensus (computed once).
    Large projects use the quality worker's last report, and its stored consensus where fresh (None here)."""
    if answers == 0:
        return None, {}
    if answers <= limit:
        computed = agreement_report(session, project, now)
        return computed.body, computed.consensus
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


def long_queued(session: Session, moment: dt.datetime) -> list[Export]:
    """Queued exports no worker has started for QUEUED_CHECK_AFTER."""
    return list(session.scalars(select(Export).where(Export.status == "queued",
                                                     Export.created_at < moment - QUEUED_CHECK_AFTER)
                                .order_by(Export.id)))


def stale(session: Session, moment: dt.datetime) -> list[Export]:
    """Running exports whose worker stopped beating: died (killed, out of memory, machine gone)."""
    return list(session.scalars(select(Export).where(Export.status == "running",
                                                     Export.heartbeat_at < moment - STALE_AFTER)
                                .order_by(Export.id).with_for_update(skip_locked=True)))
