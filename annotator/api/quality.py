"""Quality: a project's agreement (owners, managers, reviewers), a task's consensus, and skills per subtree."""
from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate

from annotator.api.core import Reply, route
from annotator.api.fields import In
from annotator.errors import NotFound
from annotator.web import db_session, request_now
from annotator.workflows import quality
from tasks import projects, skills
from tasks.models import Task

bp = Blueprint("quality_api", __name__)
TAG = "quality"


class PerAnnotator(Schema):
    user_id = fields.Integer()
    annotations = fields.Integer()
    agreement_with_consensus = fields.Float(allow_none=True)
    gold_accuracy = fields.Float(allow_none=True)
    reliability = fields.Float(allow_none=True)


class ObjectAnnotator(Schema):
    user_id = fields.Integer()
    objects = fields.Integer(metadata={"description": "objects drawn"})
    agreement_with_consensus = fields.Float(allow_none=True, metadata={
        "description": "mean score of their objects against the consensus objects (what the bonus pays for)"})
    reliability = fields.Float(allow_none=True)


class ObjectsOut(Schema):
    kinds = fields.List(fields.String(), metadata={"description": "the geometry tools drawn: bbox, polygon, keypoint"})
    objects = fields.Integer(metadata={"description": "objects matched across the answers to each task"})
    matched_pairs = fields.Integer()
    localisation = fields.Float(allow_none=True, metadata={"description": "mean IoU (keypoint similarity) of matched "
                                                                         "pairs"})
    krippendorff_alpha = fields.Float(allow_none=True)
    alpha_interval = fields.List(fields.Float(allow_none=True), allow_none=True)
    alpha_distance = fields.String(allow_none=True)
    nominal_alpha = fields.Float(allow_none=True)
    fleiss_kappa = fields.Float(allow_none=True)
    mean_pairwise_cohen_kappa = fields.Float(allow_none=True)
    cohen_kappa_matrix = fields.Dict(allow_none=True)
    per_label = fields.Dict(metadata={"description": "label id -> {alpha, annotations}"})
    no_object = fields.Dict(metadata={"description": "{alpha, annotations}: an annotator drew nothing where "
                                                     "another drew an object"})
    confusion = fields.Dict(allow_none=True, metadata={"description": "as the report's; a null label is no object"})
    method = fields.String(metadata={"description": "how the objects' labels were inferred: majority, dawid_skene "
                                                    "or dawid_skene_prior"})
    per_annotator = fields.List(fields.Nested(ObjectAnnotator))


class AgreementOut(Schema):
    krippendorff_alpha = fields.Float(allow_none=True)
    alpha_interval = fields.List(fields.Float(allow_none=True), allow_none=True,
                                 metadata={"description": "bootstrap 95% interval over tasks, seeded"})
    alpha_distance = fields.String(allow_none=True, metadata={"description": "taxonomy or nominal"})
    nominal_alpha = fields.Float(allow_none=True)
    fleiss_kappa = fields.Float(allow_none=True)
    mean_pairwise_cohen_kappa = fields.Float(allow_none=True)
    per_label = fields.Dict(metadata={"description": "label id -> {alpha, annotations}"})
    confusion = fields.Dict(allow_none=True, metadata={
        "description": "single-label projects: {labels, pairs}, the labels most often in disagreement; pairs[i][j] "
                       "counts pairs of answers to one task giving labels[i] and labels[j] (i == j: agreeing)"})
    cohen_kappa_matrix = fields.Dict(allow_none=True, metadata={"description": "{user_ids, kappa}, up to 100 "
                                                                                "annotators"})
    per_annotator = fields.List(fields.Nested(PerAnnotator))
    measured_on = fields.String(allow_none=True, metadata={
        "description": "labels (whole-item labels) or objects (the labels of objects matched across answers, when "
                       "the project has no whole-item labels): what the measures above describe"})
    objects = fields.Nested(ObjectsOut, allow_none=True, metadata={
        "description": "projects with boxes, polygons or keypoints: every object matched across a task's answers is "
                       "a unit, each annotator gives it their object's label or no object; null when nobody drew"})
    method = fields.String(allow_none=True, metadata={"description": "majority, dawid_skene or dawid_skene_prior"})
    annotations = fields.Integer(metadata={"description": "the annotations these numbers cover"})
    tasks = fields.Integer()
    computed_at = fields.String()
    stale = fields.Boolean(metadata={"description": "more annotations have arrived; a recomputation is queued"})
    bbox_f1 = fields.Dict(allow_none=True, metadata={
        "description": "box projects: mean IoU-matched F1 at 0.5 over pairs of answers, the matched pairs' mean IoU "
                       "(localisation) and label alpha; null when nobody drew a box"})
    polygon_f1 = fields.Dict(allow_none=True)
    keypoint_f1 = fields.Dict(allow_none=True)
    span_f1 = fields.Dict(allow_none=True)


