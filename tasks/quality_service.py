"""Quality for a project: gathers its counted annotations into arrays and runs tasks.quality on them.

What an owner reads at GET /projects/{id}/agreement and /tasks/{id}/consensus. Flushes, never commits.
Gold tasks are left out (their answers are scored against the gold, see tasks/gold.py), and so are the
annotations of disqualified annotators (`counted = false`) and retired tasks.

Classification: Krippendorff's alpha uses the taxonomy distance when the label tree has more than one level
(a genus for its species is a partial disagreement), else the nominal one; the nominal alpha is reported
too. Multi-label answers are compared as whole sets (nominal), and per label as "chosen or not". Truth
inference follows the project's `aggregation`: Dawid-Skene, or majority vote; Dawid-Skene estimates a
confusion matrix per annotator, classes^2 numbers each, so above DS_MAX_CLASSES classes it falls back to the
majority vote (and says so in `method`). Answers back off along the taxonomy below BACK_OFF_THRESHOLD.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Any

import numpy as np
from scipy import sparse
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates

from tasks.models import Annotation, Media, Project, Qualification, QualityReport, Task, TaskConsensus
from tasks.projects import current_schema, schema_derived
from tasks.quality import agreement as ag
from tasks.quality import inference as inf
from tasks.quality import structures as st
from tasks.schema import LabelSchema

DS_MAX_CLASSES = 64
BACK_OFF_THRESHOLD = 0.5  # without a project confidence_target
BOOTSTRAP_SAMPLES = 1000
COHEN_MATRIX_MAX = 100  # annotators
CONFUSION_TOP = 10  # labels in the confusion table: the most confused ones
GEOMETRY = ("bbox", "polygon", "keypoint")
PEER_KINDS = ("polygon", "keypoint", "span")  # answer_scores: scored against the other answers, not a consensus


def _num(value: float | None, digits: int = 6) -> float | None:
    """A JSON number or null: never NaN or infinity."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


@dataclass
class Labels:
    """The schema's labels as indices 0..V-1 in depth-first order, with each one's parent index."""

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
    """The project's labels as arrays, built once per schema version and process, in current_schema's cache."""
    return schema_derived(project, Labels.of)


@dataclass
class Collected:
    """A project's counted, non-gold annotations, as arrays (unit = task, coder = annotator)."""

    task_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    results: list[tuple[int, int, dict]] = field(default_factory=list)  # (unit, coder, result)

    @property
    def size(self) -> int:
        return len(self.results)


def collect(session: Session, project_id: int, task_id: int | None = None) -> Collected:
    query = (select(Annotation.task_id, Annotation.user_id, Annotation.result)
             .join(Task, Task.id == Annotation.task_id)
             .where(Annotation.project_id == project_id, Annotation.counted.is_(True), Task.is_gold.is_(False),
                    Task.status != "retired")
             .order_by(Annotation.task_id, Annotation.user_id))
    if task_id is not None:
        query = query.where(Annotation.task_id == task_id)
    data = Collected()
    units: dict[int, int] = {}
    coders: dict[int, int] = {}
    for task, user, result in session.execute(query.execution_options(yield_per=5000)):
        unit = units.setdefault(task, len(units))
        coder = coders.setdefault(user, len(coders))
        data.results.append((unit, coder, result))
    data.task_ids, data.user_ids = list(units), list(coders)
    return data


@dataclass
class Classification:
    """Single-label answers as compact values 0..K-1 over the K labels actually chosen (`classes` maps them to
    schema indices), so every table is sized by the labels in use, not by a taxonomy of thousands."""

    unit: np.ndarray
    coder: np.ndarray
    value: np.ndarray      # a compact label index, or (multi-label) an index into `sets`
    classes: np.ndarray    # compact -> schema label index (single-label)
    sets: list[frozenset]  # multi-label only

    @property
    def n_values(self) -> int:
        return len(self.sets) if self.sets else len(self.classes)


def classification(data: Collected, labels: Labels, multi_label: bool) -> Classification:
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


def project_threshold(project: Project) -> float:
    return (project.dynamic_overlap or {}).get("confidence_target", BACK_OFF_THRESHOLD)


