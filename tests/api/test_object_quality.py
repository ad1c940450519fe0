"""Issue 17's scenario through the API: a box + polygon project with a vehicle taxonomy and no whole-item labels,
three annotators, one of whom names a third of her boxes a sibling class. The report's headline numbers are the
objects', a tool nobody used reports nothing, and the bonus follows the labels of the boxes."""
from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from tests.factories import VEHICLE_MISNAMED as MISNAMED
from tests.factories import VEHICLE_SCENE as SCENE
from tests.factories import VEHICLE_SIBLING as SIBLING
from tests.factories import budget, vehicle_project, wallet


@pytest.fixture
def vehicles(app, client, owner, annotators):
    return vehicle_project(app, client, owner, annotators)


def test_the_headline_numbers_are_the_objects_and_an_unused_tool_reports_nothing(client, owner, annotators,
                                                                                 vehicles):
    project, misnamed = vehicles
    assert sorted(label for _, label in misnamed) == ["hatchback", "pickup", "sedan"]
    report = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).get_json()
    assert report["measured_on"] == "objects" and report["method"] == "majority"
    objects = report["objects"]
    assert objects["objects"] == 7 and objects["matched_pairs"] == 21 and objects["localisation"] == 1.0
    for key in ("krippendorff_alpha", "nominal_alpha", "fleiss_kappa", "mean_pairwise_cohen_kappa", "per_label",
                "confusion"):
        assert report[key] == objects[key] and report[key] is not None, key
    # The same numbers from the reference: 7 units (boxes) x 3 annotators, every box drawn by all three.
    codes = {"car": 0, "sedan": 1, "hatchback": 2, "truck": 3, "pickup": 4, "van": 5}
    boxes = [(image, n) for image, scene in enumerate(SCENE) for n in range(len(scene))]
    data = np.array([[codes[SCENE[image][n][1]] for image, n in boxes]] * 3, dtype=float)
    data[2] = [codes[SIBLING[SCENE[image][n][1]]] if (image, n) in MISNAMED else data[2, k]
               for k, (image, n) in enumerate(boxes)]
    assert report["nominal_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-6)
    # The taxonomy alpha, by hand: a sibling is 2 of the 4 edges of the longest path apart (0.5).
    values = data.T
    n = values.size
    observed = sum(0.5 * 2 * 2 / 2 for unit in values if len(set(unit)) > 1) / n  # two pairs of 0.5 each way
    counts = {v: int((values == v).sum()) for v in set(values.ravel())}
    tree = {0: None, 1: 0, 2: 0, 3: None, 4: 3, 5: 3}

    def path(a, b):
        up_a = [a] + ([tree[a]] if tree[a] is not None else [])
        up_b = [b] + ([tree[b]] if tree[b] is not None else [])
        shared = [x for x in up_a if x in up_b]
        if shared:
            return up_a.index(shared[0]) + up_b.index(shared[0])
        return len(up_a) + len(up_b)  # via the virtual root

    expected = sum(counts[a] * counts[b] * path(int(a), int(b)) / 4 for a in counts for b in counts) / (n * (n - 1))
    assert report["krippendorff_alpha"] == pytest.approx(1 - observed / expected, abs=1e-6)
    assert report["alpha_distance"] == "taxonomy"
    assert report["confusion"]["labels"][:2] in (["sedan", "hatchback"], ["hatchback", "sedan"])
    assert set(report["per_label"]) == {"sedan", "hatchback", "pickup", "van"}
    assert report["polygon_f1"] is None  # nobody drew a polygon: nothing, not a perfect 1.000
    assert report["bbox_f1"]["localisation"] == 1.0 and report["bbox_f1"]["mean_f1"] == 1.0
    rows = {row["user_id"]: row for row in report["per_annotator"]}
    ids = [client.get("/api/v1/me", headers=h).get_json()["id"] for h in annotators]
    assert all(rows[i]["reliability"] is not None and rows[i]["agreement_with_consensus"] is not None for i in ids)
    assert rows[ids[2]]["reliability"] < rows[ids[0]]["reliability"]
    # C's misnamed boxes score 0.5 on images 0 and 5, and on image 3, a two-box image, (1 + 0.5) / 2 = 0.75.
    assert rows[ids[2]]["agreement_with_consensus"] == pytest.approx((0.5 + 1 + 1 + 0.75 + 1 + 0.5) / 6, abs=1e-6)
    assert rows[ids[0]]["agreement_with_consensus"] == 1.0


def test_a_misnamed_box_earns_what_the_taxonomy_allows_and_the_wallet_says_why(client, owner, annotators, vehicles):
    project, misnamed = vehicles
    # Everyone else: 6 x (50 + 20). C: 6 x 50 + 20 x (0.5 + 1 + 1 + 0.75 + 1 + 0.5) = 300 + 95.
    assert wallet(client, annotators[0])["balance"] == 6 * 70
    assert wallet(client, annotators[1])["balance"] == 6 * 70
    assert wallet(client, annotators[2])["balance"] == 300 + 95
    assert budget(client, project, owner)["spent"] == 2 * 420 + 395
    lines = client.get("/api/v1/wallet/entries?per_page=100", headers=annotators[2]).get_json()["items"]
    settled = {line["task_id"]: line for line in lines if line["kind"] == "bonus"}
    for task_id, label in misnamed:
        found = settled[task_id]["details"]["objects"]["bbox"]
        assert found["mislabelled"] == [{"label": SIBLING[label], "consensus": label, "credit": 0.5}]
        assert f"{SIBLING[label]} for {label} (0.50)" in settled[task_id]["memo"]
        assert settled[task_id]["details"]["rule_version"] == 3
