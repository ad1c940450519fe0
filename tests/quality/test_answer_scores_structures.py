"""answer_scores for spans (peer agreement: mean matched F1 against each other counted answer on the task) and
for polygons and keypoints (against the task's consensus objects, localisation x label), with every expected
score worked out by hand in the comments."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from annotator.db import utcnow
from annotator.runtime import runtime
from tasks import importing
from tasks.models import Media, Project, Task
from tasks.quality.scores import answer_scores
from tests.factories import create_project, nxt

TWO_LABELS = [{"id": "bird", "name": "Bird"}, {"id": "bat", "name": "Bat"}]
TEXT = "The yellow warbler sang at dawn by the river, then flew off."  # 60 code points


def text_task(client, owner, tools: list[str]) -> tuple[dict, int]:
    project = create_project(client, owner, name="Spans", media_type="text", visibility="public", overlap=3,
                             label_schema={"tools": tools, "labels": TWO_LABELS})
    response = client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": TEXT}}], headers=owner)
    assert response.status_code == 201, response.get_json()
    return project, response.get_json()["task_ids"][0]


def image_task(app, client, owner, tools: list[str], width: int = 200, height: int = 100) -> tuple[dict, int]:
    """A project with one task on an uploaded width x height image (as an import job would leave it)."""
    project = create_project(client, owner, visibility="public", overlap=3,
                             label_schema={"tools": tools, "labels": TWO_LABELS})
    sha = "ab" * 32
    with app.app_context():
        session = runtime().session_factory()
        session.add(Media(sha256=sha, content_type="image/jpeg", width=width, height=height, size_bytes=1, phash=0,
                          created_at=utcnow()))
        session.flush()
        stored = session.get(Project, project["id"])
        importing.insert_tasks(session, stored, importing.prepare(session, stored, [{"data": {"image": f"/media/{sha}"}}],
                                                                  uploaded=frozenset([sha])), utcnow())
        session.commit()
        task_id = session.scalar(select(Task.id).where(Task.project_id == project["id"]))
        session.close()
    return project, task_id


def submit(client, project, headers, result: dict) -> int:
    """Take the project's (only) task and answer it; the new annotation's id."""
    lease = nxt(client, project, headers).get_json()
    response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation", json={"result": result},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def scores_of(app, project_id: int, task_id: int, *, queries: list | None = None) -> dict[int, float]:
    """answer_scores in a fresh session; with `queries`, the SQL it ran is appended there."""
    engine = runtime(app).engine
    with runtime(app).session_factory() as session:
        project, task = session.get(Project, project_id), session.get(Task, task_id)

        def seen(conn, cursor, statement, parameters, context, executemany):
            queries.append(statement)

        if queries is not None:
            event.listen(engine, "before_cursor_execute", seen)
        try:
            return {annotation_id: scored.value for annotation_id, scored in answer_scores(session, project, task).items()}
        finally:
            if queries is not None:
                event.remove(engine, "before_cursor_execute", seen)


def span(start, end, label="bird"):
    return {"start": start, "end": end, "label": label}


def square(x, y, w, h, label="bird"):
    return {"tool": "polygon", "label": label, "points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]}


def keypoint(x, y, label="bird"):
    return {"tool": "keypoint", "label": label, "point": [x, y]}


# ------------------------------------------------------------------------------------------------------
# Spans
# ------------------------------------------------------------------------------------------------------

def test_spans_score_by_mean_f1_against_the_other_answers(app, client, owner, annotators):
    project, task_id = text_task(client, owner, ["span"])
    a = submit(client, project, annotators[0], {"spans": [span(0, 10)]})
    b = submit(client, project, annotators[1], {"spans": [span(0, 10)]})
    assert scores_of(app, project["id"], task_id) == {a: 1.0, b: 1.0}  # the same span: F1 1 each way

    # [0, 8) overlaps [0, 10) with IoU 8/10 = 0.8 >= 0.5, so it matches (its other label does not matter);
    # [20, 30) matches nothing. Against a or b: 1 matched of 1 + 2 spans, F1 = 2/3.
    c = submit(client, project, annotators[2], {"spans": [span(0, 8, "bat"), span(20, 30)]})
    queries: list = []
    scores = scores_of(app, project["id"], task_id, queries=queries)
    assert scores == pytest.approx({a: (1 + 2 / 3) / 2, b: (1 + 2 / 3) / 2, c: (2 / 3 + 2 / 3) / 2}, abs=1e-12)
    assert scores[a] == pytest.approx(5 / 6) and scores[c] == pytest.approx(2 / 3)
    # No classify, no boxes: no consensus to compute, no image to look up; the answers are the only query.
    assert len(queries) == 1, queries


def test_spans_below_the_iou_threshold_do_not_match(app, client, owner, annotators):
    project, task_id = text_task(client, owner, ["span"])
    a = submit(client, project, annotators[0], {"spans": [span(0, 10)]})
    b = submit(client, project, annotators[1], {"spans": [span(0, 4)]})  # IoU 4/10 = 0.4 < 0.5
    assert scores_of(app, project["id"], task_id) == {a: 0.0, b: 0.0}


def test_labels_and_spans_average_and_drawing_nothing_disagrees_with_drawing(app, client, owner, annotators):
    project, task_id = text_task(client, owner, ["classify", "span"])
    a = submit(client, project, annotators[0], {"labels": ["bird"], "spans": [span(4, 18)]})
    b = submit(client, project, annotators[1], {"labels": ["bird"], "spans": [span(4, 18)]})
    c = submit(client, project, annotators[2], {"labels": ["bat"]})  # no spans at all
    # Labels against the consensus "bird" (2 of 3): 1, 1, 0. Spans: a-b F1 1, a-c and b-c F1 0 (one drew a
    # span, the other none), so a and b 1/2, c 0. Each answer: the mean of its two parts.
    assert scores_of(app, project["id"], task_id) == pytest.approx({a: 0.75, b: 0.75, c: 0.0}, abs=1e-12)


def test_a_tool_nobody_on_the_task_used_is_no_part_and_one_that_somebody_used_is(app, client, owner, annotators):
    project, task_id = text_task(client, owner, ["classify", "span"])
    ids = [submit(client, project, headers, {"labels": [label]})
           for headers, label in zip(annotators, ["bird", "bird", "bat"])]
    # No spans anywhere: labels alone (a span part of 1 for "both drew none" would give the wrong answer 1/2).
    assert scores_of(app, project["id"], task_id) == dict(zip(ids, [1.0, 1.0, 0.0]))

    other, other_task = text_task(client, owner, ["classify", "span"])
    a = submit(client, other, annotators[0], {"labels": ["bird"], "spans": [span(0, 10)]})
    b = submit(client, other, annotators[1], {"labels": ["bird"]})
    c = submit(client, other, annotators[2], {"labels": ["bird"]})
    # Labels 1 each. Spans: a-b and a-c F1 0 (one drew, one did not), b-c F1 1 (neither drew): a 0, b and c 1/2.
    assert scores_of(app, other["id"], other_task) == {a: 0.5, b: 0.75, c: 0.75}


# ------------------------------------------------------------------------------------------------------
# Polygons
# ------------------------------------------------------------------------------------------------------

def test_polygons_score_against_the_consensus_polygon_and_a_wrong_label_earns_nothing(app, client, owner,
                                                                                     annotators):
    project, task_id = image_task(app, client, owner, ["polygon"])
    a = submit(client, project, annotators[0], {"objects": [square(10, 10, 40, 40)]})
    b = submit(client, project, annotators[1], {"objects": [square(20, 10, 40, 40)]})
    triangle = {"tool": "polygon", "label": "bird", "points": [[120, 20], [150, 20], [120, 50]]}
    c = submit(client, project, annotators[2], {"objects": [square(10, 10, 40, 30, "bat"), triangle]})
    # IoUs: a-b overlap 30 x 40 = 1200 of 1600 + 1600 - 1200 = 2000, 0.6; a-c 1200/1600 = 0.75 (c's rectangle
    # lies inside a's); b-c 900 of 1600 + 1200 - 900 = 1900, 0.474.
    # Matching (annotators in order): b's square joins a's (0.6); c's rectangle joins them (mean 0.612 >= 0.5);
    # the triangle is an object of its own, drawn by 1 of 3 (below the quorum of 2): not in the consensus.
    # The consensus polygon is the member most like the others: a's (1 + 0.6 + 0.75 = 2.35, b's 2.07, c's 2.22);
    # its label the majority, "bird" (2 of 3).
    # a: IoU 1, right label: 2 x 1 / (1 + 1) = 1.   b: IoU 0.6, localisation 0.6 / 0.75 = 0.8: 0.8.
    # c: its rectangle is in the right place (IoU 0.75) but "bat": label credit 0; the triangle is an extra: 0.
    scores = scores_of(app, project["id"], task_id)
    assert scores == pytest.approx({a: 1.0, b: 0.8, c: 0.0}, abs=1e-12)


def test_polygons_ignore_other_tools_objects_and_boxes_still_score_against_the_consensus(app, client, owner,
                                                                                         annotators):
    project, task_id = image_task(app, client, owner, ["bbox", "polygon"])
    box = {"tool": "bbox", "label": "bird", "bbox": [100, 20, 40, 40]}
    a = submit(client, project, annotators[0], {"objects": [box, square(10, 10, 40, 40)]})
    b = submit(client, project, annotators[1], {"objects": [box, square(10, 10, 40, 40)]})
    c = submit(client, project, annotators[2], {"objects": [square(10, 10, 40, 40)]})
    # Boxes: the consensus is the box a and b drew (2 of 3): F1 1, 1, and 0 for c who drew none.
    # Polygons: all three drew the same square (the boxes are not polygons): 1 each.
    assert scores_of(app, project["id"], task_id) == {a: 1.0, b: 1.0, c: 0.5}


# ------------------------------------------------------------------------------------------------------
# Keypoints
# ------------------------------------------------------------------------------------------------------

def keypoint_answers(app, client, owner, annotators) -> tuple[dict, int, list[int]]:
    project, task_id = image_task(app, client, owner, ["classify", "keypoint"], width=200, height=100)
    points = [[keypoint(50, 50), keypoint(150, 80)],
              [keypoint(58, 50)],
              [keypoint(50, 50), keypoint(150, 80), keypoint(10, 10)]]
    ids = [submit(client, project, headers, {"labels": ["bird"], "objects": objects})
           for headers, objects in zip(annotators, points)]
    return project, task_id, ids


def test_keypoints_are_matched_against_the_image_size(app, client, owner, annotators):
    project, task_id, (a, b, c) = keypoint_answers(app, client, owner, annotators)
    # sqrt(200 x 100) = 141.4 px, so similarity exp(-d^2 / (2 (0.05 x 141.4)^2)) = exp(-d^2 / 100): 8 px apart
    # is exp(-0.64) = 0.53, a match; 40 px or more is none.
    # Matching in order a, b, c: (58, 50) joins a's (50, 50); c's (50, 50) joins them (mean 0.76), (150, 80)
    # joins a's, (10, 10) is alone (1 of 3, below the quorum of 2). Consensus points, the means:
    # (52.67, 50) and (150, 80).
    # a: both within 2.67 px, similarity 0.93 >= 0.75, fully localised: 2 x 2 / (2 + 2) = 1.
    # b: 5.33 px, similarity exp(-0.284) = 0.753 >= 0.75: 2 x 1 / (1 + 2) = 2/3.
    # c: two matched, one extra: 2 x 2 / (3 + 2) = 4/5.
    # Every label is "bird", the consensus: label part 1. Each answer: (1 + its keypoint part) / 2.
    queries: list = []
    scores = scores_of(app, project["id"], task_id, queries=queries)
    assert scores == pytest.approx({a: 1.0, b: (1 + 2 / 3) / 2, c: (1 + 4 / 5) / 2}, abs=1e-12)
    # The answers, the image size and the task's consensus (its answers again: classify is on).
    assert len(queries) == 3, queries


def test_keypoints_on_an_image_of_unknown_size_get_no_part(app, client, owner, annotators):
    project, task_id, ids = keypoint_answers(app, client, owner, annotators)
    with runtime(app).session_factory() as session:
        session.execute(update(Task).where(Task.id == task_id).values(media_sha256=None))
        session.commit()
    # Only the label part is left (1 each); a keypoint part of 0 would make it 1/2.
    assert scores_of(app, project["id"], task_id) == {answer: 1.0 for answer in ids}


def test_a_smaller_image_makes_the_same_points_disagree(app, client, owner, annotators):
    project, task_id = image_task(app, client, owner, ["keypoint"], width=100, height=100)
    a = submit(client, project, annotators[0], {"objects": [keypoint(50, 50)]})
    b = submit(client, project, annotators[1], {"objects": [keypoint(58, 50)]})
    # sqrt(100 x 100) = 100 px: similarity exp(-64 / (2 x 5^2)) = exp(-1.28) = 0.28 < 0.5, no match.
    assert scores_of(app, project["id"], task_id) == {a: 0.0, b: 0.0}


# ------------------------------------------------------------------------------------------------------
# Alone on a task
# ------------------------------------------------------------------------------------------------------

def test_an_answer_alone_gets_no_peer_part(app, client, owner, annotators):
    spans_only, task_id = text_task(client, owner, ["span"])
    alone = submit(client, spans_only, annotators[0], {"spans": [span(0, 10)]})
    assert scores_of(app, spans_only["id"], task_id) == {alone: 0.0}  # no part at all

    with_labels, other_task = text_task(client, owner, ["classify", "span"])
    labelled = submit(client, with_labels, annotators[0], {"labels": ["bird"], "spans": [span(0, 10)]})
    # Its label is the consensus (1); no span part, which would pull it to 1/2 or keep it at 1 only by luck.
    assert scores_of(app, with_labels["id"], other_task) == {labelled: 1.0}

    # Objects are scored against the consensus, and alone on its task an answer is the consensus (as a label is).
    polygons, image = image_task(app, client, owner, ["polygon"])
    drawn = submit(client, polygons, annotators[1], {"objects": [square(10, 10, 40, 40)]})
    assert scores_of(app, polygons["id"], image) == {drawn: 1.0}


def test_boxes_nobody_drew_are_no_part_so_a_wrong_label_earns_nothing(app, client, owner, annotators):
    project, task_id = image_task(app, client, owner, ["classify", "bbox"])
    ids = [submit(client, project, headers, {"labels": [label]})
           for headers, label in zip(annotators, ["bird", "bird", "bat"])]
    # Consensus "bird"; no boxes anywhere: labels alone decide (a box part of F1 1 would have given "bat" 0.5).
    assert scores_of(app, project["id"], task_id) == {ids[0]: 1.0, ids[1]: 1.0, ids[2]: 0.0}
