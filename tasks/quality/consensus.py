"""A task's consensus: the one value the API, the quality job, payments (through scores.py) and the exports
pass around, how it is inferred from the answers, and the one rule for when a stored quality result (a
project's report, a task's consensus) is still fresh.

Labels follow the project's `aggregation` (tasks.quality.inference.METHODS): majority vote, Dawid-Skene, or
Dawid-Skene with a crowd prior. The Dawid-Skene methods estimate a confusion matrix per annotator, classes^2
numbers each, so above DS_MAX_CLASSES classes they fall back to the majority vote (and say so in `method`).
Answers back off along the taxonomy below the project's confidence target (BACK_OFF_THRESHOLD without one).
Boxes, polygons and keypoints are matched across the answers into objects (tasks.quality.objects); an object
drawn by a majority of the task's annotators is in the consensus, with their reliability-weighted geometry and a
label inferred from its members' labels as whole-item labels are (the project's aggregation over its objects,
taxonomy back-off); `method` names how.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tasks.models import Annotation, Project, QualityReport, Review, Task, TaskConsensus
from tasks.projects import current_schema
from tasks.quality import inference as inf
from tasks.quality import objects as obj
from tasks.quality.answers import (Classification, Collected, Labels, classification, collect, image_scales, labels_of,
                                   num)
from tasks.schema import GEOMETRY_TOOLS, LabelSchema

DS_MAX_CLASSES = 64
BACK_OFF_THRESHOLD = 0.5  # without a project confidence_target


class Signature(NamedTuple):
    """Which counted answers a quality result was computed from (a NamedTuple, not a dataclass: an export
    compares one per task, and tuples are several times cheaper to make).

    annotations: how many (a project's, on non-gold unretired tasks; or one task's);
    last_annotation_id: the newest of a project's (0 with none, -1 for a report stored without it); 0 for a
    task's consensus, whose stored row keeps only the count.
    """

    annotations: int
    last_annotation_id: int = 0


def is_fresh(stored: Signature | None, current: Signature) -> bool:
    """THE freshness rule: a stored report or consensus holds while the answers it was computed from are the
    answers that count now. A project compares the newest id too: a count alone misses one task retired and
    one answer arriving."""
    return stored is not None and stored == current


def project_signature(session: Session, project_id: int) -> Signature:
    """The answers the project's quality covers now: counted, on non-gold, unretired tasks."""
    count, last = session.execute(select(func.count(), func.max(Annotation.id)).select_from(Annotation).join(
        Task, Task.id == Annotation.task_id).where(
        Annotation.project_id == project_id, Annotation.counted.is_(True), Task.is_gold.is_(False),
        Task.status != "retired")).one()
    return Signature(int(count or 0), int(last or 0))


def report_signature(report: QualityReport | None) -> Signature | None:
    """The answers a stored report covers (None before the first report)."""
    if report is None:
        return None
    return Signature(report.annotations, report.body.get("last_annotation_id", -1))


@dataclass(frozen=True, slots=True)  # slots: the quality job holds one per task of a large project
class Consensus:
    """A task's inferred answer, as GET /tasks/{id}/consensus shows it and task_consensus stores it.

    task_id: the task; result: the inferred answer, a result like an annotation's ({"labels": [...]},
    {"objects": [...]} or both), None when nothing could be inferred; confidence: 0..1, how sure the answer is
    (for labels the posterior of its subtree, for objects alone the least sure object), None when undefined;
    method: how it was inferred (an aggregation: "majority", "dawid_skene" or "dawid_skene_prior", for labels
    and for objects' labels alike;
    "majority_vote" for an export's fallback; "clusters" in consensus stored before objects had labels
    inferred); agreement: the share of the task's answer pairs that agree, None with fewer than two;
    annotations: how many counted answers it was made from (what its freshness is checked against).
    """

    task_id: int
    result: dict[str, Any] | None
    confidence: float | None
    method: str
    agreement: float | None
    annotations: int

    @property
    def signature(self) -> Signature:
        return Signature(self.annotations)

    def as_dict(self, *, with_task_id: bool = True) -> dict[str, Any]:
        """The JSON form (without the task id where the task is said already: task lists, export rows)."""
        shown = {"result": self.result, "confidence": self.confidence, "method": self.method,
                 "agreement": self.agreement, "annotations": self.annotations}
        return {"task_id": self.task_id, **shown} if with_task_id else shown


