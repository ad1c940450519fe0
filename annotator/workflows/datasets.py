"""Data in and out: starting an import of uploaded files, asking for an export; each queues its job after the
commit."""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import unicodedata
from typing import Protocol

from sqlalchemy.orm import Session

from annotator import queue
from annotator.errors import InvalidInput
from annotator.users.models import User
from tasks import answer_import, exports
from tasks.models import Export, Import, Project
from tasks.storage import LocalStorage


class Upload(Protocol):
    """An uploaded file as the web layer hands it over (werkzeug's FileStorage is one)."""

    filename: str | None

    def save(self, dst: str) -> None: ...


def start_import(db: Session, storage: LocalStorage, project: Project, user: User, uploads: list[Upload],
                 options: dict) -> Import:
    """Store the uploads and queue the import of them; refused when every file is empty (nothing kept)."""
    job = Import(project_id=project.id, created_by=user.id, status="queued", progress=0.0, options=options,
                 files=[], counts={}, rejected=[], near_duplicates=[])
    db.add(job)
    db.flush()
    job.files = _store_uploads(storage, job.id, uploads)
    if not any(f["size"] for f in job.files):
        _discard(storage, job.files)
        raise InvalidInput({"files": ["Every uploaded file is empty."]})
    queue.enqueue_import(db, job.id)
    return job


def start_answer_import(db: Session, storage: LocalStorage, project: Project, user: User, body: bytes,
                        mimetype: str, create_tasks: bool) -> Import:
    """Keep a large file of answers and queue its import (tasks.answer_import.run_job)."""
    job = Import(project_id=project.id, created_by=user.id, status="queued", progress=0.0,
                 options={"kind": "answers", "mimetype": mimetype, "create_tasks": create_tasks},
                 files=[], counts={}, rejected=[], near_duplicates=[])
    db.add(job)
    db.flush()
    key = answer_import.upload_key(job.id)
    storage.put(key, body)
    job.files = [{"key": key, "name": "answers", "size": len(body)}]
    queue.enqueue_import(db, job.id)
    return job


def display_name(filename: str | None, index: int) -> str:
    """The upload's name for reports: its last path part, printable, at most 255 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:255] or f"file-{index + 1}"


def _store_uploads(storage: LocalStorage, import_id: int, uploads: list[Upload]) -> list[dict]:
    stored: list[dict] = []
    try:
        for index, upload in enumerate(uploads):
            key = f"imports/{import_id}/{index}"
            with tempfile.TemporaryDirectory() as folder:  # streamed to disk: memory stays flat for big uploads
                path = os.path.join(folder, "upload")
                upload.save(path)
                size = os.path.getsize(path)
                storage.put_file(key, path)
            stored.append({"name": display_name(upload.filename, index), "size": size, "key": key})
    except BaseException:
        _discard(storage, stored)
        raise
    return stored


def _discard(storage: LocalStorage, files: list[dict]) -> None:
    for stored in files:
        storage.delete(stored["key"])


def request_export(db: Session, project: Project, user: User, format_: str, include: str,
                   now: dt.datetime) -> Export:
    """The export of the project's data as it is now: the one already made or under way for the same data, or a
    new one queued."""
    export, created = exports.request(db, project, user, format_, include, now)
    if created:
        queue.enqueue_export(db, export.id, export.attempts)
    return export
