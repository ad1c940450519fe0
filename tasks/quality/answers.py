"""A project's counted answers as the arrays tasks.quality's arithmetic takes: what the agreement report
(report.py), the consensus (consensus.py) and the answer scores (scores.py) all start from.

Gold tasks are left out (their answers are scored against the gold, see tasks/gold.py), and so are the
annotations of disqualified annotators (`counted = false`) and retired tasks.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.models import Annotation, Media, Project, Task
from tasks.projects import derived_from_schema
from tasks.quality import agreement as ag
from tasks.schema import LabelSchema


def num(value: float | None, digits: int = 6) -> float | None:
    """A JSON number or null: never NaN or infinity (which JSON cannot carry)."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


@dataclass(frozen=True)
class Labels:
    """The schema's labels as indices 0..V-1 in depth-first order, so answers can be arrays of ints.

    ids: label id per index; index: label id -> its index; parent: per index, the parent's index (-1 at the top).
    """

    ids: list[str]
    index: dict[str, int]
    parent: np.ndarray

    @classmethod
    def of(cls, schema: LabelSchema) -> Labels:
        ids = list(schema.labels)
        index = {label: n for n, label in enumerate(ids)}
        parent = np.array([index[schema.labels[i].parent_id] if schema.labels[i].parent_id else -1 for i in ids],
                          dtype=np.int64)
        return cls(ids, index, parent)

    @property
    def deep(self) -> bool:
        """Whether the tree has more than one level (then a genus for its species is a partial disagreement)."""
        return bool((self.parent >= 0).any())

    @cached_property
    def taxonomy(self) -> ag.Taxonomy:
        return ag.Taxonomy(self.parent)

    @cached_property
    def allowed(self) -> np.ndarray:
        """Labels an unsure answer may back off to: not the only top-level label, which every answer is under."""
        allowed = np.ones(len(self.ids), dtype=bool)
        roots = np.flatnonzero(self.parent < 0)
        if len(roots) == 1:
            allowed[roots] = False
        return allowed


def labels_of(project: Project) -> Labels:
    """The project's labels as arrays: built once per schema version and process, in the same cache entry as
    the parsed schema (a taxonomy may have thousands of labels; one cache, evicted together)."""
    return derived_from_schema(project, Labels.of)


@dataclass(frozen=True)
class Collected:
    """A project's (or one task's) counted, non-gold answers as arrays: unit = task, coder = annotator.

    task_ids: task id per unit; user_ids: user id per coder; results: (unit, coder, result) per answer, in
    task then user order.
    """

    task_ids: list[int]
    user_ids: list[int]
    results: list[tuple[int, int, dict]]

    @property
    def size(self) -> int:
        return len(self.results)


def collect(session: Session, project_id: int, task_id: int | None = None, *, native_only: bool = False) -> Collected:
    """The answers the project's quality covers (one task's with `task_id`), read in batches; with `native_only`,
    only answers given here (imported ones, which have no lease, left out: what pay is measured against)."""
    query = _counted(project_id)
    if task_id is not None:
        query = query.where(Annotation.task_id == task_id)
    if native_only:
        query = query.where(Annotation.assignment_id.is_not(None))
    return _collected(session.execute(query.execution_options(yield_per=5000)))


def collect_each(session: Session, project_id: int, task_ids: set[int]) -> dict[int, Collected]:
    """Per task of `task_ids` with counted answers, what collect(task_id=...) reads for it, in one pass over the
    project's answers rather than a query per task."""
    out = {}
    rows = session.execute(_counted(project_id).execution_options(yield_per=5000))
    for task_id, answers in itertools.groupby(rows, key=lambda row: row[0]):
        if task_id in task_ids:
            out[task_id] = _collected(answers)
    return out


def _counted(project_id: int):
    """The project's counted answers on non-gold, unretired tasks: (task, user, result), in task then user order."""
    return (select(Annotation.task_id, Annotation.user_id, Annotation.result)
            .join(Task, Task.id == Annotation.task_id)
            .where(Annotation.project_id == project_id, Annotation.counted.is_(True), Task.is_gold.is_(False),
                   Task.status != "retired")
            .order_by(Annotation.task_id, Annotation.user_id))


def _collected(rows) -> Collected:
    units: dict[int, int] = {}
    coders: dict[int, int] = {}
    results = []
    for task, user, result in rows:
        unit = units.setdefault(task, len(units))
        coder = coders.setdefault(user, len(coders))
        results.append((unit, coder, result))
    return Collected(list(units), list(coders), results)


@dataclass(frozen=True)
class Classification:
    """Whole-item answers as compact values, so every table is sized by the labels in use, not by a taxonomy
    of thousands.

    unit, coder: per answer, its task and annotator; value: per answer, a compact label index 0..K-1 over the
    K labels actually chosen (single-label) or an index into `sets` (multi-label); classes: compact -> schema
    label index (single-label; empty for multi-label); sets: the label sets chosen (multi-label only).
    """

    unit: np.ndarray
    coder: np.ndarray
    value: np.ndarray
    classes: np.ndarray
    sets: list[frozenset]

    @property
    def n_values(self) -> int:
        return len(self.sets) if self.sets else len(self.classes)


def classification(data: Collected, labels: Labels, multi_label: bool) -> Classification:
    """The answers that name labels, as a Classification (multi-label sets compared whole)."""
    rows = [(u, c, r["labels"]) for u, c, r in data.results if r.get("labels")]
    unit = np.array([u for u, _, _ in rows], dtype=np.int64)
    coder = np.array([c for _, c, _ in rows], dtype=np.int64)
    if not multi_label:
        value = np.array([labels.index.get(chosen[0], -1) for _, _, chosen in rows], dtype=np.int64)
        keep = value >= 0  # a label that left the schema since
        classes, compact = np.unique(value[keep], return_inverse=True)
        return Classification(unit[keep], coder[keep], compact.astype(np.int64), classes, [])
    sets: dict[frozenset, int] = {}
    value = np.array([sets.setdefault(frozenset(chosen), len(sets)) for _, _, chosen in rows], dtype=np.int64)
    return Classification(unit, coder, value, np.zeros(0, dtype=np.int64), list(sets))


def distance(labels: Labels, c: Classification, taxonomy: bool) -> ag.Distance:
    """The distance between compact values: the taxonomy's between their labels, or nominal."""
    if not taxonomy:
        return ag.nominal()
    full = labels.taxonomy.distance()
    return lambda a, b: full(c.classes[a], c.classes[b])


def image_scales(session: Session, project_id: int, data: Collected) -> dict[int, float]:
    """Per unit, sqrt of its image's area: the scale keypoint distances are measured against (units whose image
    size is unknown are left out)."""
    query = select(Task.id, Media.width * Media.height).join(Media, Media.sha256 == Task.media_sha256).where(
        Task.project_id == project_id)
    if len(data.task_ids) == 1:
        query = query.where(Task.id == data.task_ids[0])
    sizes = dict(session.execute(query).all())
    return {unit: float(np.sqrt(sizes[task_id])) for unit, task_id in enumerate(data.task_ids)
            if sizes.get(task_id)}
