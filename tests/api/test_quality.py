"""GET agreement and consensus: numbers checked against the reference libraries, nulls where undefined."""
from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa

from sqlalchemy import update

from annotator import queue
from annotator.runtime import runtime
from tasks import jobs, skills
from tasks.models import Task
from tasks.quality.agreement import Taxonomy
from tests.factories import ANSWERS, LABELS, answer, assert_problem, create_project, create_text_project, label_as, nxt


def reliability_matrix():
    return np.array([[LABELS.index(a) if a else np.nan for a in row] for row in ANSWERS], dtype=float)


def test_agreement_matches_the_reference_libraries(client, owner, labelled):
    project, _ = labelled
    response = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert response.status_code == 200
    body = response.get_json()
    data = reliability_matrix()
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1, 2])
    assert body["alpha_distance"] == "nominal"
    assert body["krippendorff_alpha"] == pytest.approx(expected, abs=1e-6)
    assert body["nominal_alpha"] == pytest.approx(expected, abs=1e-6)
    low, high = body["alpha_interval"]
    assert low <= body["krippendorff_alpha"] <= high
    assert body["annotations"] == 14 and body["tasks"] == 5 and body["method"] == "majority"
    assert set(body["per_label"]) == set(LABELS)
    matrix = body["cohen_kappa_matrix"]
    assert matrix["kappa"][0][0] is None and matrix["kappa"][0][1] == matrix["kappa"][1][0]
    assert body["mean_pairwise_cohen_kappa"] == pytest.approx(
        np.mean([k for row in matrix["kappa"] for k in row if k is not None]), abs=1e-6)
    assert [row["annotations"] for row in body["per_annotator"]] == [5, 4, 5]
    # Majorities: positive, negative, negative, species, positive. Annotator 0 misses task 2, annotator 2 task 1.
    assert [row["agreement_with_consensus"] for row in body["per_annotator"]] == pytest.approx([0.8, 1.0, 0.8])
    assert "nan" not in response.get_data(as_text=True).lower()


def test_fleiss_kappa_matches_statsmodels_on_tasks_with_all_three_answers(client, owner, labelled):
    project, task_ids = labelled
    # With the task two annotators answered retired, every task has three raters: statsmodels' setting.
    data = reliability_matrix()[:, :4].astype(int)
    counts = np.array([np.bincount(column, minlength=3) for column in data.T])
    with client.application.app_context():
        session = runtime().session_factory()
        session.execute(update(Task).where(Task.id == task_ids[4]).values(status="retired"))
        session.commit()
        session.close()
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert body["tasks"] == 4
    assert body["fleiss_kappa"] == pytest.approx(fleiss_kappa(counts), abs=1e-6)


def test_fleiss_kappa_counts_every_task_with_two_or_more_answers(client, owner, labelled):
    project, _ = labelled
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    data = reliability_matrix()
    counts = np.array([np.bincount(column[~np.isnan(column)].astype(int), minlength=3) for column in data.T])
    raters = counts.sum(axis=1)
    agreement = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    shares = counts.sum(axis=0) / raters.sum()
    chance = (shares ** 2).sum()
    assert body["fleiss_kappa"] == pytest.approx((agreement - chance) / (1 - chance), abs=1e-6)


def test_consensus_is_the_majority_with_its_share(client, owner, labelled):
    _, task_ids = labelled
    body = client.get(f"/api/v1/tasks/{task_ids[1]}/consensus", headers=owner).get_json()
    assert body["result"] == {"labels": ["negative"]} and body["confidence"] == pytest.approx(2 / 3, abs=1e-6)
    assert body["method"] == "majority" and body["annotations"] == 3
    assert body["agreement"] == pytest.approx(1 / 3, abs=1e-6)  # 2 of the 6 ordered pairs agree
    unanimous = client.get(f"/api/v1/tasks/{task_ids[3]}/consensus", headers=owner).get_json()
    assert unanimous["result"] == {"labels": ["species"]} and unanimous["confidence"] == 1.0
    assert unanimous["agreement"] == 1.0