def _infer(project: Project, c: Classification, n_units: int, n_coders: int) -> tuple[inf.Inference, str]:
    args = (c.unit, c.coder, c.value, n_units, n_coders, c.n_values)
    if project.aggregation == "dawid_skene" and c.n_values <= DS_MAX_CLASSES:
        return inf.dawid_skene(*args), "dawid_skene"
    return inf.majority_vote(*args), "majority"


def _distance(labels: Labels, c: Classification, taxonomy: bool) -> ag.Distance:
    """The distance between compact values: the taxonomy's between their labels, or nominal."""
    if not taxonomy:
        return ag.nominal()
    full = labels.taxonomy.distance()
    return lambda a, b: full(c.classes[a], c.classes[b])


def agreement_report(session: Session, project: Project, now: dt.datetime, *, interval: bool = True,
                     consensus_only: bool = False) -> dict[str, Any]:
    """Everything GET /projects/{id}/agreement shows, for the project's annotations as they are now.

    `interval=False` skips the bootstrap; `consensus_only=True` computes just the per-task consensus (and
    what it needs), for the task list and GET consensus.
    """
    schema = current_schema(project)
    labels = labels_of(project)
    data = collect(session, project.id)
    count, last = annotation_signature(session, project.id)
    report: dict[str, Any] = {
        "krippendorff_alpha": None, "alpha_interval": None, "alpha_distance": None, "nominal_alpha": None,
        "fleiss_kappa": None, "mean_pairwise_cohen_kappa": None, "cohen_kappa_matrix": None, "per_label": {},
        "per_annotator": [], "method": None, "annotations": data.size, "tasks": len(data.task_ids),
        "computed_at": now.isoformat(), "last_annotation_id": last}
    consensus: dict[int, dict[str, Any]] = {}
    per_task = np.bincount([unit for unit, _, _ in data.results], minlength=len(data.task_ids))
    agreement_with: dict[int, list[float]] = defaultdict(list)
    reliability: dict[int, float] = {}
    if "classify" in schema.tools:
        c = classification(data, labels, schema.multi_label)
        n_units, n_coders = len(data.task_ids), len(data.user_ids)
        taxonomy = labels.deep and not schema.multi_label
        distance = _distance(labels, c, taxonomy)
        if not consensus_only:
            report["alpha_distance"] = "taxonomy" if taxonomy else "nominal"
            report["krippendorff_alpha"] = _num(ag.krippendorff_alpha(c.unit, c.value, distance,
                                                                      n_values=c.n_values))
            bounds = ag.bootstrap_alpha(c.unit, c.value, distance, n_values=c.n_values, samples=BOOTSTRAP_SAMPLES,
                                        seed=project.id) if interval else None
            report["alpha_interval"] = [_num(bounds[0]), _num(bounds[1])] if bounds else None
            report["nominal_alpha"] = _num(ag.krippendorff_alpha(c.unit, c.value, "nominal", n_values=c.n_values))
            report["fleiss_kappa"] = _num(ag.fleiss_kappa(ag.fleiss_counts(c.unit, c.value, n_units, c.n_values)))
            kappa, _shared = ag.pairwise_cohen(c.unit, c.coder, c.value, n_coders, c.n_values)
            report["mean_pairwise_cohen_kappa"] = _num(np.nanmean(kappa)) if np.isfinite(kappa).any() else None
            if n_coders <= COHEN_MATRIX_MAX:  # beyond that the matrix outgrows a readable answer; the mean stays
                report["cohen_kappa_matrix"] = {"user_ids": data.user_ids,
                                                "kappa": [[_num(k) for k in row] for row in kappa]}
            report["per_label"] = _per_label(c, labels, schema.multi_label)
            report["confusion"] = None if schema.multi_label else _confusion(c, labels)
        if len(c.unit):
            result, method = _infer(project, c, n_units, n_coders)
            report["method"] = method
            answers, confidence = _answers(result, labels, c, schema.multi_label, project)
            agreement = _item_agreement(c, n_units)
            for unit, task_id in enumerate(data.task_ids):
                if answers[unit] is not None:
                    consensus[task_id] = {"result": {"labels": answers[unit]}, "confidence": _num(confidence[unit]),
                                          "method": method, "annotations": int(per_task[unit]),
                                          "agreement": _num(agreement[unit])}
            # Agreement with the consensus: 1 - distance to the inferred answer, on tasks with two or more answers.
            sizes = np.bincount(c.unit, minlength=n_units)
            best = result.answer[c.unit]
            counted = (sizes[c.unit] >= 2) & (best >= 0)
            scores = 1 - distance(c.value, np.maximum(best, 0))
            for coder, score in zip(c.coder[counted], scores[counted]):
                agreement_with[coder].append(float(score))
            reliability = {coder: float(result.reliability[coder]) for coder in np.unique(c.coder)}
    if not consensus_only:
        for kind in [k for k in GEOMETRY if k in schema.tools] + (["span"] if "span" in schema.tools else []):
            scales = _image_scales(session, project.id, data) if kind == "keypoint" else None
            report[f"{kind}_f1"] = _structure_f1(data, labels, kind, scales)
    if "bbox" in schema.tools:
        weights = np.array([reliability.get(coder, 1.0) for coder in range(len(data.user_ids))])
        for unit, objects in _box_consensus(data, labels, weights).items():
            entry = consensus.setdefault(data.task_ids[unit], {"result": {}, "confidence": None, "method": "clusters",
                                                                "agreement": None, "annotations": 0})
            entry["result"] = {**(entry["result"] or {}), "objects": objects}
            entry["annotations"] = int(per_task[unit])
            if entry["confidence"] is None and objects:
                entry["confidence"] = _num(min(o["confidence"] for o in objects))
    if not consensus_only:
        report["per_annotator"] = _per_annotator(session, project, data, agreement_with, reliability)
    report["consensus"] = consensus
    return report