# task_consensus's columns in Consensus's field order: a row read with them is Consensus(*row).
STORED = (TaskConsensus.task_id, TaskConsensus.result, TaskConsensus.confidence, TaskConsensus.method,
          TaskConsensus.agreement, TaskConsensus.annotations)


@dataclass(frozen=True)
class Inferred:
    """Truth inference over collected answers (`infer`).

    consensus: task id -> its Consensus, for tasks with something inferred; method: the aggregation used
    when labels were inferred, else None; classification: the label answers as arrays (None
    without the classify tool); inference: the label inference (None without label answers);
    reliability: coder -> the probability their label answer is right (empty without label answers);
    objects: the objects matched across answers and their labels inferred (None without geometry drawn).
    """

    consensus: dict[int, Consensus]
    method: str | None
    classification: Classification | None
    inference: inf.Inference | None
    reliability: dict[int, float]
    objects: ObjectInference | None = None


def infer(project: Project, schema: LabelSchema, labels: Labels, data: Collected,
          scales: dict[int, float] | None = None) -> Inferred:
    """Every task's consensus from the answers of the whole project (Dawid-Skene needs everyone's).

    `scales`: per unit, sqrt(its image's area), for keypoints (image_scales).
    """
    per_task = np.bincount([unit for unit, _, _ in data.results], minlength=len(data.task_ids))
    c = classification(data, labels, schema.multi_label) if "classify" in schema.tools else None
    found: dict[int, Consensus] = {}
    method, result, reliability = None, None, {}
    if c is not None and len(c.unit):
        result, method = _infer_labels(project, c, len(data.task_ids), len(data.user_ids))
        found = _label_consensus(project, schema, labels, data, c, result, method, per_task)
        reliability = {int(coder): float(result.reliability[coder]) for coder in np.unique(c.coder)}
    objects = None
    if object_tools(schema):
        order = np.array([reliability.get(coder, 1.0) for coder in range(len(data.user_ids))])
        objects, drawn = _objects(project, schema, labels, data, order, scales, aggregate=True)
        for unit, consensus_objects in _every_unit(data, drawn, objects).items():
            task_id = data.task_ids[unit]
            before = found.get(task_id) or Consensus(task_id, {}, None, objects.method if objects else "majority",
                                                     None, 0)
            found[task_id] = _with_objects(before, consensus_objects, int(per_task[unit]))
    return Inferred(found, method or (objects.method if objects else None), c, result, reliability, objects)


def _every_unit(data: Collected, drawn: dict[int, list], objects: ObjectInference | None) -> dict[int, list]:
    """Per unit whose answers the object matching saw (every answered one when nobody drew), its consensus
    objects (none: an empty list), as task_consensus gives them."""
    if objects is None:
        return {unit: [] for unit in range(len(data.task_ids))}
    seen = {unit for m in objects.matched.values() for unit, _ in m.answers}
    return {unit: drawn.get(unit, []) for unit in sorted(seen)}


def project_consensus(session: Session, project: Project) -> dict[int, Consensus]:
    """Every task's consensus, inferred now over the whole project's answers (small projects)."""
    data = collect(session, project.id)
    return infer(project, current_schema(project), labels_of(project), data).consensus