def test_dawid_skene_projects_say_so(client, owner, labelled):
    project, task_ids = labelled
    assert client.patch(f"/api/v1/projects/{project['id']}", json={"aggregation": "dawid_skene"},
                        headers=owner).status_code == 200
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert body["method"] == "dawid_skene"
    assert all(0 <= row["reliability"] <= 1 for row in body["per_annotator"])
    consensus = client.get(f"/api/v1/tasks/{task_ids[3]}/consensus", headers=owner).get_json()
    assert consensus["method"] == "dawid_skene" and consensus["result"] == {"labels": ["species"]}


def test_undefined_numbers_are_null_never_nan_or_500(client, owner, annotators):
    project = create_text_project(client, owner, overlap=3, visibility="public")
    empty = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert empty.status_code == 200
    body = empty.get_json()
    assert body["krippendorff_alpha"] is None and body["fleiss_kappa"] is None and body["alpha_interval"] is None
    assert body["mean_pairwise_cohen_kappa"] is None and body["annotations"] == 0
    rows = [{"data": {"text": f"t{n}"}} for n in range(3)]
    task_ids = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).get_json()["task_ids"]
    label_as(client, project, annotators[0], {t: "positive" for t in task_ids})  # one annotator, one class
    one = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert one.status_code == 200 and "nan" not in one.get_data(as_text=True).lower()
    body = one.get_json()
    assert body["krippendorff_alpha"] is None and body["fleiss_kappa"] is None
    assert body["per_annotator"][0]["agreement_with_consensus"] is None  # never compared with anyone
    consensus = client.get(f"/api/v1/tasks/{task_ids[0]}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["positive"]} and consensus["agreement"] is None


def test_taxonomy_projects_use_the_path_distance(client, owner, annotators):
    project = create_project(client, owner, visibility="public", media_type="text",
                             label_schema={"tools": ["classify"], "labels": [
                                 {"id": "bird", "name": "Bird", "children": [
                                     {"id": "warbler", "name": "Warbler", "children": [
                                         {"id": "yellow", "name": "Yellow"}, {"id": "willow", "name": "Willow"}]},
                                     {"id": "sparrow", "name": "Sparrow"}]}]})
    rows = [{"data": {"text": f"t{n}"}} for n in range(3)]
    task_ids = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).get_json()["task_ids"]
    answers = [["yellow", "sparrow", "willow"], ["warbler", "sparrow", "willow"], ["yellow", "sparrow", "yellow"]]
    for headers, row in zip(annotators, answers):
        label_as(client, project, headers, dict(zip(task_ids, row)))
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert body["alpha_distance"] == "taxonomy"
    ids = ["bird", "warbler", "yellow", "willow", "sparrow"]
    table = Taxonomy.from_parents([-1, 0, 1, 1, 0]).distance()(np.arange(5)[:, None], np.arange(5)[None, :])
    data = np.array([[ids.index(a) for a in row] for row in answers], dtype=float)
    expected = krippendorff.alpha(reliability_data=data, value_domain=list(range(5)),
                                  level_of_measurement=lambda v1, v2, i1, i2, n_v, dtype=float:
                                  table[v1.astype(int), v2.astype(int)])
    assert body["krippendorff_alpha"] == pytest.approx(expected, abs=1e-6)
    assert body["krippendorff_alpha"] > body["nominal_alpha"]  # a genus for its species is partly right
    # Task 0 (yellow, warbler, yellow): sure enough of the species at the default threshold.
    first = client.get(f"/api/v1/tasks/{task_ids[0]}/consensus", headers=owner).get_json()
    assert first["result"] == {"labels": ["yellow"]}
    # Task 2 (willow, willow, yellow) at a 0.9 target: not sure of the species, sure it is a warbler.
    client.patch(f"/api/v1/projects/{project['id']}",
                 json={"overlap": 3, "dynamic_overlap": {"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.9}},
                 headers=owner)
    third = client.get(f"/api/v1/tasks/{task_ids[2]}/consensus", headers=owner).get_json()
    assert third["result"] == {"labels": ["warbler"]} and third["confidence"] == pytest.approx(1.0)


def test_who_may_read_quality(client, owner, annotators, labelled, make_user, token_for):
    project, task_ids = labelled
    for path in (f"/api/v1/projects/{project['id']}/agreement", f"/api/v1/tasks/{task_ids[0]}/consensus"):
        response = client.get(path, headers=annotators[0])  # an annotator of this public project
        assert response.status_code in (403, 404)
        assert_problem(response, response.status_code)
        assert client.get(path).status_code == 401
    private = create_text_project(client, owner, visibility="private")
    outsider = token_for(make_user("outsider@example.org"))
    assert_problem(client.get(f"/api/v1/projects/{private['id']}/agreement", headers=outsider), 404)
    assert_problem(client.get("/api/v1/tasks/999999/consensus", headers=owner), 404)
    reviewer = make_user("reviewer@example.org")
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "reviewer@example.org", "role": "reviewer"},
                headers=owner)
    assert client.get(f"/api/v1/projects/{project['id']}/agreement", headers=token_for(reviewer)).status_code == 200


