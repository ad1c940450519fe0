"""The import job's work: images, zip archives of images and Label Studio exports into tasks.

Files are processed one at a time and only each image's metadata is kept, so
memory stays flat. Stored media are content-addressed, so writing them early is
harmless. Tasks, media rows and the final report are written in ONE
transaction at the end: a failed or killed job leaves no half-imported tasks,
and running it again starts over cleanly.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from annotator.db import refresh_statistics, write_intent
from annotator.errors import InvalidInput
from tasks import answer_import, importing
from tasks.projects import current_schema
from tasks.archives import ArchiveRejected, ZipLimits, is_zip, read_zip
from tasks.formats import label_studio
from tasks.media import DEFAULT_MAX_PIXELS, MediaRejected, ProcessedImage, near_duplicates, process_image
from tasks.models import Import, Media, Project, Task
from tasks.storage import Storage, media_key, thumbnail_key

PROGRESS_EVERY = 20  # archive members between progress writes
# What one job holds in memory besides the image being decoded: Label Studio exports wait for the images.
MAX_EXPORT_BYTES = 64 * 1024**2
MAX_EXPORTS_TOTAL_BYTES = 256 * 1024**2
MAX_JOB_TASKS = 100_000


@dataclass(frozen=True)
class ImportLimits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = 1024**3
    zip: ZipLimits = ZipLimits()


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    name: str   # the file's own name
    path: str   # where it was in the upload: "photos.zip/set_a/1.jpg"
    content_type: str
    width: int
    height: int
    size_bytes: int
    phash: int  # unsigned 64-bit

    @classmethod
    def of(cls, image: ProcessedImage, path: str) -> StoredImage:
        return cls(image.sha256, path.rsplit("/", 1)[-1], path, image.content_type, image.width, image.height,
                   len(image.data), image.phash)


@dataclass
class Found:
    """What the uploaded files held, before anything is written to the database."""

    images: dict[str, StoredImage] = field(default_factory=dict)  # by sha256, in upload order
    paths: dict[str, str] = field(default_factory=dict)  # every image's path in the upload -> its sha256
    exports: list[tuple[str, bytes]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    repeated: int = 0  # the same image twice in one import
    export_bytes: int = 0

    def reject(self, name: str, reason: str) -> None:
        self.rejected.append({"file": name, "reason": reason})


def to_signed64(value: int) -> int:
    """A 64-bit hash as a signed BIGINT, which every database stores."""
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned64(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class Reader:
    """Reads one import's files into `found`, storing each accepted image as it goes."""

    def __init__(self, storage: Storage, media_type: str, limits: ImportLimits,
                 progress: Callable[[float], None]) -> None:
        self.storage, self.media_type, self.limits, self.progress = storage, media_type, limits, progress
        self.found = Found()

    def read_all(self, files: list[dict[str, Any]]) -> Found:
        for index, upload in enumerate(files):
            self._upload(upload, lambda part, index=index: self.progress(0.9 * (index + part) / len(files)))
        return self.found

    def _upload(self, upload: dict[str, Any], progress: Callable[[float], None]) -> None:
        name = upload["name"]
        if upload["size"] == 0:
            return self.found.reject(name, "the file is empty")
        if upload["size"] > self.limits.max_file_bytes:
            return self.found.reject(name, f"the file is larger than {self.limits.max_file_bytes // 1024**2} MB")
        with self.storage.open(upload["key"]) as stream:
            head = stream.read(64)
            stream.seek(0)
            if is_zip(head):
                self._archive(stream, name, progress)
            elif upload["size"] > self.limits.zip.max_member_bytes:
                self.found.reject(name, "the file is too large for an image or a Label Studio export")
            else:
                self._one(stream.read(), name)
        progress(1.0)

    def _archive(self, stream: BinaryIO, name: str, progress: Callable[[float], None]) -> None:
        try:
            for count, member in enumerate(read_zip(stream, self.limits.zip), start=1):
                label = f"{name}/{member.name}"
                if member.data is None:
                    self.found.reject(label, member.reason or "refused")
                else:
                    self._one(member.data, label)
                if count % PROGRESS_EVERY == 0:
                    progress(min(count / max(len(self.found.images), 1), 0.95) * 0.5)
        except ArchiveRejected as error:
            self.found.reject(name, error.reason)

    def _one(self, data: bytes, name: str) -> None:
        if label_studio.looks_like_export(data[:64]):
            self._export(data, name)
        elif self.media_type != "image":
            self.found.reject(name, "images cannot be imported into a text project")
        else:
            self._image(data, name)

    def _export(self, data: bytes, name: str) -> None:
        if len(data) > MAX_EXPORT_BYTES:
            return self.found.reject(name, f"a Label Studio export may be at most {MAX_EXPORT_BYTES // 1024**2} MB; "
                                           "split it into several files")
        if self.found.export_bytes + len(data) > MAX_EXPORTS_TOTAL_BYTES:
            return self.found.reject(name, "the exports in one import may total at most "
                                           f"{MAX_EXPORTS_TOTAL_BYTES // 1024**2} MB; import the rest separately")
        self.found.export_bytes += len(data)
        self.found.exports.append((name, data))

    def _image(self, data: bytes, name: str) -> None:
        try:
            image = process_image(data, max_pixels=self.limits.max_pixels)
        except MediaRejected as error:
            return self.found.reject(name, error.reason)
        self.found.paths[name] = image.sha256
        if image.sha256 in self.found.images:
            self.found.repeated += 1
            return
        if not self.storage.exists(media_key(image.sha256)):
            self.storage.put(media_key(image.sha256), image.data)
        if not self.storage.exists(thumbnail_key(image.sha256)):
            self.storage.put(thumbnail_key(image.sha256), image.thumbnail)
        self.found.images[image.sha256] = StoredImage.of(image, name)


