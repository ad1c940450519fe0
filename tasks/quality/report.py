"""A project's agreement report: what an owner reads at GET /projects/{id}/agreement, computed from the
project's counted answers on non-gold, unretired tasks (answers.py), and kept by the quality job for large
projects with every task's consensus (store_report). Flushes, never commits.

Classification: Krippendorff's alpha uses the taxonomy distance when the label tree has more than one level
(a genus for its species is a partial disagreement), else the nominal one; the nominal alpha is reported
too. Multi-label answers are compared as whole sets (nominal), and per label as "chosen or not". The
per-task consensus and the annotators' reliability come from consensus.py's truth inference.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from tasks.models import Annotation, Project, Qualification, QualityReport, TaskConsensus
from tasks.projects import current_schema
from tasks.quality import agreement as ag
from tasks.quality import structures as st
from tasks.quality import objects as obj
from tasks.quality.answers import Classification, Collected, Labels, collect, distance, image_scales, labels_of, num
from tasks.quality.consensus import (Consensus, Inferred, infer, is_fresh, object_tools, project_signature,
                                     report_signature)
from tasks.quality.scores import object_scores

BOOTSTRAP_SAMPLES = 1000
COHEN_MATRIX_MAX = 100  # annotators
CONFUSION_TOP = 10  # labels in the confusion table: the most confused ones
HEADLINE = ("krippendorff_alpha", "alpha_interval", "alpha_distance", "nominal_alpha", "fleiss_kappa",
            "mean_pairwise_cohen_kappa", "cohen_kappa_matrix", "per_label", "confusion")


@dataclass(frozen=True)
class AgreementReport:
    """A project's agreement as computed at one moment.

    body: what GET agreement shows (without `stale`): the measures (null where undefined), `method`, the
    counts `annotations` and `tasks`, `computed_at`, and `last_annotation_id` (with `annotations`, what its
    freshness is checked against); consensus: task id -> its Consensus, kept apart from the body because it
    grows with the project (stored in task_consensus, not in the report's row).
    """

    body: dict[str, Any]
    consensus: dict[int, Consensus]
    data: Collected | None = None  # the answers and their inference, for whatever else reads them (skills)
    inferred: Inferred | None = None


def agreement_report(session: Session, project: Project, now: dt.datetime) -> AgreementReport:
    """Everything GET /projects/{id}/agreement shows, for the project's answers as they are now."""
    schema, labels = current_schema(project), labels_of(project)
    data = collect(session, project.id)
    last = project_signature(session, project.id).last_annotation_id
    scales = image_scales(session, project.id, data) if "keypoint" in schema.tools else None
    inferred = infer(project, schema, labels, data, scales)
    body = _blank(data, now, last)
    body["method"] = inferred.method
    agreement_with: dict[int, list[float]] = {}
    reliability = inferred.reliability
    if inferred.classification is not None and len(inferred.classification.unit):
        taxonomy = labels.deep and not schema.multi_label
        between = distance(labels, inferred.classification, taxonomy)
        body.update(_measures(project, labels, data, inferred.classification, between, taxonomy,
                              len(data.task_ids), schema.multi_label))
        body["measured_on"] = "labels"
        agreement_with = _agreement_with(inferred, between, len(data.task_ids))
    if object_tools(schema):
        body["objects"] = _object_agreement(project, labels, data, inferred, scales)
        if body["objects"] is not None and body["measured_on"] is None:
            # No whole-item labels: the objects' labels are the project's headline numbers.
            body.update({key: body["objects"][key] for key in HEADLINE}, measured_on="objects")
            agreement_with, reliability = _object_agreement_with(labels, data, inferred, scales), \
                inferred.objects.reliability
    for kind in object_tools(schema) + (["span"] if "span" in schema.tools else []):
        body[f"{kind}_f1"] = _structure_f1(data, labels, kind, scales if kind == "keypoint" else None)
    body["per_annotator"] = _per_annotator(session, project, data, agreement_with, reliability)
    return AgreementReport(body, inferred.consensus, data, inferred)


def store_report(session: Session, project: Project, report: AgreementReport, now: dt.datetime) -> QualityReport:
    """Keep a computed report and every task's consensus (replacing the previous ones)."""
    body = report.body
    # Two workers may store the first report at once: the row is made if missing, then locked.
    session.execute(insert_skipping_duplicates(session, QualityReport.__table__).values(
        project_id=project.id, annotations=0, body={}, computed_at=now))
    stored = session.get(QualityReport, project.id, with_for_update=True, populate_existing=True)
    if report_signature(stored).last_annotation_id > body["last_annotation_id"]:
        return stored  # a newer computation has stored already: keep it
    stored.annotations, stored.body, stored.computed_at = body["annotations"], body, now
    session.execute(delete(TaskConsensus).where(TaskConsensus.project_id == project.id))
    rows = [{**found.as_dict(), "project_id": project.id, "computed_at": now} for found in report.consensus.values()]
    for start in range(0, len(rows), 1000):
        session.execute(insert(TaskConsensus), rows[start:start + 1000])
    session.flush()
    return stored


def stale_large_projects(session: Session, limit: int) -> list[int]:
    """Projects above the on-request limit whose stored report does not cover their answers as they are."""
    large = session.scalars(select(Annotation.project_id).group_by(Annotation.project_id)
                            .having(func.count() > limit).order_by(Annotation.project_id)).all()
    stored = {r.project_id: r for r in session.scalars(select(QualityReport).where(QualityReport.project_id.in_(large)))}
    return [project_id for project_id in large
            if not is_fresh(report_signature(stored.get(project_id)), project_signature(session, project_id))]


def _blank(data: Collected, now: dt.datetime, last: int) -> dict[str, Any]:
    """The report's keys in the order it shows them, every measure null until computed."""
    return {"krippendorff_alpha": None, "alpha_interval": None, "alpha_distance": None, "nominal_alpha": None,
            "fleiss_kappa": None, "mean_pairwise_cohen_kappa": None, "cohen_kappa_matrix": None, "per_label": {},
            "confusion": None, "measured_on": None, "per_annotator": [], "method": None, "annotations": data.size,
            "tasks": len(data.task_ids), "computed_at": now.isoformat(), "last_annotation_id": last}


def _measures(project: Project, labels: Labels, data: Collected, c: Classification, between: ag.Distance,
              taxonomy: bool, n_units: int, multi_label: bool) -> dict[str, Any]:
    """The label measures of a classification (whole-item labels, or objects' labels): alphas (with a seeded
    bootstrap interval), Fleiss, Cohen, per label, confusion."""
    bounds = ag.bootstrap_alpha(c.unit, c.value, between, n_values=c.n_values, samples=BOOTSTRAP_SAMPLES,
                                seed=project.id)
    counts = ag.fleiss_counts(c.unit, c.value, n_units, c.n_values)
    return {"alpha_distance": "taxonomy" if taxonomy else "nominal",
            "krippendorff_alpha": num(ag.krippendorff_alpha(c.unit, c.value, between, n_values=c.n_values)),
            "alpha_interval": [num(bounds[0]), num(bounds[1])] if bounds else None,
            "nominal_alpha": num(ag.krippendorff_alpha(c.unit, c.value, "nominal", n_values=c.n_values)),
            "fleiss_kappa": num(ag.fleiss_kappa(counts)), **_cohen(data, c),
            "per_label": _per_label(c, labels, multi_label),
            "confusion": None if multi_label else _confusion(c, labels)}


def _cohen(data: Collected, c: Classification) -> dict[str, Any]:
    """Cohen's kappa of every pair of annotators: the mean, and the matrix while it stays readable."""
    n_coders = len(data.user_ids)
    kappa, _shared = ag.pairwise_cohen(c.unit, c.coder, c.value, n_coders, c.n_values)
    matrix = None
    if n_coders <= COHEN_MATRIX_MAX:  # beyond that the matrix outgrows a readable answer; the mean stays
        matrix = {"user_ids": data.user_ids, "kappa": [[num(k) for k in row] for row in kappa]}
    return {"mean_pairwise_cohen_kappa": num(np.nanmean(kappa)) if np.isfinite(kappa).any() else None,
            "cohen_kappa_matrix": matrix}


def _agreement_with(inferred: Inferred, between: ag.Distance, n_units: int) -> dict[int, list[float]]:
    """Per coder, 1 - the distance of each of their label answers to the inferred one, on tasks with two or
    more answers (alone on a task, an answer is its own consensus)."""
    c, result = inferred.classification, inferred.inference
    scores: dict[int, list[float]] = defaultdict(list)
    if result is None:
        return scores
    sizes = np.bincount(c.unit, minlength=n_units)
    best = result.answer[c.unit]
    counted = (sizes[c.unit] >= 2) & (best >= 0)
    agreeing = 1 - between(c.value, np.maximum(best, 0))
    for coder, score in zip(c.coder[counted], agreeing[counted]):
        scores[coder].append(float(score))
    return scores


def _confusion(c: Classification, labels: Labels, top: int = CONFUSION_TOP) -> dict[str, Any] | None:
    """Which labels two annotators of the same task gave when they disagreed, for the `top` labels most often
    in disagreement: `pairs[i][j]` (i != j) counts the pairs of answers to one task, one `labels[i]` and one
    `labels[j]`; `pairs[i][i]` the pairs that agreed on `labels[i]`. For objects, a label None is "drew no
    object here". Sparse products, so a taxonomy of
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
    return {"labels": [labels.ids[c.classes[n]] if c.classes[n] >= 0 else None for n in chosen],
            "pairs": block.astype(int).tolist()}


def _per_label(c: Classification, labels: Labels, multi_label: bool) -> dict[str, Any]:
    """Per label, the alpha of "this label or not" and how many answers chose it."""
    out: dict[str, Any] = {}
    if not multi_label:
        alphas = ag.per_label_alpha(c.unit, c.value, c.n_values)
        chosen = np.bincount(c.value, minlength=c.n_values)
        for n, full in enumerate(c.classes):
            if full >= 0:  # obj.NO_OBJECT is the objects report's `no_object`, not a label
                out[labels.ids[full]] = {"alpha": num(alphas[n]), "annotations": int(chosen[n])}
        return out
    for label in sorted(set().union(*c.sets)) if c.sets else []:
        member = np.array([label in s for s in c.sets], dtype=bool)
        binary = member[c.value].astype(np.int64) if len(c.value) else c.value
        if binary.sum():
            out[label] = {"alpha": num(ag.krippendorff_alpha(c.unit, binary, "nominal", n_values=2)),
                          "annotations": int(binary.sum())}
    return out


def _structure_f1(data: Collected, labels: Labels, kind: str, scales: dict[int, float] | None) -> dict[str, Any] | None:
    """Boxes, polygons, keypoints or spans: mean matched F1 over pairs of answers, the matched pairs' mean
    similarity (IoU or keypoint similarity) and the matched labels' alpha; None when nobody drew that kind."""
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
    if not any(objects for given in items.values() for _, objects in given):
        return None
    scale = [scales[unit] for unit in items] if scales is not None else None
    summary = st.pairwise_structure_agreement(list(items.values()), kind=kind, scale=scale)
    alpha = ag.krippendorff_alpha(summary.unit, summary.value, "nominal", n_values=len(labels.ids))
    return {"mean_f1": num(summary.mean_f1), "pairs": int(summary.pairs), "matched": int(summary.matched),
            "localisation": num(summary.mean_similarity), "label_alpha": num(alpha)}


def _object_agreement(project: Project, labels: Labels, data: Collected, inferred: Inferred,
                      scales: dict[int, float] | None) -> dict[str, Any] | None:
    """The objects' labels as a classification (tasks.quality.objects): every object matched across a task's
    answers is a unit, each annotator of the task gives it their object's label or "no object"; the same
    measures as whole-item labels, plus how the objects matched. None when nobody drew an object."""
    found = inferred.objects
    if found is None:
        return None
    parts = [(unit + found.offset[kind], coder, value)
             for kind, m in found.matched.items() for unit, coder, value in [obj.annotation_list(m)]]
    unit, coder, value = (np.concatenate([p[i] for p in parts]) for i in range(3))
    classes, compact = np.unique(value, return_inverse=True)  # obj.NO_OBJECT (-1) first when present
    c = Classification(unit, coder, compact.astype(np.int64), classes, [])
    total = sum(m.n_units for m in found.matched.values())
    taxonomy = labels.deep
    between = obj.with_no_object(distance(labels, c, taxonomy), classes == obj.NO_OBJECT)
    block = _measures(project, labels, data, c, between, taxonomy, total, False)
    pairs = [m.pairs() for m in found.matched.values()]
    matched_pairs = sum(n for n, _ in pairs)
    nothing = np.flatnonzero(classes == obj.NO_OBJECT)
    alphas = ag.per_label_alpha(c.unit, c.value, c.n_values)
    scores = _object_agreement_with(labels, data, inferred, scales)
    drawn = np.bincount(np.concatenate([m.coder for m in found.matched.values()]), minlength=len(data.user_ids))
    return {**block, "kinds": [kind for kind, m in found.matched.items() if m.n_units], "objects": total,
            "matched_pairs": matched_pairs,
            "localisation": num(sum(n * s for n, s in pairs if s is not None) / matched_pairs) if matched_pairs else None,
            "no_object": {"alpha": num(alphas[nothing[0]]) if len(nothing) else None,
                          "annotations": int((value == obj.NO_OBJECT).sum())},
            "method": found.method,
            "per_annotator": [{"user_id": user_id, "objects": int(drawn[coder]),
                               "agreement_with_consensus": num(float(np.mean(scores[coder]))) if scores.get(coder)
                               else None, "reliability": num(found.reliability.get(coder))}
                              for coder, user_id in sorted(enumerate(data.user_ids), key=lambda pair: pair[1])]}


def _object_agreement_with(labels: Labels, data: Collected, inferred: Inferred,
                           scales: dict[int, float] | None) -> dict[int, list[float]]:
    """Per coder, the score of each of their answers' objects against the task's consensus objects (what the
    bonus pays for, tasks.quality.scores), on tasks with two or more answers where someone drew an object."""
    found = inferred.objects
    answered = np.bincount([unit for unit, _, _ in data.results], minlength=len(data.task_ids))
    kinds_on: dict[int, set[str]] = defaultdict(set)
    for kind, m in found.matched.items():
        for item in m.item.tolist():
            kinds_on[item].add(kind)
    between = labels.taxonomy.distance() if labels.deep else ag.nominal()
    scores: dict[int, list[float]] = defaultdict(list)
    for unit, coder, result in data.results:
        if answered[unit] < 2 or not kinds_on.get(unit):
            continue
        consensus = inferred.consensus.get(data.task_ids[unit])
        theirs = (consensus.result or {}).get("objects", []) if consensus else []
        parts = object_scores(labels, between, result, theirs, sorted(kinds_on[unit]), (scales or {}).get(unit))
        scores[coder].append(float(np.mean([part.score for part in parts.values()])))
    return scores


def _per_annotator(session: Session, project: Project, data: Collected, agreement_with: dict[int, list[float]],
                   reliability: dict[int, float]) -> list[dict[str, Any]]:
    """Per annotator: answers, agreement with the consensus, gold accuracy, reliability (by user id)."""
    counts = np.bincount([coder for _, coder, _ in data.results], minlength=len(data.user_ids))
    standing = {q.user_id: q for q in session.scalars(select(Qualification).where(
        Qualification.project_id == project.id))}
    rows = []
    for coder, user_id in enumerate(data.user_ids):
        q = standing.get(user_id)
        scores = agreement_with.get(coder, [])
        rows.append({"user_id": user_id, "annotations": int(counts[coder]),
                     "agreement_with_consensus": num(float(np.mean(scores))) if scores else None,
                     "gold_accuracy": num(q.gold_credit / q.gold_answered) if q and q.gold_answered else None,
                     "reliability": num(reliability.get(coder))})
    return sorted(rows, key=lambda row: row["user_id"])