def test_large_projects_come_from_the_quality_worker(app, client, owner, annotators, labelled):
    project, task_ids = labelled
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5  # 14 annotations: "large"
    waiting = queue.get_queue(runtime(app).redis, "quality")
    waiting.empty()
    first = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert first.status_code == 202 and first.get_json() == {"status": "computing", "annotations": 14}
    assert waiting.job_ids == [f"quality-{project['id']}"]
    client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert len(waiting.job_ids) == 1  # asked twice, queued once
    with app.app_context():
        computed = jobs.compute_quality(project["id"])
        assert {key: computed[key] for key in ("annotations", "tasks")} == {"annotations": 14, "tasks": 5}
        # The annotators' skills are kept with the report (every annotator answered at least 3 tasks).
        kept = skills.stored(runtime().session_factory(), project["id"])
        assert computed["skills"] == len(kept) and len([e for e in kept if e.label == skills.WHOLE]) == 3
    waiting.empty()
    ready = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert ready["stale"] is False and ready["annotations"] == 14 and ready["krippendorff_alpha"] is not None
    stored = client.get(f"/api/v1/tasks/{task_ids[1]}/consensus", headers=owner).get_json()
    assert stored["result"] == {"labels": ["negative"]} and stored["annotations"] == 3
    # A new answer (annotator 1 on the task they skipped is impossible; a fourth annotator instead) makes it stale.
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5
    client.patch(f"/api/v1/projects/{project['id']}", json={"overlap": 4}, headers=owner)
    extra = _fourth(app, client, project)
    assert answer(client, extra["lease"], extra["headers"], label="positive").status_code == 201
    stale = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert stale["stale"] is True and stale["annotations"] == 14
    assert waiting.job_ids == [f"quality-{project['id']}"]
    json.dumps(stale)  # plain JSON


def _fourth(app, client, project):
    from annotator.users import service

    with app.app_context():
        session = runtime().session_factory()
        user = service.register(session, runtime().passwords, email="fourth@example.org", password="x" * 12,
                                display_name="Fourth")
        session.commit()
        token = service.create_token(session, user, "t")[1]
        session.commit()
        session.close()
    headers = {"Authorization": f"Bearer {token}"}
    return {"lease": nxt(client, project, headers).get_json(), "headers": headers}


def test_the_minutely_refresh_recomputes_only_large_projects_that_changed(app, client, owner, labelled):
    project, _ = labelled
    small = create_text_project(client, owner, visibility="public")
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]  # large and never computed; the small one is left alone
        assert jobs.refresh_quality() == []  # nothing changed since
    with client.application.app_context():
        session = runtime().session_factory()
        session.execute(update(Task).where(Task.project_id == project["id"]).values(status="retired"))
        session.commit()
        session.close()
    with app.app_context():
        assert jobs.refresh_quality() == [project["id"]]  # its counted annotations changed
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert body["annotations"] == 0 and body["stale"] is False
    assert client.get(f"/api/v1/projects/{small['id']}/agreement", headers=owner).status_code == 200