def run_import(factory: sessionmaker, storage: Storage, import_id: int, *, limits: ImportLimits,
               now: Callable[[], dt.datetime]) -> dict[str, int] | None:
    """Run import `import_id`; returns its counts, or None when there is nothing to do."""
    with factory() as session:
        write_intent(session)
        job = session.get(Import, import_id)
        if job is None or job.status == "finished":
            return None
        media_type = session.get(Project, job.project_id).media_type
        files, options = list(job.files), dict(job.options)
        job.status, job.progress, job.error = "running", 0.0, None
        job.started_at = job.heartbeat_at = now()
        job.attempts += 1
        session.commit()
    if options.get("kind") == "answers":  # a file of answers (tasks.answer_import), not images
        return _run_answers(factory, storage, import_id, now)
    found = Reader(storage, media_type, limits,
                   lambda value: _progress(factory, import_id, value, now())).read_all(files)
    with factory() as session:  # closing without commit rolls everything back
        write_intent(session)
        counts = _write(session, import_id, found, options.get("label_studio_annotations", "gold") == "gold", now())
        session.commit()
        if counts.get("created", 0) >= importing.ANALYZE_AFTER:
            refresh_statistics(session, Task.__table__)
    for upload in files:
        storage.delete(upload["key"])
    return counts


def _run_answers(factory: sessionmaker, storage: Storage, import_id: int, now: Callable[[], dt.datetime]
                 ) -> dict[str, int]:
    with factory() as session:
        job = session.get(Import, import_id)
        session.expunge(job)
    try:
        counts = answer_import.run_job(factory, storage, job, now,
                                       lambda value: _progress(factory, import_id, value, now()))
    except InvalidInput as refused:  # a file with problems: the job says which, and fails for good
        mark_failed(factory, import_id, answer_import.problems_text(refused), now())
        return {}
    with factory() as session:
        write_intent(session)
        done = session.get(Import, import_id)
        done.status, done.progress, done.counts, done.finished_at = "finished", 1.0, counts, now()
        session.commit()
    return counts


# A running import whose heartbeat (every file, every PROGRESS_EVERY archive members) stopped this long had its
# worker die; the sweep re-queues it, and fails it after MAX_ATTEMPTS.
STALE_AFTER = dt.timedelta(minutes=3)
MAX_ATTEMPTS = 3
# A queued import not started this long may have lost its job (Redis was down at the commit): the minutely sweep
# queues it again unless its job is still waiting.
QUEUED_CHECK_AFTER = dt.timedelta(minutes=1)


def long_queued(session: Session, moment: dt.datetime) -> list[Import]:
    """Imports still queued QUEUED_CHECK_AFTER after they were asked for."""
    return list(session.scalars(select(Import).where(Import.status == "queued",
                                                     Import.created_at < moment - QUEUED_CHECK_AFTER)
                                .order_by(Import.id)))


def stale(session: Session, moment: dt.datetime) -> list[Import]:
    """Running imports whose worker stopped beating (killed, out of memory, machine gone)."""
    return list(session.scalars(select(Import).where(Import.status == "running",
                                                     Import.heartbeat_at < moment - STALE_AFTER)
                                .order_by(Import.id).with_for_update(skip_locked=True)))


def mark_failed(factory: sessionmaker, import_id: int, error: str, now: dt.datetime) -> None:
    with factory() as session:
        write_intent(session)
        job = session.get(Import, import_id)
        if job is not None and job.status != "finished":
            job.status, job.error, job.finished_at = "failed", error[:2000], now
            session.commit()


