"""Object-level agreement (tasks.quality.objects): a hand-worked example, alpha on matched objects against the
`krippendorff` package on the same arrays, and an answer's score against a brute-force matching and IoU."""
from __future__ import annotations

from itertools import permutations

import krippendorff
import numpy as np
import pytest

from tasks.quality import agreement as ag
from tasks.quality import objects as obj
from tasks.quality import structures as st

# car (0) > sedan (1), hatchback (2); truck (3). The deepest path is 2, so the longest possible is 4 edges:
# sedan-hatchback 2/4 = 0.5, sedan-car 1/4, sedan-truck 3/4.
TAXONOMY = ag.Taxonomy.from_parents([-1, 0, 0, -1])
CAR, SEDAN, HATCHBACK, TRUCK = range(4)
NONE = 4  # "no object" as a value after the four labels


def box(x, y, label, w=10, h=10):
    return {"tool": "bbox", "label": label, "bbox": [x, y, w, h]}


# One item, three annotators: everyone boxes the car at the top left (C calls it a hatchback), A and B box the
# truck (C misses it), C alone boxes something at (100, 100).
HAND = [[(0, [box(0, 0, SEDAN), box(50, 50, TRUCK)]),
         (1, [box(1, 0, SEDAN), box(50, 51, TRUCK)]),
         (2, [box(0, 1, HATCHBACK), box(100, 100, SEDAN)])]]


def values(matched):
    """The annotation list with NO_OBJECT as value NONE."""
    unit, coder, value = obj.annotation_list(matched)
    return unit, coder, np.where(value == obj.NO_OBJECT, NONE, value)


def test_the_hand_worked_example():
    matched = obj.match_objects(HAND, kind="bbox")
    assert matched.n_units == 3 and matched.support.tolist() == [3, 2, 1]
    unit, coder, value = values(matched)
    by_unit = {u: sorted(value[unit == u].tolist()) for u in range(3)}
    assert by_unit == {0: [SEDAN, SEDAN, HATCHBACK], 1: [TRUCK, TRUCK, NONE], 2: [SEDAN, NONE, NONE]}
    # Nominal: each unit has 3 values (weight 1/2); the off-diagonal coincidences are sedan-hatchback,
    # truck-none and none-sedan, 1 each way: D_o = 6/9. Marginals sedan 3, hatchback 1, truck 2, none 3:
    # D_e = (81 - 9 - 1 - 4 - 9) / 72 = 58/72. alpha = 1 - (6/9) / (58/72) = 10/58.
    assert ag.krippendorff_alpha(unit, value, "nominal", n_values=5) == pytest.approx(10 / 58)
    # Taxonomy: sedan-hatchback 0.5, none against anything 1: D_o = (2 x 0.5 + 2 + 2) / 9 = 5/9. D_e: pairs of
    # values n_c n_k d: sedan-hatchback 1.5, sedan-truck 4.5, sedan-none 9, hatchback-truck 1.5,
    # hatchback-none 3, truck-none 6 = 25.5, twice over 72: 51/72. alpha = 1 - (5/9) / (51/72) = 11/51.
    between = obj.with_no_object(TAXONOMY.distance(), np.arange(5) == NONE)
    assert ag.krippendorff_alpha(unit, value, between, n_values=5) == pytest.approx(11 / 51)
    # Matched pairs: the car's three (IoU 0.82, 0.82, 0.68 between 0-1, 0-2, 1-2) and the truck's one.
    pairs, similarity = matched.pairs()
    iou = st.box_iou([[0, 0, 10, 10], [1, 0, 10, 10], [0, 1, 10, 10], [50, 50, 10, 10]],
                     [[0, 0, 10, 10], [1, 0, 10, 10], [0, 1, 10, 10], [50, 51, 10, 10]])
    assert pairs == 4 and similarity == pytest.approx((iou[0, 1] + iou[0, 2] + iou[1, 2] + iou[3, 3]) / 4)