def task_consensus(session: Session, project: Project, task: Task, *, scale: float | None = None,
                   native_only: bool = False, data: Collected | None = None) -> Consensus:
    """One task's consensus from its own answers alone: majority vote (with taxonomy back-off), for its labels
    and for the labels of its objects. `scale`: sqrt(its image's area) when the caller knows it (keypoints);
    `native_only`: imported answers left out (pay); `data`: its answers when the caller has read them already
    (answers.collect_each)."""
    schema, labels = current_schema(project), labels_of(project)
    if data is None:
        data = collect(session, project.id, task_id=task.id, native_only=native_only)
    found = Consensus(task.id, None, None, "majority", None, data.size)
    if "classify" in schema.tools and data.size:
        found = _own_labels(project, schema, labels, data, found)
    if object_tools(schema) and data.size:
        scales = None
        if "keypoint" in schema.tools:
            scales = {0: scale} if scale is not None else image_scales(session, project.id, data)
        objects, drawn = _objects(project, schema, labels, data, np.ones(len(data.user_ids)), scales,
                                  aggregate=False)
        found = _with_objects(found, drawn.get(0, []), data.size)
    return found


def consensus_for(session: Session, project: Project, tasks: list[Task], on_request_limit: int) -> dict[int, Consensus]:
    """The consensus of each of `tasks` that has answers, the way GET consensus shows it.

    Small projects: inferred over the whole project now (Dawid-Skene needs everyone's answers). Large ones:
    the quality job's stored consensus where fresh, else the task's own majority.
    """
    if not tasks:
        return {}
    if project_signature(session, project.id).annotations <= on_request_limit:
        everyone = project_consensus(session, project)
        found = {task.id: everyone[task.id] for task in tasks if task.id in everyone}
    else:
        found = fresh_stored(session, [task.id for task in tasks])
    for task in tasks:
        if task.id not in found and task.submitted:  # an unanswered task has nothing to infer: no query
            own = task_consensus(session, project, task)
            if own.result is not None:
                found[task.id] = own
    for task_id, (fix, _reviewer) in fixes(session, [task.id for task in tasks]).items():
        found[task_id] = reviewed(found.get(task_id), task_id, fix)
    return found


def fixes(session: Session, task_ids: list[int] | None = None, *, project_id: int | None = None,
          after: int | None = None, last: int | None = None) -> dict[int, tuple[dict, int]]:
    """The reviewed result of each task that has one (its latest fix, tasks.reviews) and who fixed it: by task
    ids, or a project's tasks in the id range (after, last]."""
    query = select(Annotation.task_id, Review.result, Review.reviewer_id).join(
        Annotation, Annotation.id == Review.annotation_id).where(Review.verdict == "fixed").order_by(Review.id)
    if task_ids is not None:
        query = query.where(Annotation.task_id.in_(task_ids))
    if project_id is not None:
        query = query.where(Review.project_id == project_id)
    if after is not None:
        query = query.where(Annotation.task_id > after, Annotation.task_id <= last)
    return {task_id: (result, reviewer_id) for task_id, result, reviewer_id in session.execute(query)}


def reviewed(found: Consensus | None, task_id: int, fix: dict) -> Consensus:
    """A task's consensus once a reviewer fixed it: the fix, sure, method `reviewed`, with the agreement and
    count of the answers as inferred."""
    return Consensus(task_id, fix, 1.0, "reviewed", found.agreement if found is not None else None,
                     found.annotations if found is not None else 0)


def fresh_stored(session: Session, task_ids: list[int]) -> dict[int, Consensus]:
    """The quality job's stored consensus of these tasks, where no counted answer came or went since."""
    counts = dict(session.execute(select(Annotation.task_id, func.count()).where(
        Annotation.task_id.in_(task_ids), Annotation.counted.is_(True)).group_by(Annotation.task_id)).all())
    found = {}
    for row in session.execute(select(*STORED).where(TaskConsensus.task_id.in_(task_ids))):
        stored = Consensus(*row)
        if is_fresh(stored.signature, Signature(counts.get(stored.task_id, 0))):
            found[stored.task_id] = stored
    return found


def project_threshold(project: Project) -> float:
    """Below this share an unsure answer backs off to an ancestor: what dynamic overlap aims for."""
    return (project.dynamic_overlap or {}).get("confidence_target", BACK_OFF_THRESHOLD)


