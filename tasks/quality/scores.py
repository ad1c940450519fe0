"""What submit and payments ask of quality: how sure a task's consensus already is (dynamic overlap), and how
right each answer on a completed task is (the agreement bonus).

Both run inside a submit's transaction, so they read one task's answers, never the whole project's.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.models import Annotation, Media, Project, Task
from tasks.projects import current_schema
from tasks.quality import agreement as ag
from tasks.quality import objects as obj
from tasks.quality import structures as st
from tasks.quality.answers import Collected, Labels, collect_each, labels_of, num
from tasks.quality.consensus import object_tools, task_consensus
from tasks.schema import LabelSchema



def answer_confidence(schema: LabelSchema, results: list[dict], threshold: float) -> float:
    """The confidence of one task's consensus from its answers: the majority share, backing off along the
    taxonomy below `threshold` (what dynamic overlap compares with its confidence target); 0 without answers.

    Runs inside submit, so it walks only the parents of the labels answered, never the whole taxonomy.
    """
    return answer_consensus(schema, results, threshold)[1]


def answer_consensus(schema: LabelSchema, results: list[dict], threshold: float) -> tuple[str | None, float]:
    """answer_confidence's label and share: the majority label, or the ancestor it backs off to (None for
    multi-label answers and without answers)."""
    chosen = [r["labels"] for r in results if r.get("labels")]
    if schema.multi_label:
        values = [frozenset(c) for c in chosen]
        return None, (max(values.count(v) for v in set(values)) / len(values) if values else 0.0)
    answered = [c[0] for c in chosen if c[0] in schema.labels]
    if not answered:
        return None, 0.0
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
            return node, mass[node]
    return best, mass[best]


@dataclass(frozen=True)
class Scored:
    """How right one answer is, 0..1 (`value`, what the agreement bonus pays for), and why: per geometry tool,
    how its objects compared with the consensus objects (`objects`, what the wallet line shows)."""

    value: float
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def answer_scores(session: Session, project: Project, task: Task, *, native_only: bool = False
                  ) -> dict[int, Scored]:
    """How right each counted answer on a task is, 0..1 (what the agreement bonus pays for): the mean of one
    part per kind of answer the project's schema asks for.

    - classify: 1 - the taxonomy distance of its label to the consensus label (nominal: 1 or 0; multi-label:
      1 when the whole set is the consensus set), when both it and the consensus have labels;
    - bbox, polygon, keypoint: its objects of that tool against the task's consensus objects
      (tasks.quality.objects.score_against): matched one-to-one at IoU (keypoint similarity) >= 0.5, each pair
      credited localisation x label, misses and extras counted as in a matched F1. So a box in the right
      place with a wrong label earns only what the taxonomy distance allows. There is a part when someone on
      the task drew that tool (then drawing nothing counts: agreeing with an empty consensus scores 1, drawing
      where the consensus has nothing 0), and for keypoints only on an image of known size;
    - span: there is no consensus geometry for text, so peer agreement: the mean of its matched F1 (IoU >= 0.5)
      against each other counted answer on the task, one pair at a time, as the report's `span_f1` does; no
      part for an answer alone on its task or when no answer marked a span.

    As in the report, objects and spans whose label has since left the schema are left out. An answer with no
    part at all scores 0; a gold task's answers score their gold score. Queries: one for the answers, the
    task's consensus (classify or geometry) and the image size (only when keypoints are compared).
    """
    query = select(Annotation.id, Annotation.result, Annotation.gold_score).where(
        Annotation.task_id == task.id, Annotation.counted.is_(True)).order_by(Annotation.id)
    if native_only:  # pay: answers given here, against each other only (imported ones never move it)
        query = query.where(Annotation.assignment_id.is_not(None))
    return _scored(session, project, task, session.execute(query).all(), native_only=native_only)


def answer_scores_each(session: Session, project: Project, tasks: list[Task]) -> dict[int, dict[int, Scored]]:
    """answer_scores of each of `tasks` (every counted answer, imported ones included), their answers read in two
    passes over the project's rather than two queries per task (the incentive replay scores every task that has
    imported answers)."""
    wanted = {task.id for task in tasks}
    rows: dict[int, list] = defaultdict(list)
    for task_id, *row in session.execute(select(
            Annotation.task_id, Annotation.id, Annotation.result, Annotation.gold_score).where(
            Annotation.project_id == project.id, Annotation.counted.is_(True)).order_by(Annotation.id)
            .execution_options(yield_per=5000)):
        if task_id in wanted:
            rows[task_id].append(row)
    data = collect_each(session, project.id, wanted)
    return {task.id: _scored(session, project, task, rows[task.id], data=data.get(task.id) or Collected([], [], []))
            for task in tasks}


def _scored(session: Session, project: Project, task: Task, rows: list, *, native_only: bool = False,
            data: Collected | None = None) -> dict[int, Scored]:
    """answer_scores of the task's answers `rows` (id, result, gold score), against the consensus of its answers
    (`data` when read already)."""
    if task.is_gold:
        return {annotation_id: Scored(float(gold or 0.0)) for annotation_id, _, gold in rows}
    schema, labels = current_schema(project), labels_of(project)
    results = [result for _, result, _ in rows]
    used = [kind for kind in object_tools(schema)
            if any(o.get("tool") == kind for result in results for o in result.get("objects", []))]
    scale = _image_scale(session, task) if "keypoint" in used else None
    needs_consensus = bool(rows) and ("classify" in schema.tools or bool(used))
    consensus = (task_consensus(session, project, task, scale=scale, native_only=native_only, data=data).result
                 or {}) if needs_consensus else {}
    between = labels.taxonomy.distance() if labels.deep and not schema.multi_label else ag.nominal()
    object_distance = labels.taxonomy.distance() if labels.deep else ag.nominal()
    peer = _peer_parts(schema, labels, results)
    scores: dict[int, Scored] = {}
    for n, (annotation_id, result, _) in enumerate(rows):
        parts = _label_parts(schema, labels, between, result, consensus)
        objects = object_scores(labels, object_distance, result, consensus.get("objects", []),
                                [kind for kind in used if kind != "keypoint" or scale is not None], scale)
        parts.extend(found.score for found in objects.values())
        parts.extend(f1s[n] for f1s in peer.values())
        scores[annotation_id] = Scored(sum(parts) / len(parts) if parts else 0.0,
                                       {kind: explain(found, labels) for kind, found in objects.items()})
    return scores


def object_scores(labels: Labels, between: ag.Distance, result: dict, consensus: list[dict], kinds: list[str],
                  scale: float | None) -> dict[str, obj.ObjectScore]:
    """An answer's objects of each of `kinds` against the consensus objects (labels gone from the schema left out)."""
    mine = _indexed(result.get("objects", []), labels)
    theirs = _indexed(consensus, labels)
    return {kind: obj.score_against(mine, theirs, between, kind=kind, scale=scale) for kind in kinds}