def test_the_hand_worked_consensus_and_scores():
    matched = obj.match_objects(HAND, kind="bbox")
    members = [o for _, objects in HAND[0] for o in objects]
    shapes = obj.representatives("bbox", members, matched.unit, np.ones(len(members)), matched.n_units)
    assert shapes[0]["bbox"] == pytest.approx([1 / 3, 1 / 3, 10, 10], abs=0.01)
    assert shapes[1]["bbox"] == pytest.approx([50, 50.5, 10, 10])
    consensus = [box(*shapes[0]["bbox"][:2], SEDAN), box(*shapes[1]["bbox"][:2], TRUCK)]  # majority, quorum 2
    between = TAXONOMY.distance()
    # A: both boxes match (IoU 0.88 and 0.90, above 0.75: fully localised) with the right labels: 2 x 2 / 4 = 1.
    a = obj.score_against(HAND[0][0][1], consensus, between)
    assert a.score == pytest.approx(1.0) and a.matched == 2 and (a.localisation == 1).all()
    # C: its hatchback matches the sedan (IoU 0.82): label credit 1 - 0.5; the box at (100, 100) is an extra and
    # the truck a miss: 2 x 0.5 / (2 + 2) = 0.25.
    c = obj.score_against(HAND[0][2][1], consensus, between)
    assert c.score == pytest.approx(0.25) and c.matched == 1
    assert c.labels_mine.tolist() == [HATCHBACK] and c.labels_consensus.tolist() == [SEDAN]
    assert c.label_credit.tolist() == [0.5]
    # A truck for a sedan in the same place: 1 - 3/4.
    wrong = obj.score_against([box(0, 0, TRUCK)], [box(0, 0, SEDAN)], between)
    assert wrong.score == pytest.approx(0.25)
    # Nothing against nothing agrees; something against nothing does not.
    assert obj.score_against([], [], between).score == 1.0
    assert obj.score_against([box(0, 0, SEDAN)], [], between).score == 0.0


def test_localisation_is_full_from_coco_strict_iou_and_proportional_below():
    assert obj.localisation(np.array([1.0, 0.75, 0.6, 0.5])).tolist() == pytest.approx([1, 1, 0.8, 2 / 3])
    # Two boxes of IoU 0.6 (overlap 30 x 40 of 2000) and the same label: score 0.8.
    found = obj.score_against([box(10, 10, SEDAN, 40, 40)], [box(20, 10, SEDAN, 40, 40)], ag.nominal())
    assert found.similarity.tolist() == pytest.approx([0.6]) and found.score == pytest.approx(0.8)


def random_item(rng, n_coders, labels=4):
    """A few true objects; each annotator finds most of them, nudged, sometimes mislabelled, sometimes adds one."""
    truth = [(rng.uniform(0, 300), rng.uniform(0, 300), int(rng.integers(labels))) for _ in range(rng.integers(0, 5))]
    answers = []
    for coder in range(n_coders):
        drawn = []
        for x, y, label in truth:
            if rng.random() < 0.85:
                said = label if rng.random() < 0.75 else int(rng.integers(labels))
                drawn.append(box(x + rng.normal(0, 3), y + rng.normal(0, 3), said, 40, 30))
        if rng.random() < 0.2:
            drawn.append(box(rng.uniform(0, 300), rng.uniform(0, 300), int(rng.integers(labels)), 40, 30))
        answers.append((coder, drawn))
    return answers


@pytest.mark.parametrize("seed", range(4))
def test_alpha_of_matched_objects_matches_the_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    items = [random_item(rng, int(rng.integers(2, 5))) for _ in range(40)]
    matched = obj.match_objects(items, kind="bbox")
    unit, coder, value = values(matched)
    data = np.full((5, matched.n_units), np.nan)  # coders x units, NaN: not on that item
    data[coder, unit] = value
    ours = ag.krippendorff_alpha(unit, value, "nominal", n_values=5)
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                                    value_domain=list(range(5))), abs=1e-9)
    between = obj.with_no_object(TAXONOMY.distance(), np.arange(5) == NONE)

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):  # the package's callable: the same distance on values
        return between(np.asarray(v1, dtype=np.int64), np.asarray(v2, dtype=np.int64)).astype(dtype)

    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=metric, value_domain=list(range(5)))
    assert ag.krippendorff_alpha(unit, value, between, n_values=5) == pytest.approx(theirs, abs=1e-9)