def _infer_labels(project: Project, c: Classification, n_units: int, n_coders: int) -> tuple[inf.Inference, str]:
    args = (c.unit, c.coder, c.value, n_units, n_coders, c.n_values)
    method = project.aggregation if c.n_values <= DS_MAX_CLASSES else "majority"
    return inf.METHODS[method](*args), method


def _label_consensus(project: Project, schema: LabelSchema, labels: Labels, data: Collected, c: Classification,
                     result: inf.Inference, method: str, per_task: np.ndarray) -> dict[int, Consensus]:
    """Per task with an inferred label answer, its Consensus (annotations: all its answers, not only labels)."""
    answers, confidence = _answers(result, labels, c, schema.multi_label, project)
    agreement = _item_agreement(c, len(data.task_ids))
    return {task_id: Consensus(task_id, {"labels": answers[unit]}, num(confidence[unit]), method,
                               num(agreement[unit]), int(per_task[unit]))
            for unit, task_id in enumerate(data.task_ids) if answers[unit] is not None}


def _own_labels(project: Project, schema: LabelSchema, labels: Labels, data: Collected,
                found: Consensus) -> Consensus:
    """`found` with the label majority of one task's answers (`data` holds that task alone)."""
    c = classification(data, labels, schema.multi_label)
    if not len(c.unit):
        return found
    result = inf.majority_vote(c.unit, c.coder, c.value, 1, len(data.user_ids), c.n_values)
    answers, confidence = _answers(result, labels, c, schema.multi_label, project)
    return replace(found, result={"labels": answers[0]} if answers[0] else None, confidence=num(confidence[0]),
                   agreement=num(_item_agreement(c, 1)[0]))


def _with_objects(found: Consensus, objects: list[dict[str, Any]], annotations: int) -> Consensus:
    """`found` with the consensus objects in its result; a label answer keeps its confidence, else the least
    sure object gives it."""
    confidence = found.confidence
    if confidence is None and objects:
        confidence = num(min(o["confidence"] for o in objects))
    return replace(found, result={**(found.result or {}), "objects": objects}, confidence=confidence,
                   annotations=annotations)


def _answers(result: inf.Inference, labels: Labels, c: Classification, multi_label: bool,
             project: Project) -> tuple[list[list[str] | None], np.ndarray]:
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


@dataclass(frozen=True)
class ObjectInference:
    """The objects of a project's (or one task's) answers matched across annotators, and their labels inferred.

    matched: kind -> its objects matched on every task (tasks.quality.objects.Matched; items are units of the
    Collected data); offset: kind -> where its units start in the combined numbering the inference uses;
    classes: compact class -> label index; inference: over the combined units as items; answer, confidence:
    per combined unit, its label index after taxonomy back-off (-1 without one) and that label's probability;
    method: the aggregation used; reliability: coder -> how often their object labels are right.
    """

    matched: dict[str, obj.Matched]
    offset: dict[str, int]
    classes: np.ndarray
    inference: inf.Inference
    answer: np.ndarray
    confidence: np.ndarray
    method: str
    reliability: dict[int, float]

    def label_of(self, kind: str, unit: np.ndarray) -> np.ndarray:
        return self.answer[self.offset[kind] + np.asarray(unit, dtype=np.int64)]


def object_tools(schema: LabelSchema) -> list[str]:
    """The geometry tools of a schema, in GEOMETRY_TOOLS order."""
    return [kind for kind in GEOMETRY_TOOLS if kind in schema.tools]


def _drawn_by_unit(data: Collected, labels: Labels) -> dict[int, list[tuple[int, list[dict]]]]:
    """Per unit, one (coder, objects) per answer: the objects with label indices (labels gone from the schema
    left out), drawing nothing included."""
    given: dict[int, list[tuple[int, list[dict]]]] = {}
    for unit, coder, result in data.results:
        objects = [dict(o, label=labels.index[o["label"]]) for o in result.get("objects", [])
                   if o.get("label") in labels.index]
        given.setdefault(unit, []).append((coder, objects))
    return given


