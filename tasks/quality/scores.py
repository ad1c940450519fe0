"""What submit and payments ask of quality: how sure a task's consensus already is (dynamic overlap), and how
right each answer on a completed task is (the agreement bonus).

Both run inside a submit's transaction, so they read one task's answers, never the whole project's.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.models import Annotation, Media, Project, Task
from tasks.projects import current_schema
from tasks.quality import agreement as ag
from tasks.quality import structures as st
from tasks.quality.answers import Labels, labels_of
from tasks.quality.consensus import task_consensus
from tasks.schema import LabelSchema

PEER_KINDS = ("polygon", "keypoint", "span")  # scored against the other answers, not a consensus


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
    schema, labels = current_schema(project), labels_of(project)
    results = [result for _, result, _ in rows]
    needs_consensus = bool(rows) and ("classify" in schema.tools or "bbox" in schema.tools)
    consensus = (task_consensus(session, project, task).result or {}) if needs_consensus else {}
    between = labels.taxonomy.distance() if labels.deep and not schema.multi_label else ag.nominal()
    peer = _peer_parts(session, task, schema, labels, results)
    # As for the peer kinds: no box part when nobody on the task drew a box (else a wrong label earns half).
    boxes_used = "bbox" in schema.tools and any(o.get("tool") == "bbox" for result in results
                                                for o in result.get("objects", []))
    scores: dict[int, float] = {}
    for n, (annotation_id, result, _) in enumerate(rows):
        parts = _consensus_parts(schema, labels, between, result, consensus, boxes_used)
        parts.extend(f1s[n] for f1s in peer.values())
        scores[annotation_id] = sum(parts) / len(parts) if parts else 0.0
    return scores


def _consensus_parts(schema: LabelSchema, labels: Labels, between: ag.Distance, result: dict, consensus: dict,
                     boxes_used: bool) -> list[float]:
    """One answer's parts scored against the task's consensus: its labels, its boxes."""
    parts = []
    if "classify" in schema.tools and consensus.get("labels") and result.get("labels"):
        if schema.multi_label:
            parts.append(float(sorted(result["labels"]) == sorted(consensus["labels"])))
        elif result["labels"][0] in labels.index and consensus["labels"][0] in labels.index:
            a, b = labels.index[result["labels"][0]], labels.index[consensus["labels"][0]]
            parts.append(float(1 - between(np.array([a]), np.array([b]))[0]))
    if boxes_used and "objects" in consensus:
        mine = [o for o in result.get("objects", []) if o.get("tool") == "bbox"]
        parts.append(float(st.matched_f1(mine, consensus["objects"], kind="bbox").f1))
    return parts


def _peer_parts(session: Session, task: Task, schema: LabelSchema, labels: Labels,
                results: list[dict]) -> dict[str, list[float]]:
    """Kind -> per answer, its mean F1 against the task's other answers (polygons, keypoints, spans)."""
    peer: dict[str, list[float]] = {}
    for kind in [kind for kind in PEER_KINDS if kind in schema.tools and len(results) >= 2]:
        drawn = _drawn(results, labels, kind)
        scale = _image_scale(session, task) if kind == "keypoint" and any(drawn) else None
        if any(drawn) and (kind != "keypoint" or scale is not None):
            peer[kind] = _peer_f1(drawn, kind, scale)
    return peer


def _image_scale(session: Session, task: Task) -> float | None:
    """sqrt of the task's image area (as the report's keypoint scales), None when the size is not known."""
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