def _indexed(objects: list[dict], labels: Labels) -> list[dict]:
    return [dict(o, label=labels.index[o["label"]]) for o in objects if o.get("label") in labels.index]


def explain(found: obj.ObjectScore, labels: Labels) -> dict[str, Any]:
    """An ObjectScore as the wallet shows it: counts, the mean localisation, and every matched pair whose label
    earned less than full credit (its label, the consensus label, the credit)."""
    return {"score": num(found.score, 4), "drawn": found.drawn, "consensus": found.consensus, "matched": found.matched,
            "localisation": num(float(found.localisation.mean()), 4) if found.matched else None,
            "mislabelled": [{"label": labels.ids[int(a)], "consensus": labels.ids[int(b)], "credit": num(credit, 4)}
                            for a, b, credit in zip(found.labels_mine, found.labels_consensus, found.label_credit)
                            if credit < 1]}


def _label_parts(schema: LabelSchema, labels: Labels, between: ag.Distance, result: dict,
                 consensus: dict) -> list[float]:
    """One answer's whole-item labels scored against the task's consensus labels."""
    parts = []
    if "classify" in schema.tools and consensus.get("labels") and result.get("labels"):
        if schema.multi_label:
            parts.append(float(sorted(result["labels"]) == sorted(consensus["labels"])))
        elif result["labels"][0] in labels.index and consensus["labels"][0] in labels.index:
            a, b = labels.index[result["labels"][0]], labels.index[consensus["labels"][0]]
            parts.append(float(1 - between(np.array([a]), np.array([b]))[0]))
    return parts


def _peer_parts(schema: LabelSchema, labels: Labels, results: list[dict]) -> dict[str, list[float]]:
    """"span" -> per answer, its mean F1 against the task's other answers (when two or more marked any)."""
    if "span" not in schema.tools or len(results) < 2:
        return {}
    drawn = [[s for s in r.get("spans", []) if s.get("label") in labels.index] for r in results]
    return {"span": _peer_f1(drawn)} if any(drawn) else {}


def _image_scale(session: Session, task: Task) -> float | None:
    """sqrt of the task's image area (as the report's keypoint scales), None when the size is not known."""
    if task.media_sha256 is None:
        return None
    area = session.scalar(select(Media.width * Media.height).where(Media.sha256 == task.media_sha256))
    return float(np.sqrt(area)) if area and area > 0 else None


def _peer_f1(drawn: list[list[dict]]) -> list[float]:
    """Per answer (two or more), its mean matched F1 against each of the others: one match per pair."""
    totals = [0.0] * len(drawn)
    for a, b in combinations(range(len(drawn)), 2):
        f1 = st.span_f1(drawn[a], drawn[b]).f1
        totals[a] += f1
        totals[b] += f1
    return [total / (len(drawn) - 1) for total in totals]