def _objects(project: Project, schema: LabelSchema, labels: Labels, data: Collected, order: np.ndarray,
             scales: dict[int, float] | None, *, aggregate: bool) -> tuple[ObjectInference | None, dict[int, list]]:
    """Every task's objects matched and labelled: (the inference, per unit its consensus objects).

    `order[coder]` ranks the annotators for the matching and weighs their geometry (the label reliability when
    there is one, else equal). `aggregate`: the project's aggregation (Dawid-Skene over every object of the
    project) rather than the majority of each object's labels. Keypoints need `scales` (per unit,
    sqrt(image area)); tasks without one have no keypoint objects.
    """
    given = _drawn_by_unit(data, labels)
    units = sorted(given)
    matched: dict[str, obj.Matched] = {}
    offset: dict[str, int] = {}
    sources: dict[str, list[list[dict]]] = {}
    total = 0
    for kind in object_tools(schema):
        chosen = [u for u in units if kind != "keypoint" or (scales or {}).get(u)]
        items = [given[u] for u in chosen]
        found = obj.match_objects(items, kind=kind, reliability=order,
                                  scale=[scales[u] for u in chosen] if kind == "keypoint" else None)
        # Back to the data's units, and each answer's objects, to read members from.
        found = replace(found, item=np.asarray(chosen, dtype=np.int64)[found.item] if found.n_units else found.item,
                        answers=[(chosen[i], coder) for i, coder in found.answers])
        sources[kind] = [objects for item in items for _, objects in item]
        matched[kind], offset[kind] = found, total
        total += found.n_units
    if total == 0:
        return None, {}
    unit = np.concatenate([m.unit + offset[k] for k, m in matched.items()])
    coder = np.concatenate([m.coder for m in matched.values()])
    label = np.concatenate([m.label for m in matched.values()])
    classes, value = np.unique(label, return_inverse=True)
    args = (unit, coder, value.astype(np.int64), total, len(data.user_ids), len(classes))
    method = project.aggregation if aggregate and len(classes) <= DS_MAX_CLASSES else "majority"
    result = inf.METHODS[method](*args)
    answer, confidence = inf.back_off(result.posterior, labels.taxonomy.ancestors[classes],
                                      project_threshold(project), labels.allowed)
    found = ObjectInference(matched, offset, classes, result, answer, confidence, method,
                            {int(c): float(result.reliability[c]) for c in np.unique(coder)})
    return found, _consensus_objects(found, sources, labels, data, order)


def _consensus_objects(found: ObjectInference, sources: dict[str, list[list[dict]]], labels: Labels,
                       data: Collected, order: np.ndarray) -> dict[int, list[dict]]:
    """Per unit, the objects a majority of its annotators drew: consensus geometry, inferred label."""
    answered = np.bincount([unit for unit, _, _ in data.results], minlength=len(data.task_ids))
    out: dict[int, list[dict]] = {}
    for kind, m in found.matched.items():
        if not m.n_units:
            continue
        members = [sources[kind][a][p] for a, p in zip(m.answer, m.position)]
        shapes = obj.representatives(kind, members, m.unit, order[m.coder], m.n_units)
        label = found.label_of(kind, np.arange(m.n_units))
        confidence = found.confidence[found.offset[kind]:found.offset[kind] + m.n_units]
        for u in range(m.n_units):
            item = int(m.item[u])
            if m.support[u] < answered[item] // 2 + 1 or label[u] < 0:
                continue
            out.setdefault(item, []).append({
                "tool": kind, "label": labels.ids[int(label[u])], **shapes[u],
                "confidence": num(confidence[u] * m.support[u] / answered[item]), "annotators": int(m.support[u])})
    for objects in out.values():
        objects.sort(key=_reading_order)
    return out


def _reading_order(o: dict) -> tuple:
    """Consensus objects by tool, then left to right, top to bottom (then size)."""
    position = o.get("bbox") or o.get("point") or [min(x for x, _ in o["points"]), min(y for _, y in o["points"])]
    return (GEOMETRY_TOOLS.index(o["tool"]), *position)
