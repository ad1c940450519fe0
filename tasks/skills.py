"""Per-subtree skills: how often each annotator is right within each subtree of a project's taxonomy.

Evidence is an annotator's counted answer whose right answer is known well enough: a gold task's gold labels
(credit: the answer's gold score), or a task's consensus (its inferred labels, Dawid-Skene where the project
uses it; credit: the same scoring as gold, tasks.gold, so naming an ancestor earns partial credit by depth).
Each answer is evidence for every node on its reference label's path, so a warbler answer counts for
"Warbler", "Songbird" and "Bird"; the row labelled "" (WHOLE) counts every answer.

Per (annotator, node) with at least MIN_ANSWERS answers: a Beta posterior over the chance of being right,
from a uniform prior (Beta(1, 1)) updated with the summed credit as successes: its mean, and its 95%
equal-tailed interval (scipy.stats.beta). A gold answer counts as one answer; an answer scored against a
consensus counts as that consensus's confidence of one (its posterior, or majority share): where the crowd is
unsure, agreeing with it says little. With at least MIN_GOLD gold answers in a subtree, gold alone measures it:
in a subtree most people get wrong the consensus is often wrong itself, and only gold finds the expert there
(bench/routing_bench.py measured it: on consensus evidence the experts of the hard subtrees were never proven). An annotator is proven in a subtree when the interval's low end is
at least PROVEN_LOW: skill routing (tasks.assignment) hands them that subtree's unsure tasks first.

A consensus includes the annotator's own answer, so agreement with it flatters everyone a little (most with
few answers per task); gold does not. Whole-item labels are evidence against the task's consensus labels, and
the label of each drawn object (box, polygon, keypoint) against the label inferred for the consensus object it was
matched to, weighted by that label's confidence. Flushes, never commits.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass

from scipy import stats
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotator.db import insert_skipping_duplicates
from tasks import gold as gold_scoring
from tasks.models import Annotation, Project, Skill, SkillSet, SubtreeStanding, Task
from tasks.projects import current_schema
from tasks.quality.answers import Collected, collect, image_scales, labels_of
from tasks.quality.consensus import Consensus, Inferred, ObjectInference, Signature, infer, is_fresh
from tasks.schema import LabelSchema

WHOLE = ""  # the whole project's row
MIN_ANSWERS = 3  # fewer answers in a subtree say too little to list
PROVEN_LOW = 0.5  # the interval's low end from which an annotator is proven in a subtree (5 right of 5)
MIN_GOLD = 5  # gold answers in a subtree from which its skill is measured on gold alone
PRIOR = (1.0, 1.0)  # Beta(1, 1): uniform


@dataclass(frozen=True)
class Estimate:
    """One annotator's skill in one subtree (`label`; WHOLE for the project)."""

    user_id: int
    label: str
    answers: int
    accuracy: float
    low: float
    high: float
    last_evidence_at: dt.datetime

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "label": self.label or None, "accuracy": round(self.accuracy, 4),
                "low": round(self.low, 4), "high": round(self.high, 4), "answers": self.answers,
                "last_evidence_at": self.last_evidence_at.isoformat()}


def beta_posterior(successes: float, trials: int) -> tuple[float, float, float]:
    """The Beta posterior's mean and 95% equal-tailed interval after `successes` out of `trials` (uniform prior)."""
    a, b = PRIOR[0] + successes, PRIOR[1] + trials - successes
    low, high = stats.beta.ppf([0.025, 0.975], a, b)
    return a / (a + b), float(low), float(high)