def brute_iou(a, b):
    """IoU of two [x, y, w, h] boxes, one number at a time."""
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def brute_score(mine, theirs, between, threshold=0.5):
    """Every one-to-one pairing tried; the best total IoU among pairs at the threshold wins, then credited."""
    n, m = len(mine), len(theirs)
    if n + m == 0:
        return 1.0
    best, best_credit = -1.0, 0.0
    for order in permutations(range(max(n, m)), n):  # mine[i] with theirs[order[i]] (beyond m: unmatched)
        total = credit = 0.0
        for i, j in enumerate(order):
            if j < m:
                iou = brute_iou(mine[i]["bbox"], theirs[j]["bbox"])
                if iou >= threshold:
                    total += iou
                    label = 1 - float(between(np.array([mine[i]["label"]]), np.array([theirs[j]["label"]]))[0])
                    credit += min(1.0, iou / obj.LOCALISATION_FULL) * label
        if total > best + 1e-12:
            best, best_credit = total, credit
    return 2 * best_credit / (n + m)


@pytest.mark.parametrize("seed", range(6))
def test_an_answers_score_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    between = TAXONOMY.distance()
    for _ in range(30):
        answers = random_item(rng, 2)
        mine, theirs = answers[0][1], answers[1][1]
        found = obj.score_against(mine, theirs, between)
        assert found.score == pytest.approx(brute_score(mine, theirs, between), abs=1e-9)
        assert found.matched == st.matched_f1(mine, theirs).matched  # the same label-blind match as the F1


def test_matching_never_puts_two_objects_of_one_annotator_together_and_follows_the_order():
    # Annotator 0 drew two overlapping boxes; 1 drew one between them.
    items = [[(0, [box(0, 0, SEDAN), box(2, 0, SEDAN)]), (1, [box(1, 0, SEDAN)])]]
    matched = obj.match_objects(items)
    assert matched.n_units == 2
    assert len(set(matched.unit[matched.coder == 0].tolist())) == 2
    # The order decides: o1 does not match o0 (0.4), o2 is more like o1 (0.7) than o0 (0.6). Coders 0, 1, 2:
    # o1 starts its own object and o2 joins it. Coders 0, 2, 1: o2 joins o0 first, and o1 then joins them on
    # its mean similarity (0.4 + 0.7) / 2 = 0.55.
    similarity = np.array([[1, 0.4, 0.6], [0.4, 1, 0.7], [0.6, 0.7, 1]])
    assert obj.cluster(similarity, [0, 1, 2], [0, 1, 2]).tolist() == [0, 1, 1]
    assert obj.cluster(similarity, [0, 1, 2], [0, 2, 1]).tolist() == [0, 0, 0]
    # match_objects orders by reliability, most reliable first (ties by coder).
    # Boxes at x = 0, 4 and 2: IoU 0-4 is 60/140 = 0.43 (apart), 2 with either 80/120 = 0.67.
    near = [[(0, [box(0, 0, SEDAN)]), (1, [box(4, 0, SEDAN)]), (2, [box(2, 0, SEDAN)])]]
    assert obj.match_objects(near).n_units == 2  # 0, then 1 apart, then 2 joins one of them
    # 0, then 2 joins it, then 1 joins them on its mean (0.43 + 0.67) / 2 = 0.55.
    assert obj.match_objects(near, reliability=np.array([0.9, 0.1, 0.8])).n_units == 1


def test_representatives_weigh_members_and_take_the_medoid_polygon():
    boxes = [box(0, 0, SEDAN), box(10, 0, SEDAN)]
    weighted = obj.representatives("bbox", boxes, np.array([0, 0]), np.array([3.0, 1.0]), 1)
    assert weighted[0]["bbox"] == pytest.approx([2.5, 0, 10, 10])
    equal = obj.representatives("bbox", boxes, np.array([0, 0]), np.array([0.0, 0.0]), 1)  # all weights 0: equal
    assert equal[0]["bbox"] == pytest.approx([5, 0, 10, 10])

    def square(x):
        return {"tool": "polygon", "label": SEDAN, "points": [[x, 0], [x + 10, 0], [x + 10, 10], [x, 10]]}

    polygons = [square(0), square(2), square(4)]  # the middle one is most like the others
    medoid = obj.representatives("polygon", polygons, np.array([0, 0, 0]), np.ones(3), 1)
    assert medoid[0]["points"] == square(2)["points"]


def test_nothing_drawn_is_no_unit():
    matched = obj.match_objects([[(0, []), (1, [])], [(0, [])]])
    assert matched.n_units == 0 and matched.pairs() == (0, None)
    assert all(len(part) == 0 for part in obj.annotation_list(matched))
    with pytest.raises(ValueError):
        obj.match_objects([[(0, []), (0, [])]])