def _answers(result: inf.Inference, labels: Labels, c: Classification, multi_label: bool, project: Project):
    """Per unit the answer as a list of label ids (None without one) and its confidence."""
    if multi_label:  # the most probable set of labels as a whole
        return [sorted(c.sets[a]) if a >= 0 else None for a in result.answer], result.confidence
    answer, confidence = inf.back_off(result.posterior, labels.taxonomy.ancestors[c.classes],
                                      project_threshold(project), labels.allowed)
    return [[labels.ids[a]] if a >= 0 else None for a in answer], confidence


def _item_agreement(c: Classification, n_units: int) -> np.ndarray:
    """Per unit, the share of ordered pairs of its answers that agree exactly (NaN with fewer than two)."""
    if len(c.unit) == 0:
        return np.full(n_units, np.nan)
    keys, counts = np.unique(c.unit * c.n_values + c.value, return_counts=True)
    same = np.bincount(keys // c.n_values, weights=counts * (counts - 1.0), minlength=n_units)
    sizes = np.bincount(c.unit, minlength=n_units).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sizes >= 2, same / (sizes * (sizes - 1)), np.nan)


def _confusion(c: Classification, labels: Labels, top: int = CONFUSION_TOP) -> dict[str, Any] | None:
    """Which labels two annotators of the same task gave when they disagreed, for the `top` labels most often
    in disagreement: `pairs[i][j]` (i != j) counts the pairs of answers to one task, one `labels[i]` and one
    `labels[j]`; `pairs[i][i]` the pairs that agreed on `labels[i]`. Sparse products, so a taxonomy of
    thousands of labels costs what its used labels cost."""
    if not len(c.unit):
        return None
    n_units = int(c.unit.max()) + 1
    counts = sparse.csr_matrix((np.ones(len(c.unit), dtype=np.int64), (c.unit, c.value)),
                               shape=(n_units, c.n_values))  # answers per task and label
    together = (counts.T @ counts).tocsr()  # sum over tasks of n_a * n_b
    totals = np.asarray(counts.sum(axis=0)).ravel()
    same = together.diagonal()
    disagreeing = np.asarray(together.sum(axis=1)).ravel() - same
    if not disagreeing.any():
        return None
    order = np.lexsort((np.arange(c.n_values), -disagreeing))  # most confused first, ties by label order
    chosen = [int(n) for n in order[:top] if disagreeing[n] > 0]
    block = together[chosen][:, chosen].toarray()
    for i, n in enumerate(chosen):
        block[i, i] = (same[n] - totals[n]) // 2  # unordered pairs of answers both giving the label
    return {"labels": [labels.ids[c.classes[n]] for n in chosen], "pairs": block.astype(int).tolist()}


