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
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from tasks.models import Annotation, Media, Project, Qualification, QualityReport, Task, TaskConsensus
from tasks.projects import current_schema
from tasks.quality import agreement as ag
from tasks.quality import inference as inf
from tasks.quality import structures as st
from tasks.schema import LabelSchema

DS_MAX_CLASSES = 64
BACK_OFF_THRESHOLD = 0.5  # without a project confidence_target
BOOTSTRAP_SAMPLES = 1000
COHEN_MATRIX_MAX = 100  # annotators
GEOMETRY = ("bbox", "polygon", "keypoint")


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
    unit: np.ndarray
    coder: np.ndarray
    value: np.ndarray      # a label index, or (multi-label) an index into `sets`
    sets: list[frozenset]  # multi-label only


def classification(data: Collected, labels: Labels, multi_label: bool) -> Classification:
    rows = [(u, c, r["labels"]) for u, c, r in data.results if r.get("labels")]
    unit = np.array([u for u, _, _ in rows], dtype=np.int64)
    coder = np.array([c for _, c, _ in rows], dtype=np.int64)
    if not multi_label:
        value = np.array([labels.index.get(chosen[0], -1) for _, _, chosen in rows], dtype=np.int64)
        keep = value >= 0  # a label that left the schema since
        return Classification(unit[keep], coder[keep], value[keep], [])
    sets: dict[frozenset, int] = {}
    value = np.array([sets.setdefault(frozenset(chosen), len(sets)) for _, _, chosen in rows], dtype=np.int64)
    return Classification(unit, coder, value, list(sets))


def project_threshold(project: Project) -> float:
    return (project.dynamic_overlap or {}).get("confidence_target", BACK_OFF_THRESHOLD)


def _infer(project: Project, c: Classification, n_units: int, n_coders: int, n_values: int) -> tuple[inf.Inference,
                                                                                                       str]:
    args = (c.unit, c.coder, c.value, n_units, n_coders, n_values)
    if project.aggregation == "dawid_skene" and n_values <= DS_MAX_CLASSES:
        return inf.dawid_skene(*args), "dawid_skene"
    return inf.majority_vote(*args), "majority"


def agreement_report(session: Session, project: Project, now: dt.datetime, *, interval: bool = True) -> dict[str, Any]:
    """Everything GET /projects/{id}/agreement shows, for the project's annotations as they are now.

    `interval=False` skips the bootstrap (when only the consensus is wanted).
    """
    schema = current_schema(project)
    labels = Labels.of(schema)
    data = collect(session, project.id)
    report: dict[str, Any] = {
        "krippendorff_alpha": None, "alpha_interval": None, "alpha_distance": None, "nominal_alpha": None,
        "fleiss_kappa": None, "mean_pairwise_cohen_kappa": None, "cohen_kappa_matrix": None, "per_label": {},
        "per_annotator": [],
        "method": None, "annotations": data.size, "tasks": len(data.task_ids), "computed_at": now.isoformat()}
    consensus: dict[int, dict[str, Any]] = {}
    per_task = np.bincount([unit for unit, _, _ in data.results], minlength=len(data.task_ids))
    agreement_with: dict[int, list[float]] = defaultdict(list)
    reliability: dict[int, float] = {}
    if "classify" in schema.tools:
        c = classification(data, labels, schema.multi_label)
        n_units, n_coders = len(data.task_ids), len(data.user_ids)
        n_values = len(c.sets) if schema.multi_label else len(labels.ids)
        taxonomy = labels.deep and not schema.multi_label
        distance = ag.Taxonomy(labels.parent).distance() if taxonomy else "nominal"
        report["alpha_distance"] = "taxonomy" if taxonomy else "nominal"
        report["krippendorff_alpha"] = _num(ag.krippendorff_alpha(c.unit, c.value, distance, n_values=n_values))
        bounds = ag.bootstrap_alpha(c.unit, c.value, distance, n_values=n_values, samples=BOOTSTRAP_SAMPLES,
                                    seed=project.id) if interval else None
        report["alpha_interval"] = [_num(bounds[0]), _num(bounds[1])] if bounds else None
        report["nominal_alpha"] = _num(ag.krippendorff_alpha(c.unit, c.value, "nominal", n_values=n_values))
        counts = ag.fleiss_counts(c.unit, c.value, n_units, n_values).toarray() if len(c.unit) else np.zeros((0, 1))
        report["fleiss_kappa"] = _num(ag.fleiss_kappa(counts))
        kappa, _shared = ag.pairwise_cohen(c.unit, c.coder, c.value, n_coders, n_values)
        report["mean_pairwise_cohen_kappa"] = _num(np.nanmean(kappa)) if np.isfinite(kappa).any() else None
        if n_coders <= COHEN_MATRIX_MAX:  # beyond that the matrix outgrows a readable answer; the mean stays
            report["cohen_kappa_matrix"] = {"user_ids": data.user_ids,
                                            "kappa": [[_num(k) for k in row] for row in kappa]}
        report["per_label"] = _per_label(c, labels, schema.multi_label)
        if len(c.unit):
            result, method = _infer(project, c, n_units, n_coders, n_values)
            report["method"] = method
            answers, confidence = _answers(result, labels, c, schema.multi_label, project)
            distance_fn = ag.Taxonomy(labels.parent).distance() if taxonomy else ag.nominal()
            for unit, task_id in enumerate(data.task_ids):
                if answers[unit] is not None:
                    consensus[task_id] = {"result": {"labels": answers[unit]}, "confidence": _num(confidence[unit]),
                                          "method": method, "annotations": int(per_task[unit])}
            # Agreement with the consensus: 1 - distance to the inferred answer, on tasks with two or more answers.
            sizes = np.bincount(c.unit, minlength=n_units)
            shared = sizes[c.unit] >= 2
            best = result.answer[c.unit]
            scores = 1 - distance_fn(c.value, np.maximum(best, 0))
            for coder, score in zip(c.coder[shared & (best >= 0)], scores[shared & (best >= 0)]):
                agreement_with[coder].append(float(score))
            reliability = {coder: float(result.reliability[coder]) for coder in np.unique(c.coder)}
            for unit, task_id in enumerate(data.task_ids):
                if task_id in consensus:
                    consensus[task_id]["agreement"] = _num(_item_agreement(c, unit))
    for kind in [k for k in GEOMETRY if k in schema.tools] + (["span"] if "span" in schema.tools else []):
        scales = _image_scales(session, data) if kind == "keypoint" else None
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
    report["per_annotator"] = _per_annotator(session, project, data, agreement_with, reliability)
    report["consensus"] = consensus
    return report