class ConsensusOut(Schema):
    task_id = fields.Integer()
    result = fields.Dict(allow_none=True)
    confidence = fields.Float(allow_none=True)
    method = fields.String()
    agreement = fields.Float(allow_none=True, metadata={"description": "share of the task's answer pairs that agree"})
    annotations = fields.Integer()


@route(bp, "/projects/<int:project_id>/agreement", methods=["GET"], response=AgreementOut,
       summary="Agreement, per label and per annotator (owner, manager, reviewer); undefined values are null. "
               "Small projects are computed now; large ones come from the quality worker (202 until the first "
               "report exists)", tag=TAG)
def agreement(project_id: int):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="reviewer").project
    body, count = quality.current_report(db, project, request_now(), on_request_limit=_on_request_limit())
    db.commit()  # sends the recomputation a stale report asked for
    if body is None:
        return Reply({"status": "computing", "annotations": count}, status=202)
    return Reply(body)  # the report's own shape (AgreementOut documents it)


@route(bp, "/tasks/<int:task_id>/consensus", methods=["GET"], response=ConsensusOut,
       summary="The task's inferred answer with its confidence (owner, manager, reviewer)", tag=TAG)
def consensus(task_id: int):
    db = db_session()
    task, seen = projects.staff_row(db, Task, task_id, current_user, "task", need="reviewer")
    return quality.task_consensus(db, seen.project, task, on_request_limit=_on_request_limit()).as_dict()


class SkillOut(Schema):
    user_id = fields.Integer()
    label = fields.String(allow_none=True, metadata={"description": "the subtree's top label; null: the whole "
                                                                   "project"})
    accuracy = fields.Float(metadata={"description": "the Beta posterior's mean (uniform prior) of being right"})
    low = fields.Float(metadata={"description": "the 95% interval's low end"})
    high = fields.Float()
    answers = fields.Integer(metadata={"description": "answers with a known right answer (gold, or the consensus)"})
    last_evidence_at = fields.String()


class SkillsOut(Schema):
    items = fields.List(fields.Nested(SkillOut))
    proven_low = fields.Float(metadata={"description": "an annotator is proven in a subtree from this low end on "
                                                       "(skill routing hands them its unsure tasks first)"})
    min_answers = fields.Integer(metadata={"description": "subtrees with fewer answers are not listed"})
    stale = fields.Boolean(metadata={"description": "more answers have arrived; a recomputation is queued"})
    disqualified = fields.List(fields.String(), metadata={
        "description": "GET /me/skills: the subtrees where you failed the gold scoped to them (your answers inside "
                       "them do not count)"})


class ProjectSkillsQuery(In):
    user_id = fields.Integer(load_default=None, validate=validate.Range(min=1))


class MySkillsQuery(In):
    project_id = fields.Integer(required=True, validate=validate.Range(min=1))


@route(bp, "/projects/<int:project_id>/skills", methods=["GET"], query=ProjectSkillsQuery, response=SkillsOut,
       summary="Each annotator's accuracy per subtree of the taxonomy, with its 95% interval (owner, managers); "
               "user_id: one annotator's (404 for someone who neither belongs to nor answered in the project)",
       tag=TAG)
def project_skills(project_id: int, args: dict):
    db = db_session()
    project = projects.access(db, project_id, current_user, need="manager").project
    user_id = args["user_id"]
    if user_id is not None and not projects.takes_part(db, project, user_id):
        raise NotFound("No such annotator in this project.")
    found, stale = quality.current_skills(db, project, on_request_limit=_on_request_limit(), user_id=user_id)
    db.commit()  # sends the recomputation a stale set asked for
    return _skills(found, stale)


@route(bp, "/me/skills", methods=["GET"], query=MySkillsQuery, response=SkillsOut,
       summary="Your accuracy per subtree of a project's taxonomy, with its 95% interval", tag=TAG)
def my_skills(args: dict):
    db = db_session()
    project = projects.visible(db, args["project_id"], current_user)
    found, stale = quality.current_skills(db, project, on_request_limit=_on_request_limit(), user_id=current_user.id)
    db.commit()
    return {**_skills(found, stale), "disqualified": skills.lost_subtrees(db, project.id, current_user.id)}


def _skills(found: list[skills.Estimate], stale: bool) -> dict:
    return {"items": [e.as_dict() for e in found], "proven_low": skills.PROVEN_LOW, "min_answers": skills.MIN_ANSWERS,
            "stale": stale}


def _on_request_limit() -> int:
    return current_app.config["ANNOTATOR_QUALITY_ON_REQUEST"]