def _progress(factory: sessionmaker, import_id: int, value: float, moment: dt.datetime) -> None:
    with factory() as session:
        write_intent(session)
        job = session.get(Import, import_id)
        job.progress, job.heartbeat_at = round(min(max(value, 0.0), 0.99), 4), moment
        session.commit()


def _write(session: Session, import_id: int, found: Found, with_gold: bool, now: dt.datetime) -> dict[str, int]:
    job = session.get(Import, import_id)
    project = session.get(Project, job.project_id)
    insert_media(session, found.images.values(), now)
    ls_rows, referenced = _label_studio_rows(project, found, with_gold)
    already = _project_media(session, project.id, [sha for sha in found.images if sha not in referenced])
    rows = [{"data": {"image": f"/media/{sha}", "name": image.name}}
            for sha, image in found.images.items() if sha not in referenced and sha not in already] + ls_rows
    if len(rows) > MAX_JOB_TASKS:
        found.reject(f"{len(rows) - MAX_JOB_TASKS} tasks", f"one import makes at most {MAX_JOB_TASKS} tasks; "
                                                           "import the rest separately")
        rows = rows[:MAX_JOB_TASKS]
    prepared, errors = importing.prepare_each(session, project, rows, uploaded=frozenset(found.images))
    for number, problems in errors.items():
        found.reject(_row_name(rows[number - 1]), "; ".join(problems))
    summary = importing.insert_tasks(session, project, prepared, now, import_id=import_id)
    pairs = _near_duplicates(session, project.id, found)
    counts = {"files": len(job.files), "images": len(found.images), "created": summary.created,
              "duplicates": summary.duplicates + len(already) + found.repeated,
              "rejected": len(found.rejected), "near_duplicates": len(pairs)}
    job.status, job.progress, job.finished_at = "finished", 1.0, now
    job.counts, job.rejected, job.near_duplicates = counts, found.rejected, pairs
    return counts


def _row_name(row: dict[str, Any]) -> str:
    return row.get("external_id") or row["data"].get("name") or "a task"


def insert_media(session: Session, images: Any, now: dt.datetime) -> None:
    """Media rows for stored images that have none yet (an image may already be known from elsewhere)."""
    images = list(images)
    known = set()
    for start in range(0, len(images), 900):
        chunk = [i.sha256 for i in images[start:start + 900]]
        known.update(session.scalars(select(Media.sha256).where(Media.sha256.in_(chunk))))
    session.add_all(Media(sha256=i.sha256, content_type=i.content_type, width=i.width, height=i.height,
                          size_bytes=i.size_bytes, phash=to_signed64(i.phash), created_at=now)
                    for i in images if i.sha256 not in known)
    session.flush()


def _project_media(session: Session, project_id: int, shas: list[str]) -> set[str]:
    present: set[str] = set()
    for start in range(0, len(shas), 900):
        present.update(session.scalars(select(Task.media_sha256).where(
            Task.project_id == project_id, Task.media_sha256.in_(shas[start:start + 900]))))
    return present


def _label_studio_rows(project: Project, found: Found, with_gold: bool) -> tuple[list[dict[str, Any]], set[str]]:
    """Rows from the Label Studio exports, and the uploaded images they use."""
    images = {path: label_studio.ImageRef(sha, found.images[sha].width, found.images[sha].height)
              for path, sha in found.paths.items()}
    schema = current_schema(project)
    rows, referenced = [], set()
    for name, raw in found.exports:
        try:
            exported = label_studio.parse_export(raw)
        except label_studio.NotLabelStudio as error:
            found.reject(name, f"not an image or a Label Studio export: {error}")
            continue
        for converted in label_studio.convert(exported, media_type=project.media_type, schema=schema,
                                              images=images, with_gold=with_gold):
            if converted.row is None:
                found.reject(f"{name}: {converted.label}", converted.reason or "refused")
                continue
            rows.append(converted.row)
            image = converted.row["data"].get("image")
            if image:
                referenced.add(image.removeprefix("/media/"))
    return rows, referenced


def _near_duplicates(session: Session, project_id: int, found: Found) -> list[dict[str, Any]]:
    """Pairs of similar-looking images: within this import, and against the project's earlier images."""
    new = {sha: image.phash for sha, image in found.images.items()}
    if not new:
        return []
    existing = {sha: to_unsigned64(phash) for sha, phash in session.execute(
        select(Media.sha256, Media.phash).join(Task, Task.media_sha256 == Media.sha256)
        .where(Task.project_id == project_id).distinct()) if sha not in new}
    names = {sha: image.name for sha, image in found.images.items()}
    return [{"image": f"/media/{a}", "name": names.get(a), "similar_to": f"/media/{b}", "similar_name": names.get(b),
             "distance": distance} for a, b, distance in near_duplicates(new, existing)]