def test_the_task_list_shows_answer_counts_and_consensus(client, owner, labelled):
    project, task_ids = labelled
    items = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"]
    by_id = {item["id"]: item for item in items}
    assert [by_id[t]["annotations"] for t in task_ids] == [3, 3, 3, 3, 2]
    assert by_id[task_ids[1]]["consensus"]["result"] == {"labels": ["negative"]}
    assert by_id[task_ids[3]]["consensus"]["confidence"] == 1.0
    fresh = create_text_project(client, owner, visibility="public")
    client.post(f"/api/v1/projects/{fresh['id']}/tasks", json=[{"data": {"text": "new"}}], headers=owner)
    unanswered = client.get(f"/api/v1/projects/{fresh['id']}/tasks", headers=owner).get_json()["items"][0]
    assert unanswered["annotations"] == 0 and unanswered["consensus"] is None


def image_project_with_tasks(app, client, owner, count=2):
    """A box project whose tasks use images this project uploaded (as an import job would leave them)."""
    from annotator.db import utcnow
    from tasks import importing
    from tasks.models import Media, Project

    project = create_project(client, owner, visibility="public", overlap=3,
                             label_schema={"tools": ["bbox"], "labels": [{"id": "bird", "name": "Bird"},
                                                                         {"id": "bat", "name": "Bat"}]})
    shas = [f"{n:x}" * 64 for n in range(1, count + 1)]
    with app.app_context():
        session = runtime().session_factory()
        for sha in shas:
            session.add(Media(sha256=sha[:64], content_type="image/jpeg", width=200, height=100, size_bytes=1,
                              phash=0, created_at=utcnow()))
        session.flush()
        stored = session.get(Project, project["id"])
        rows = [{"data": {"image": f"/media/{sha[:64]}"}} for sha in shas]
        importing.insert_tasks(session, stored, importing.prepare(session, stored, rows,
                                                                  uploaded=frozenset(s[:64] for s in shas)), utcnow())
        session.commit()
        session.close()
    return project


def test_box_projects_report_matched_f1_and_consensus_boxes(app, client, owner, annotators):
    project = image_project_with_tasks(app, client, owner, count=1)
    drawn = [[[10, 10, 40, 20], [120, 50, 30, 30]],   # two birds
             [[12, 10, 40, 20], [121, 52, 30, 30]],   # the same two, a little off
             [[11, 11, 40, 20]]]                      # only the first
    for headers, boxes in zip(annotators, drawn):
        lease = nxt(client, project, headers).get_json()
        objects = [{"tool": "bbox", "label": "bird", "bbox": box} for box in boxes]
        response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                               json={"result": {"objects": objects}}, headers=headers)
        assert response.status_code == 201, response.get_json()
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    # Pairs: (0,1) F1 1, (0,2) 2*1/3, (1,2) 2*1/3 -> mean 7/9; every matched pair agrees on "bird".
    assert body["bbox_f1"]["mean_f1"] == pytest.approx(7 / 9, abs=1e-6)
    assert body["bbox_f1"]["pairs"] == 3 and body["bbox_f1"]["matched"] == 4
    # No whole-item labels: the headline is the objects'. Two objects: the first drawn "bird" by all three, the
    # second "bird" by two and missed by the third ("no object"). Coincidences: bird-bird 3 + 1, bird-none 1
    # each way, of n = 6 values: D_o = 2/6, D_e = 2 x 5 x 1 / (6 x 5) = 1/3, alpha = 1 - 1 = 0.
    assert body["measured_on"] == "objects" and body["krippendorff_alpha"] == pytest.approx(0.0, abs=1e-9)
    assert body["objects"]["objects"] == 2 and body["objects"]["no_object"]["annotations"] == 1
    assert "polygon_f1" not in body  # not a tool of this project
    task_id = client.get(f"/api/v1/projects/{project['id']}/tasks", headers=owner).get_json()["items"][0]["id"]
    consensus = client.get(f"/api/v1/tasks/{task_id}/consensus", headers=owner).get_json()
    objects = consensus["result"]["objects"]
    assert [o["annotators"] for o in objects] == [3, 2]  # both boxes drawn by a majority of the three
    assert objects[0]["bbox"] == pytest.approx([11, 10.33, 40, 20], abs=0.01)
    assert objects[1]["label"] == "bird" and consensus["method"] == "majority"


