"""Reading a project for an export (tasks/exports.py): keyset pages of tasks in id order, each with its
answers, images, verdicts, credits and consensus, made into the `ExportTask`s the format writers take.

Fast by its structure (tasks/README.md, Exports): a thread reads the next page while the current one is built
and written (`read_ahead`); rows are Core tuples, unpacked as tuples; each answer's result stays its stored
JSON text, with its first label beside it for the majority fallback; the cycle collector runs rarely during
the loop (`few_collections`). Anything added here per answer is paid a million times: keep it out.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import posixpath
import threading
from collections.abc import Callable, Iterator
from queue import Empty, Full, Queue
from typing import Any, NamedTuple

from sqlalchemy import String, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from tasks.formats import base
from tasks.formats.base import ExportAnnotation, ExportTask
from tasks.models import Annotation, Media, Project, Review, Task, TaskConsensus
from tasks.quality.consensus import STORED, Consensus, Signature, fixes, is_fresh, reviewed

BATCH = 1000  # tasks per page

# (session, project id, task ids after, up to) -> {annotation id: net minor units its answer earned}
Credits = Callable[[Session, int, int, int], dict[int, int]]


def pseudonym(secret: bytes, project_id: int, user_id: int) -> str:
    """A stable annotator id for one project's exports that does not reveal who it is."""
    return "a_" + hmac.new(secret, f"{project_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


class _Raw(NamedTuple):
    """One page as the database gave it."""

    tasks: list
    answers: list
    stored: list  # the quality worker's stored consensus rows, in Consensus's field order
    earned: dict[int, int]
    fixes: dict[int, tuple[dict, int]]  # task id -> its reviewed result and who fixed it (tasks.reviews)


class Pages:
    """The project's tasks, one page at a time, each with what the writers need.

    `consensus`: every task's, computed once for the whole export (small projects); None to take the quality
    worker's stored consensus where fresh, else each task's own majority (large projects).
    """

    def __init__(self, session: Session, project: Project, include: str, secret: bytes, credits: Credits | None,
                 consensus: dict[int, Consensus] | None) -> None:
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
        while True:
            tasks = self.connection.execute(
                select(Task.id, Task.external_id, Task.data, Task.status, Task.is_gold, Task.media_sha256,
                       Media.sha256, Media.width, Media.height, Media.content_type)
                .outerjoin(Media, Media.sha256 == Task.media_sha256)
                .where(Task.project_id == self.project.id, Task.id > after).order_by(Task.id).limit(BATCH)).all()
            if not tasks:
                return
            last = tasks[-1].id
            yield _Raw(tasks, self._answers(after, last), self._stored(after, last), self._earned(after, last),
                       fixes(self.session, project_id=self.project.id, after=after, last=last))
            after = last

    def _answers(self, after: int, last: int) -> list:
        """The answers to the page's tasks, with their verdicts.

        The query takes the page's task id range (after, last], not a list of ids: a thousand bind parameters
        cost more to send than the rows they fetch. `project_id + 0`: so the planner walks the (task_id,
        user_id) index over the range instead of every answer of the project by (project_id, user_id) once
        per page (SQLite chose the latter: quadratic). The result comes as its stored JSON text (formats that
        copy it never parse it: parsing was a third of the time) with its first whole-item label beside it,
        all the task's own majority needs."""
        return self.connection.execute(
            select(Annotation.id, Annotation.task_id, Annotation.user_id, cast(Annotation.result, Text),
                   Annotation.result[("labels", 0)].as_string(), Annotation.lead_time_ms,
                   Annotation.schema_version, self.created_iso, Annotation.counted, Annotation.gold_score,
                   Review.verdict)
            .outerjoin(Review, Review.annotation_id == Annotation.id)
            .where((Annotation.project_id + 0) == self.project.id, Annotation.task_id > after,
                   Annotation.task_id <= last)
            .order_by(Annotation.task_id, Annotation.id)).all()  # one fetchall, not a fetch a row

    def _stored(self, after: int, last: int) -> list:
        """The quality worker's stored consensus of the page's tasks (none when computed for the export)."""
        if self.consensus is not None:
            return []
        return self.connection.execute(select(*STORED).where(
            TaskConsensus.project_id == self.project.id, TaskConsensus.task_id > after,
            TaskConsensus.task_id <= last)).all()

    def _earned(self, after: int, last: int) -> dict[int, int]:
        """What the ledger paid each answer of the page (only exports with every answer show it)."""
        return self.credits(self.session, self.project.id, after, last) \
            if self.credits and self.include == "all" else {}

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

    def _consensus(self, raw: _Raw, tally: dict[int, int],
                   counted: dict[int, list[str | None]]) -> dict[int, dict[str, Any]]:
        """Each task's consensus as the writers read it: the one computed for the whole export, else the
        quality worker's stored one where fresh, else the task's own majority."""
        if self.consensus is not None:
            found = {t.id: self.consensus[t.id] for t in raw.tasks if t.id in self.consensus}
        else:
            found = _fresh_or_majority(raw.stored, tally, counted)
        shown = {task_id: value.as_dict(with_task_id=False) for task_id, value in found.items()}
        for task_id, (fix, reviewer_id) in raw.fixes.items():
            # A reviewer's fix is the task's result, marked reviewed, its reviewer named as annotators are.
            shown[task_id] = {**reviewed(found.get(task_id), task_id, fix).as_dict(with_task_id=False),
                              "reviewed": True, "reviewer": self._name(reviewer_id)}
        return shown

    def _name(self, user_id: int) -> str:
        name = self.names.get(user_id)
        if name is None:
            name = self.names[user_id] = pseudonym(self.secret, self.project.id, user_id)
        return name


def _fresh_or_majority(stored: list, tally: dict[int, int],
                       counted: dict[int, list[str | None]]) -> dict[int, Consensus]:
    """The stored consensus of each task where fresh (made from as many answers as count now), else the
    task's own majority over its answers' first labels."""
    found = {}
    for row in stored:
        kept = Consensus(*row)
        if is_fresh(kept.signature, Signature(tally.get(kept.task_id, 0))):
            found[kept.task_id] = kept
    for task_id, first_labels in counted.items():
        if task_id not in found:
            majority = _majority(task_id, first_labels)
            if majority is not None:
                found[task_id] = majority
    return found


def _majority(task_id: int, first_labels: list[str | None]) -> Consensus | None:
    """A task's own majority over whole-item labels (each answer's first; None for an answer without one): the
    fallback where no fresh project-wide consensus is kept. Its agreement is the winner's share."""
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
    return Consensus(task_id, {"labels": [winner]}, share, "majority_vote", share, len(first_labels))


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


def read_ahead(pages: Iterator, depth: int = 2) -> Iterator:
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
def few_collections(young: int = 100_000):
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