def estimate(schema: LabelSchema, evidence: list[tuple[int, list[str], float, dt.datetime, float | None]]
             ) -> list[Estimate]:
    """Skills from evidence rows (user id, reference labels, credit 0..1, when answered, the consensus's confidence
    or None for gold), in user then label order. A row counts as one answer in the posterior if gold, else as its
    consensus's confidence of one."""
    # Per (user, node): [answers, weight, weighted credit, last] for all evidence, then for gold alone.
    sums: dict[tuple[int, str], list] = defaultdict(lambda: [0, 0.0, 0.0, None, 0, 0.0])
    for user_id, wanted, credit, at, confidence in evidence:
        weight = 1.0 if confidence is None else confidence
        nodes = {WHOLE} | {node for label in wanted if label in schema.labels for node in schema.labels[label].path}
        for node in nodes:
            held = sums[(user_id, node)]
            held[0] += 1
            held[1] += weight
            held[2] += weight * credit
            held[3] = at if held[3] is None or at > held[3] else held[3]
            if confidence is None:
                held[4] += 1
                held[5] += credit
    found = []
    for (user_id, label), (answers, weight, credit, last, gold, gold_credit) in sorted(sums.items()):
        if gold >= MIN_GOLD:  # enough gold in this subtree: the truth, not a consensus that may be wrong there
            answers, weight, credit = gold, float(gold), gold_credit
        if answers >= MIN_ANSWERS:
            accuracy, low, high = beta_posterior(credit, weight)
            found.append(Estimate(user_id, label, answers, accuracy, low, high, last))
    return found


def signature(session: Session, project_id: int) -> Signature:
    """The answers skills are computed from: every counted answer on an unretired task, gold included."""
    count, last = session.execute(select(func.count(), func.max(Annotation.id)).select_from(Annotation).join(
        Task, Task.id == Annotation.task_id).where(
        Annotation.project_id == project_id, Annotation.counted.is_(True), Task.status != "retired")).one()
    return Signature(int(count or 0), int(last or 0))


def inferred_now(session: Session, project: Project) -> tuple[Collected, Inferred]:
    """The project's answers and their truth inference now (what the quality report computes)."""
    schema, labels = current_schema(project), labels_of(project)
    data = collect(session, project.id)
    scales = image_scales(session, project.id, data) if "keypoint" in schema.tools else None
    return data, infer(project, schema, labels, data, scales)


def compute(session: Session, project: Project, consensus: dict[int, Consensus],
            objects: tuple[Collected, ObjectInference | None] | None = None) -> list[Estimate]:
    """The project's skills now, with `consensus` (task id -> its inferred answer) as the truth of non-gold tasks'
    whole-item labels, and `objects` (the answers and their objects matched and labelled) as the truth of the
    labels of drawn objects (boxes, polygons, keypoints)."""
    schema = current_schema(project)
    evidence = _label_evidence(session, project, schema, consensus) if "classify" in schema.tools else []
    if objects is not None and objects[1] is not None:
        evidence += _object_evidence(session, project, schema, *objects)
    return estimate(schema, evidence)


def _label_evidence(session: Session, project: Project, schema: LabelSchema, consensus: dict[int, Consensus]) -> list:
    rows = session.execute(
        select(Annotation.user_id, Annotation.task_id, Annotation.result, Annotation.created_at,
               Annotation.gold_score, Task.is_gold, Task.gold)
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project.id, Annotation.counted.is_(True), Task.status != "retired")
        .execution_options(yield_per=5000))
    evidence = []
    for user_id, task_id, result, at, gold_score, is_gold, gold in rows:
        given = (result or {}).get("labels") or []
        if is_gold:
            wanted, credit, weight = (gold or {}).get("labels") or [], gold_score, None
        else:
            found = consensus.get(task_id)
            wanted = ((found.result or {}).get("labels") or []) if found is not None else []
            credit = gold_scoring.score(schema, {"labels": given}, {"labels": wanted}) if wanted else None
            weight = float(found.confidence) if found is not None and found.confidence is not None else 0.0
        if wanted and credit is not None and (weight is None or weight > 0):
            evidence.append((user_id, wanted, float(credit), at, weight))
    return evidence