def test_keypoint_projects_measure_distance_against_the_image_size(app, client, owner, annotators):
    project = image_project_with_tasks(app, client, owner, count=1)
    client.patch(f"/api/v1/projects/{project['id']}", json={"label_schema": {
        "tools": ["keypoint"], "labels": [{"id": "bird", "name": "Bird"}, {"id": "bat", "name": "Bat"}]}},
        headers=owner)
    # The image is 200 x 100: sqrt(area) 141 px, so 2 px apart is the same point and 80 px apart is not.
    for headers, point in zip(annotators, [[50, 50], [52, 50], [130, 50]]):
        lease = nxt(client, project, headers).get_json()
        response = client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                               json={"result": {"objects": [{"tool": "keypoint", "label": "bird", "point": point}]}},
                               headers=headers)
        assert response.status_code == 201, response.get_json()
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert body.status_code == 200
    assert body.get_json()["keypoint_f1"]["mean_f1"] == pytest.approx(1 / 3, abs=1e-6)  # one pair of three matches


def test_multi_label_projects_compare_whole_sets_and_each_label(client, owner, annotators):
    schema = {"tools": ["classify"], "multi_label": True,
              "labels": [{"id": "song", "name": "Song"}, {"id": "call", "name": "Call"}, {"id": "wing", "name": "Wing"}]}

    project = create_project(client, owner, visibility="public", media_type="text", label_schema=schema, overlap=3)
    rows = [{"data": {"text": f"recording {n}"}} for n in range(3)]
    task_ids = client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner).get_json()["task_ids"]
    sets = [[["song", "call"], ["song"], ["wing"]], [["call", "song"], ["song"], ["wing"]], [["song"], ["song"], ["call"]]]
    for headers, row in zip(annotators, sets):
        for _ in row:  # take tasks in whatever order they come, answering by task position
            lease = nxt(client, project, headers).get_json()
            labels = row[task_ids.index(lease["task"]["id"])]
            assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation",
                               json={"result": {"labels": labels}}, headers=headers).status_code == 201
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert body.status_code == 200 and "nan" not in body.get_data(as_text=True).lower()
    report = body.get_json()
    assert report["alpha_distance"] == "nominal" and set(report["per_label"]) == {"song", "call", "wing"}
    # Whole sets, nominal: unit 0 {sc, sc, s}, unit 1 {s, s, s}, unit 2 {w, w, c}.
    data = np.array([[0, 1, 2], [0, 1, 2], [1, 1, 3]], dtype=float)  # set ids per annotator (rows) and task
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert report["krippendorff_alpha"] == pytest.approx(expected, abs=1e-6)
    consensus = client.get(f"/api/v1/tasks/{task_ids[0]}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["call", "song"]} and consensus["confidence"] == pytest.approx(2 / 3)


def test_a_large_projects_unanswered_by_the_job_task_gets_its_own_majority(app, client, owner, labelled):
    project, task_ids = labelled
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5  # large, and the job has not run: each task on its own
    consensus = client.get(f"/api/v1/tasks/{task_ids[1]}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["negative"]} and consensus["method"] == "majority"
    assert consensus["confidence"] == pytest.approx(2 / 3, abs=1e-6)


def test_the_confusion_table_counts_pairs_of_answers_to_one_task_like_a_brute_force_count(client, owner, labelled):
    """By hand: positive/positive pairs 3 (task 1) + 1 (task 5), positive/negative 2 (task 2) + 2 (task 3),
    negative/negative 1 + 1; species is always agreed on, so it is no confused label. The same counted with
    itertools over the answers must agree cell by cell."""
    from collections import Counter
    from itertools import combinations

    project, _ = labelled
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    confusion = body["confusion"]
    expected: Counter = Counter()
    for task in zip(*ANSWERS):
        given = [a for a in task if a is not None]
        for a, b in combinations(given, 2):
            expected[frozenset((a, b))] += 1
    labels = confusion["labels"]
    # Only labels ever in disagreement are listed, the most confused first: positive/negative disagree 4 times.
    assert labels == ["positive", "negative"]
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            assert confusion["pairs"][i][j] == expected[frozenset((a, b))], (a, b)
    assert confusion["pairs"][0][1] == 4 and confusion["pairs"][0][0] == 4 and confusion["pairs"][1][1] == 2