def _per_label(c: Classification, labels: Labels, multi_label: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not multi_label:
        alphas = ag.per_label_alpha(c.unit, c.value, c.n_values)
        chosen = np.bincount(c.value, minlength=c.n_values)
        for n, full in enumerate(c.classes):
            out[labels.ids[full]] = {"alpha": _num(alphas[n]), "annotations": int(chosen[n])}
        return out
    for label in sorted(set().union(*c.sets)) if c.sets else []:
        member = np.array([label in s for s in c.sets], dtype=bool)
        binary = member[c.value].astype(np.int64) if len(c.value) else c.value
        if binary.sum():
            out[label] = {"alpha": _num(ag.krippendorff_alpha(c.unit, binary, "nominal", n_values=2)),
                          "annotations": int(binary.sum())}
    return out


def _image_scales(session: Session, project_id: int, data: Collected) -> dict[int, float]:
    """Per unit, sqrt of its image's area: the scale keypoint distances are measured against."""
    sizes = dict(session.execute(select(Task.id, Media.width * Media.height).join(
        Media, Media.sha256 == Task.media_sha256).where(Task.project_id == project_id)).all())
    return {unit: float(np.sqrt(sizes[task_id])) for unit, task_id in enumerate(data.task_ids)
            if sizes.get(task_id)}


def _structure_f1(data: Collected, labels: Labels, kind: str, scales: dict[int, float] | None) -> dict[str, Any]:
    items: dict[int, list] = defaultdict(list)
    for unit, coder, result in data.results:
        # Objects whose label has left the schema since are left out, as in classification.
        if kind == "span":
            objects = [dict(s, label=labels.index[s["label"]]) for s in result.get("spans", [])
                       if s.get("label") in labels.index]
        else:
            objects = [dict(o, label=labels.index[o["label"]]) for o in result.get("objects", [])
                       if o.get("tool") == kind and o.get("label") in labels.index]
        items[unit].append((coder, objects))
    if scales is not None:  # keypoints: only tasks whose image size is known
        items = {unit: given for unit, given in items.items() if unit in scales}
    scale = [scales[unit] for unit in items] if scales is not None else None
    summary = st.pairwise_structure_agreement(list(items.values()), kind=kind, scale=scale)
    alpha = ag.krippendorff_alpha(summary.unit, summary.value, "nominal", n_values=len(labels.ids))
    return {"mean_f1": _num(summary.mean_f1), "pairs": int(summary.pairs), "matched": int(summary.matched),
            "label_alpha": _num(alpha)}


def _box_consensus(data: Collected, labels: Labels, reliability: np.ndarray) -> dict[int, list[dict[str, Any]]]:
    """Per task, the boxes a majority of its annotators drew: reliability-weighted mean box, weighted label vote."""
    answers: dict[int, list[tuple[int, list]]] = defaultdict(list)
    for unit, coder, result in data.results:
        answers[unit].append((coder, [o for o in result.get("objects", []) if o.get("tool") == "bbox"]))
    out: dict[int, list[dict[str, Any]]] = {}
    for unit, given in answers.items():
        drawn = [(coder, o) for coder, objects in given for o in objects if o.get("label") in labels.index]
        if not drawn:
            out[unit] = []
            continue
        clusters = st.cluster_boxes(np.array([o["bbox"] for _, o in drawn], dtype=np.float64),
                                    np.array([coder for coder, _ in drawn]),
                                    np.array([labels.index[o["label"]] for _, o in drawn]), reliability,
                                    quorum=len(given) // 2 + 1, n_annotators=len(given))
        out[unit] = [{"tool": "bbox", "label": labels.ids[int(label)], "bbox": [round(float(v), 2) for v in box],
                      "confidence": _num(confidence), "annotators": int(support)}
                     for box, label, confidence, support in zip(clusters.box, clusters.label, clusters.confidence,
                                                               clusters.support)]
    return out


def _per_annotator(session: Session, project: Project, data: Collected, agreement_with: dict[int, list[float]],
                   reliability: dict[int, float]) -> list[dict[str, Any]]:
    counts = np.bincount([coder for _, coder, _ in data.results], minlength=len(data.user_ids))
    standing = {q.user_id: q for q in session.scalars(select(Qualification).where(
        Qualification.project_id == project.id))}
    rows = []
    for coder, user_id in enumerate(data.user_ids):
        q = standing.get(user_id)
        scores = agreement_with.get(coder, [])
        rows.append({"user_id": user_id, "annotations": int(counts[coder]),
                     "agreement_with_consensus": _num(float(np.mean(scores))) if scores else None,
                     "gold_accuracy": _num(q.gold_credit / q.gold_answered) if q and q.gold_answered else None,
                     "reliability": _num(reliability.get(coder))})
    return sorted(rows, key=lambda row: row["user_id"])


def task_consensus(session: Session, project: Project, task: Task) -> dict[str, Any]:
    """One task's consensus from its own answers alone: majority vote (with taxonomy back-off)."""
    schema = current_schema(project)
    labels = labels_of(project)
    data = collect(session, project.id, task_id=task.id)
    out: dict[str, Any] = {"task_id": task.id, "result": None, "confidence": None, "method": "majority",
                           "agreement": None, "annotations": data.size}
    if "classify" in schema.tools and data.size:
        c = classification(data, labels, schema.multi_label)
        if len(c.unit):
            result = inf.majority_vote(c.unit, c.coder, c.value, 1, len(data.user_ids), c.n_values)
            answers, confidence = _answers(result, labels, c, schema.multi_label, project)
            out["result"] = {"labels": answers[0]} if answers[0] else None
            out["confidence"] = _num(confidence[0])
            out["agreement"] = _num(_item_agreement(c, 1)[0])
    if "bbox" in schema.tools and data.size:
        objects = _box_consensus(data, labels, np.ones(len(data.user_ids))).get(0, [])
        out["result"] = {**(out["result"] or {}), "objects": objects}
        if out["confidence"] is None and objects:
            out["confidence"] = _num(min(o["confidence"] for o in objects))
        out["method"] = out["method"] if "classify" in schema.tools else "clusters"
    return out


def annotation_signature(session: Session, project_id: int) -> tuple[int, int]:
    """(how many, the newest id) of the annotations the project's quality covers: counted, on non-gold,
    unretired tasks. A report is fresh while both are unchanged (a count alone misses one task retired
    and one answer arriving)."""
    count, last = session.execute(select(func.count(), func.max(Annotation.id)).select_from(Annotation).join(
        Task, Task.id == Annotation.task_id).where(
        Annotation.project_id == project_id, Annotation.counted.is_(True), Task.is_gold.is_(False),
        Task.status != "retired")).one()
    return int(count or 0), int(last or 0)


def annotation_count(session: Session, project_id: int) -> int:
    return annotation_signature(session, project_id)[0]


def is_fresh(report: QualityReport | None, signature: tuple[int, int]) -> bool:
    return report is not None and (report.annotations, report.body.get("last_annotation_id", -1)) == signature


def split_report(report: dict[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The report as the API shows it, and its per-task consensus (kept apart: it grows with the project)."""
    body = {key: value for key, value in report.items() if key != "consensus"}
    return body, report["consensus"]


def store_report(session: Session, project: Project, report: dict[str, Any], now: dt.datetime) -> QualityReport:
    """Keep a computed report and every task's consensus (replacing the previous ones)."""
    body, consensus = split_report(report)
    # Two workers may store the first report at once: the row is made if missing, then locked.
    session.execute(insert_skipping_duplicates(session, QualityReport.__table__).values(
        project_id=project.id, annotations=0, body={}, computed_at=now))
    stored = session.get(QualityReport, project.id, with_for_update=True, populate_existing=True)
    if stored.body.get("last_annotation_id", -1) > body["last_annotation_id"]:
        return stored  # a newer computation has stored already: keep it
    stored.annotations, stored.body, stored.computed_at = report["annotations"], body, now
    session.execute(delete(TaskConsensus).where(TaskConsensus.project_id == project.id))
    rows = [{"task_id": task_id, "project_id": project.id, "result": entry["result"],
             "confidence": entry["confidence"], "method": entry["method"], "agreement": entry.get("agreement"),
             "annotations": entry["annotations"], "computed_at": now} for task_id, entry in consensus.items()]
    for start in range(0, len(rows), 1000):
        session.execute(insert(TaskConsensus), rows[start:start + 1000])
    session.flush()
    return stored


def stored_consensus(session: Session, task: Task) -> TaskConsensus | None:
    """The last job's consensus for the task, if no counted annotation has arrived since."""
    row = session.get(TaskConsensus, task.id)
    if row is None:
        return None
    current = session.scalar(select(func.count()).select_from(Annotation).where(
        Annotation.task_id == task.id, Annotation.counted.is_(True)))
    return row if row.annotations == current else None


def answer_confidence(schema: LabelSchema, results: list[dict], threshold: float) -> float:
    """The confidence of one task's consensus from its answers: the majority share, backing off along the
    taxonomy below `threshold` (what dynamic overlap compares with its confidence target); 0 without answers.

    Runs inside submit, so it walks only the parents of the labels answered, never the whole taxonomy.
    """
    chosen = [r["labels"] for r in results if r.get("labels")]
    if schema.multi_label:
        values = [frozenset(c) for c in chosen]
        return max(values.count(v) for v in set(values)) / len(values) if values else 0.0
    answered = [c[0] for c in chosen if c[0] in schema.labels]
    if not answered:
        return 0.0
    mass: dict[str, float] = defaultdict(float)
    for label in answered:
        for node in schema.labels[label].path:  # the label and its ancestors
            mass[node] += 1 / len(answered)
    best = max(set(answered), key=lambda label: (answered.count(label), label))
    roots = [label for label in schema.labels.values() if label.parent_id is None]
    for node in reversed(schema.labels[best].path):  # the best label, then up its ancestors
        backing_off = node != best
        if backing_off and len(roots) == 1 and schema.labels[node].parent_id is None:
            break  # never the only top-level label: every answer is under it
        if mass[node] >= threshold:
            return mass[node]
    return mass[best]


def consensus_for(session: Session, project: Project, tasks: list[Task], on_request_limit: int,
                  now: dt.datetime) -> dict[int, dict[str, Any]]:
    """The consensus of each of `tasks` that has answers, the way GET consensus shows it.

    Small projects: inferred over the whole project now (Dawid-Skene needs everyone's answers). Large ones:
    the quality job's stored consensus where no answer has arrived since, else the task's own majority.
    """
    if not tasks:
        return {}
    if annotation_count(session, project.id) <= on_request_limit:
        report = agreement_report(session, project, now, interval=False, consensus_only=True)
        found = {task.id: report["consensus"][task.id] for task in tasks if task.id in report["consensus"]}
    else:
        ids = [task.id for task in tasks]
        counts = dict(session.execute(select(Annotation.task_id, func.count()).where(
            Annotation.task_id.in_(ids), Annotation.counted.is_(True)).group_by(Annotation.task_id)).all())
        found = {}
        for row in session.scalars(select(TaskConsensus).where(TaskConsensus.task_id.in_(ids))):
            if row.annotations == counts.get(row.task_id, 0):
                found[row.task_id] = {"result": row.result, "confidence": row.confidence, "method": row.method,
                                      "agreement": row.agreement, "annotations": row.annotations}
    for task in tasks:
        if task.id not in found and task.submitted:  # an unanswered task has nothing to infer: no query
            own = task_consensus(session, project, task)
            if own["result"] is not None:
                found[task.id] = {key: value for key, value in own.items() if key != "task_id"}
    return found


def stale_large_projects(session: Session, limit: int) -> list[int]:
    """Projects above the on-request limit whose stored report does not cover their annotations as they are."""
    large = session.scalars(select(Annotation.project_id).group_by(Annotation.project_id)
                            .having(func.count() > limit).order_by(Annotation.project_id)).all()
    stored = {r.project_id: r for r in session.scalars(select(QualityReport).where(QualityReport.project_id.in_(large)))}
    return [project_id for project_id in large
            if not is_fresh(stored.get(project_id), annotation_signature(session, project_id))]


def answer_scores(session: Session, project: Project, task: Task) -> dict[int, float]:
    """How right each counted answer on a task is, 0..1 (what the agreement bonus pays for): the mean of one
    part per kind of answer the project's schema asks for.

    - classify: 1 - the taxonomy distance of its label to the consensus label (nominal: 1 or 0; multi-label:
      1 when the whole set is the consensus set), when both it and the consensus have labels;
    - bbox: its IoU-matched F1 against the consensus boxes (`task_consensus`), when someone on the task drew one;
    - polygon, keypoint, span: there is no consensus geometry for these, so peer agreement: the mean of its
      matched F1 (IoU >= 0.5; keypoints by similarity >= 0.5, tasks.quality.structures) against each other
      counted answer on the task, taken one pair at a time, as the agreement report's `<kind>_f1` does.
      There is no such part for an answer alone on its task, for a tool no answer on the task used (a
      classify + span project whose annotators mark no spans is scored on its labels alone), nor for
      keypoints on an image of unknown size (keypoint distance is measured against sqrt(image area)).

    Labels play no part in the geometry F1, as for boxes and the report's mean F1: a shape in the right place
    with another label still matches (the report measures label agreement separately, as an alpha over the
    matched pairs). As in the report, objects and spans whose label has since left the schema are left out.
    Once someone on the task used the tool, drawing nothing counts: two answers that both drew none of that
    kind agree on it (F1 1), one that drew and one that did not disagree (F1 0). An answer with no part at
    all scores 0; a gold task's answers score their gold score. Queries: one for the answers, one for the
    task's consensus (classify or bbox only) and one for the image size (only when keypoints are compared).
    """
    rows = session.execute(select(Annotation.id, Annotation.result, Annotation.gold_score).where(
        Annotation.task_id == task.id, Annotation.counted.is_(True)).order_by(Annotation.id)).all()
    if task.is_gold:
        return {annotation_id: float(gold or 0.0) for annotation_id, _, gold in rows}
    schema = current_schema(project)
    labels = labels_of(project)
    needs_consensus = bool(rows) and ("classify" in schema.tools or "bbox" in schema.tools)
    consensus = (task_consensus(session, project, task)["result"] or {}) if needs_consensus else {}
    distance = labels.taxonomy.distance() if labels.deep and not schema.multi_label else ag.nominal()
    peer: dict[str, list[float]] = {}  # kind -> per row, its mean F1 against the other rows
    for kind in [kind for kind in PEER_KINDS if kind in schema.tools and len(rows) >= 2]:
        drawn = _drawn([result for _, result, _ in rows], labels, kind)
        scale = _image_scale(session, task) if kind == "keypoint" and any(drawn) else None
        if any(drawn) and (kind != "keypoint" or scale is not None):
            peer[kind] = _peer_f1(drawn, kind, scale)
    # As for the peer kinds: no box part when nobody on the task drew a box (else a wrong label earns half).
    boxes_used = "bbox" in schema.tools and any(o.get("tool") == "bbox" for _, result, _ in rows
                                                for o in result.get("objects", []))
    scores: dict[int, float] = {}
    for n, (annotation_id, result, _) in enumerate(rows):
        parts = []
        if "classify" in schema.tools and consensus.get("labels") and result.get("labels"):
            if schema.multi_label:
                parts.append(float(sorted(result["labels"]) == sorted(consensus["labels"])))
            elif result["labels"][0] in labels.index and consensus["labels"][0] in labels.index:
                a, b = labels.index[result["labels"][0]], labels.index[consensus["labels"][0]]
                parts.append(float(1 - distance(np.array([a]), np.array([b]))[0]))
        if boxes_used and "objects" in consensus:
            mine = [o for o in result.get("objects", []) if o.get("tool") == "bbox"]
            parts.append(float(st.matched_f1(mine, consensus["objects"], kind="bbox").f1))
        parts.extend(f1s[n] for f1s in peer.values())
        scores[annotation_id] = sum(parts) / len(parts) if parts else 0.0
    return scores


def _image_scale(session: Session, task: Task) -> float | None:
    """sqrt of the task's image area (as in _image_scales), None when the size is not known."""
    if task.media_sha256 is None:
        return None
    area = session.scalar(select(Media.width * Media.height).where(Media.sha256 == task.media_sha256))
    return float(np.sqrt(area)) if area and area > 0 else None


def _drawn(results: list[dict], labels: Labels, kind: str) -> list[list[dict]]:
    """Each answer's spans or objects of one tool, without those whose label has left the schema."""
    if kind == "span":
        return [[s for s in r.get("spans", []) if s.get("label") in labels.index] for r in results]
    return [[o for o in r.get("objects", []) if o.get("tool") == kind and o.get("label") in labels.index]
            for r in results]


def _peer_f1(drawn: list[list[dict]], kind: str, scale: float | None) -> list[float]:
    """Per answer (two or more), its mean matched F1 against each of the others: one match per pair."""
    totals = [0.0] * len(drawn)
    for a, b in combinations(range(len(drawn)), 2):
        f1 = st.matched_f1(drawn[a], drawn[b], kind=kind, scale=scale).f1
        totals[a] += f1
        totals[b] += f1
    return [total / (len(drawn) - 1) for total in totals]