def _object_evidence(session: Session, project: Project, schema: LabelSchema, data: Collected,
                     found: ObjectInference) -> list:
    """Per object an annotator drew that was matched to a consensus object with a label: its label against that
    one (credit as gold scores labels), weighted by the consensus label's confidence."""
    ids = labels_of(project).ids
    when = dict(((task_id, user_id), at) for task_id, user_id, at in session.execute(
        select(Annotation.task_id, Annotation.user_id, Annotation.created_at).where(
            Annotation.project_id == project.id, Annotation.counted.is_(True))))
    evidence = []
    for kind, matched in found.matched.items():
        for unit, coder, label in zip(matched.unit, matched.coder, matched.label):
            wanted = int(found.answer[found.offset[kind] + unit])
            confidence = float(found.confidence[found.offset[kind] + unit])
            if wanted < 0 or not confidence > 0:
                continue
            given = [ids[int(label)]] if label >= 0 else []
            user_id, task_id = data.user_ids[int(coder)], data.task_ids[int(matched.item[unit])]
            credit = gold_scoring.score(schema, {"labels": given}, {"labels": [ids[wanted]]})
            evidence.append((user_id, [ids[wanted]], credit, when[(task_id, user_id)], confidence))
    return evidence


def store(session: Session, project: Project, found: list[Estimate], computed_from: Signature,
          now: dt.datetime) -> None:
    """Keep a computation (replacing the project's last one), unless a newer one was kept meanwhile."""
    session.execute(insert_skipping_duplicates(session, SkillSet.__table__).values(
        project_id=project.id, annotations=0, last_annotation_id=-1, computed_at=now))
    kept = session.get(SkillSet, project.id, with_for_update=True, populate_existing=True)
    if kept.last_annotation_id > computed_from.last_annotation_id:
        return
    kept.annotations, kept.last_annotation_id, kept.computed_at = (computed_from.annotations,
                                                                   computed_from.last_annotation_id, now)
    session.execute(delete(Skill).where(Skill.project_id == project.id))
    rows = [{"project_id": project.id, "user_id": e.user_id, "label": e.label, "answers": e.answers,
             "accuracy": e.accuracy, "low": e.low, "high": e.high, "last_evidence_at": e.last_evidence_at}
            for e in found]
    for start in range(0, len(rows), 1000):
        session.execute(insert(Skill), rows[start:start + 1000])
    session.flush()


def refresh(session: Session, project: Project, now: dt.datetime) -> list[Estimate]:
    """Compute (the truth inferred now over the project) and keep the project's skills."""
    computed_from = signature(session, project.id)
    data, inferred = inferred_now(session, project)
    found = compute(session, project, inferred.consensus, (data, inferred.objects))
    store(session, project, found, computed_from, now)
    return found


def is_stale(session: Session, project_id: int) -> bool:
    kept = session.get(SkillSet, project_id)
    held = None if kept is None else Signature(kept.annotations, kept.last_annotation_id)
    return not is_fresh(held, signature(session, project_id))


def stored(session: Session, project_id: int, user_id: int | None = None) -> list[Estimate]:
    query = select(Skill).where(Skill.project_id == project_id)
    if user_id is not None:
        query = query.where(Skill.user_id == user_id)
    return [Estimate(s.user_id, s.label, s.answers, s.accuracy, s.low, s.high, s.last_evidence_at)
            for s in session.scalars(query.order_by(Skill.user_id, Skill.label))]


def current(session: Session, project: Project, *, on_request_limit: int,
            user_id: int | None = None) -> tuple[list[Estimate], bool]:
    """The project's skills (one annotator's with `user_id`) and whether they are out of date: computed now for a
    project of up to `on_request_limit` answers, else the quality worker's last (the caller queues a fresh one)."""
    if signature(session, project.id).annotations <= on_request_limit:
        data, inferred = inferred_now(session, project)
        found = compute(session, project, inferred.consensus, (data, inferred.objects))
        return [e for e in found if user_id is None or e.user_id == user_id], False
    return stored(session, project.id, user_id), is_stale(session, project.id)