def _answers(result: inf.Inference, labels: Labels, c: Classification, multi_label: bool, project: Project):
    """Per unit the answer as a list of label ids (None without one) and its confidence."""
    if multi_label:  # the most probable set of labels as a whole
        return [sorted(c.sets[a]) if a >= 0 else None for a in result.answer], result.confidence
    answer, confidence = inf.back_off(result.posterior, labels.parent, project_threshold(project))
    return [[labels.ids[a]] if a >= 0 else None for a in answer], confidence


def _item_agreement(c: Classification, unit: int) -> float | None:
    """The share of ordered pairs of the task's answers that agree (None with fewer than two answers)."""
    values = c.value[c.unit == unit]
    if len(values) < 2:
        return None
    counts = np.bincount(values)
    return float((counts * (counts - 1)).sum() / (len(values) * (len(values) - 1)))


def _per_label(c: Classification, labels: Labels, multi_label: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not multi_label:
        alphas = ag.per_label_alpha(c.unit, c.value, len(labels.ids))
        chosen = np.bincount(c.value, minlength=len(labels.ids))
        for n, label in enumerate(labels.ids):
            if chosen[n]:
                out[label] = {"alpha": _num(alphas[n]), "annotations": int(chosen[n])}
        return out
    for n, label in enumerate(labels.ids):
        member = np.array([labels.ids[n] in s for s in c.sets], dtype=bool)
        binary = member[c.value].astype(np.int64) if len(c.value) else c.value
        if binary.sum():
            out[label] = {"alpha": _num(ag.krippendorff_alpha(c.unit, binary, "nominal", n_values=2)),
                          "annotations": int(binary.sum())}
    return out


def _image_scales(session: Session, data: Collected) -> dict[int, float]:
    """Per unit, sqrt of its image's area: the scale keypoint distances are measured against."""
    sizes = dict(session.execute(select(Task.id, Media.width * Media.height).join(
        Media, Media.sha256 == Task.media_sha256).where(Task.id.in_(data.task_ids))).all()) if data.task_ids else {}
    return {unit: float(np.sqrt(sizes[task_id])) for unit, task_id in enumerate(data.task_ids)
            if sizes.get(task_id)}


def _structure_f1(data: Collected, labels: Labels, kind: str, scales: dict[int, float] | None) -> dict[str, Any]:
    items: dict[int, list] = defaultdict(list)
    for unit, coder, result in data.results:
        if kind == "span":
            objects = [dict(s, label=labels.index.get(s["label"], 0)) for s in result.get("spans", [])]
        else:
            objects = [dict(o, label=labels.index.get(o["label"], 0)) for o in result.get("objects", [])
                       if o.get("tool") == kind]
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
    labels = Labels.of(schema)
    data = collect(session, project.id, task_id=task.id)
    out: dict[str, Any] = {"task_id": task.id, "result": None, "confidence": None, "method": "majority",
                           "agreement": None, "annotations": data.size}
    if "classify" in schema.tools and data.size:
        c = classification(data, labels, schema.multi_label)
        if len(c.unit):
            n_values = len(c.sets) if schema.multi_label else len(labels.ids)
            result = inf.majority_vote(c.unit, c.coder, c.value, 1, len(data.user_ids), n_values)
            answers, confidence = _answers(result, labels, c, schema.multi_label, project)
            out["result"] = {"labels": answers[0]} if answers[0] else None
            out["confidence"] = _num(confidence[0])
            out["agreement"] = _num(_item_agreement(c, 0))
    if "bbox" in schema.tools and data.size:
        objects = _box_consensus(data, labels, np.ones(len(data.user_ids))).get(0, [])
        out["result"] = {**(out["result"] or {}), "objects": objects}
        if out["confidence"] is None and objects:
            out["confidence"] = _num(min(o["confidence"] for o in objects))
        out["method"] = out["method"] if "classify" in schema.tools else "clusters"
    return out


def annotation_count(session: Session, project_id: int) -> int:
    """How many annotations the project's quality numbers cover (counted, on non-gold, unretired tasks)."""
    return session.scalar(select(func.count()).select_from(Annotation).join(Task, Task.id == Annotation.task_id).where(
        Annotation.project_id == project_id, Annotation.counted.is_(True), Task.is_gold.is_(False),
        Task.status != "retired")) or 0


def split_report(report: dict[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The report as the API shows it, and its per-task consensus (kept apart: it grows with the project)."""
    body = {key: value for key, value in report.items() if key != "consensus"}
    return body, report["consensus"]


def store_report(session: Session, project: Project, report: dict[str, Any], now: dt.datetime) -> QualityReport:
    """Keep a computed report and every task's consensus (replacing the previous ones)."""
    body, consensus = split_report(report)
    stored = session.get(QualityReport, project.id, with_for_update=True)
    if stored is None:
        stored = QualityReport(project_id=project.id, annotations=0, body={}, computed_at=now)
        session.add(stored)
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
    taxonomy below `threshold` (what dynamic overlap compares with its confidence target); 0 without answers."""
    labels = Labels.of(schema)
    chosen = [r["labels"] for r in results if r.get("labels")]
    if schema.multi_label:
        values = [frozenset(c) for c in chosen]
        return max(values.count(v) for v in set(values)) / len(values) if values else 0.0
    value = np.array([labels.index[c[0]] for c in chosen if c[0] in labels.index], dtype=np.int64)
    if len(value) == 0:
        return 0.0
    posterior = np.bincount(value, minlength=len(labels.ids))[None, :] / len(value)
    return float(inf.back_off(posterior, labels.parent, threshold)[1][0])


def consensus_for(session: Session, project: Project, tasks: list[Task], on_request_limit: int,
                  now: dt.datetime) -> dict[int, dict[str, Any]]:
    """The consensus of each of `tasks` that has answers, the way GET consensus shows it.

    Small projects: inferred over the whole project now (Dawid-Skene needs everyone's answers). Large ones:
    the quality job's stored consensus where no answer has arrived since, else the task's own majority.
    """
    if not tasks:
        return {}
    if annotation_count(session, project.id) <= on_request_limit:
        report = agreement_report(session, project, now, interval=False)
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
        if task.id not in found:
            own = task_consensus(session, project, task)
            if own["result"] is not None:
                found[task.id] = {key: value for key, value in own.items() if key != "task_id"}
    return found


def stale_large_projects(session: Session, limit: int) -> list[int]:
    """Projects above the on-request limit whose stored report does not cover their annotations as they are."""
    large = session.scalars(select(Annotation.project_id).group_by(Annotation.project_id)
                            .having(func.count() > limit).order_by(Annotation.project_id)).all()
    stored = dict(session.execute(select(QualityReport.project_id, QualityReport.annotations)).all())
    return [project_id for project_id in large if stored.get(project_id) != annotation_count(session, project_id)]