def routes(session: Session, project: Project, user_id: int) -> tuple[list[str], list[str]]:
    """Skill routing's two label lists for an annotator, from kept skills: theirs (the labels under every subtree
    they are proven in: its unsure tasks are handed to them first) and held back (the labels under subtrees where
    someone else is proven and they are not: those started tasks wait for the experts, offered to them only when
    nothing else is left). Who is proven where is read once per kept computation and process (_PROVEN), so a
    `next` costs one primary-key lookup however many annotators and subtrees the project has."""
    kept = session.get(SkillSet, project.id)
    if kept is None:
        return [], []
    key = (project.id, kept.computed_at, kept.last_annotation_id, project.schema_version)
    proven = _PROVEN.get(key)
    if proven is None:
        proven = defaultdict(set)
        for who, label in session.execute(select(Skill.user_id, Skill.label).where(
                Skill.project_id == project.id, Skill.label != WHOLE, Skill.low >= PROVEN_LOW)):
            proven[label].add(who)
        with _PROVEN_LOCK:  # web threads share it
            while len(_PROVEN) >= _PROVEN_SIZE:
                _PROVEN.pop(next(iter(_PROVEN)))
            _PROVEN[key] = proven
    if not proven:
        return [], []
    schema = current_schema(project)
    mine = _under(schema, {label for label, who in proven.items() if user_id in who})
    others = _under(schema, {label for label, who in proven.items() if who - {user_id}})
    return sorted(mine), sorted(others - mine)


# (project, kept computation, schema version) -> label -> the annotators proven in its subtree; a few projects' worth.
_PROVEN: dict[tuple, dict[str, set[int]]] = {}
_PROVEN_SIZE = 64
_PROVEN_LOCK = threading.Lock()


def _under(schema: LabelSchema, nodes: set[str]) -> set[str]:
    """Every label in the subtrees of `nodes` (the nodes themselves included)."""
    if not nodes:
        return set()
    return {label for label in schema.labels if not nodes.isdisjoint(schema.labels[label].path)}


def lost_subtrees(session: Session, project_id: int, user_id: int) -> list[str]:
    """The subtrees (their top labels) where the annotator failed the gold scoped to them: their answers inside
    do not count (tasks.annotations)."""
    return list(session.scalars(select(SubtreeStanding.label).where(
        SubtreeStanding.project_id == project_id, SubtreeStanding.user_id == user_id,
        SubtreeStanding.disqualified.is_(True)).order_by(SubtreeStanding.label)))


def tier_of(session: Session, project: Project, user_id: int) -> tuple[int, float]:
    """The expert tier (1-based; 0: none) and its multiplier the annotator holds now under the project's
    `rewards.tiers`: the highest whose min_accuracy their kept project-wide skill reaches over at least its
    min_answers answers."""
    tiers = (project.rewards or {}).get("tiers") or []
    if not tiers:
        return 0, 1.0
    whole = session.get(Skill, (project.id, user_id, WHOLE))
    held = (0, 1.0)
    for number, tier in enumerate(tiers, start=1):
        if whole is not None and whole.accuracy >= tier["min_accuracy"] and whole.answers >= tier["min_answers"]:
            held = (number, float(tier["multiplier"]))
    return held


def uses_skills(project: Project) -> bool:
    """Whether the project's work reads kept skills: skill routing, or expert tiers."""
    return project.routing == "skill" or bool((project.rewards or {}).get("tiers"))


def projects_to_refresh(session: Session) -> list[int]:
    """Active projects that route by skill or pay by tier, whose kept skills do not cover their answers as they are."""
    active = session.scalars(select(Project).where(Project.status == "active").order_by(Project.id)).all()
    return [project.id for project in active if uses_skills(project) and is_stale(session, project.id)]
