"""Structure matching: IoUs by hand and against brute force, Hungarian matching against every permutation,
matched F1 edge cases, project agreement and consensus boxes with numbers worked out by hand."""
from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest

from tasks.quality import structures as st
from tasks.quality.agreement import krippendorff_alpha


def bbox(x, y, w, h, label=0):
    return {"tool": "bbox", "label": label, "bbox": [x, y, w, h]}


def square(x, y, w, h):
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def brute_box_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, (ax, ay, aw, ah) in enumerate(a):
        for j, (bx, by, bw, bh) in enumerate(b):
            iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
            ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
            union = aw * ah + bw * bh - iw * ih
            out[i, j] = iw * ih / union if union > 0 else 0.0
    return out


def random_boxes(rng, n):
    boxes = np.column_stack([rng.uniform(0, 50, (n, 2)), rng.uniform(0, 30, (n, 2))])
    boxes[::7, 2] = 0  # some zero-width boxes
    return boxes


# ------------------------------------------------------------------------------------------------------
# IoUs and similarities
# ------------------------------------------------------------------------------------------------------

def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [20, 20, 5, 5], [0, 0, 5, 5], [2, 3, 0, 4]])
    iou = st.box_iou(a, b)
    assert iou.shape == (1, 5)
    assert iou[0] == pytest.approx([50 / 150, 1.0, 0.0, 25 / 100, 0.0])
    # Two zero-area boxes: the union is 0, so IoU 0 rather than NaN.
    assert st.box_iou([[1, 1, 0, 0]], [[1, 1, 0, 0]])[0, 0] == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_box_iou_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 23), random_boxes(rng, 17)
    expected = brute_box_iou(a, b)
    assert (expected > 0).sum() > 20  # the boxes really overlap, the check is not all zeros
    np.testing.assert_allclose(st.box_iou(a, b), expected, atol=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_polygon_iou_of_rectangles_equals_box_iou(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 12), random_boxes(rng, 9)
    iou = st.polygon_iou([square(*box) for box in a], [square(*box) for box in b])
    np.testing.assert_allclose(iou, st.box_iou(a, b), atol=1e-9)
    assert st.polygon_iou([square(0, 0, 10, 10)], [square(5, 0, 10, 10)])[0, 0] == pytest.approx(1 / 3)


def test_polygon_iou_of_triangles_by_hand():
    lower_left = [[0, 0], [10, 0], [0, 10]]
    lower_right = [[0, 0], [10, 0], [10, 10]]
    # Overlap: the triangle (0,0), (10,0), (5,5) of area 25; union 50 + 50 - 25 = 75.
    iou = st.polygon_iou([lower_left], [lower_right, square(0, 0, 10, 10)])
    assert iou[0] == pytest.approx([25 / 75, 50 / 100])


def test_polygon_iou_repairs_a_bow_tie_and_scores_degenerate_polygons_zero():
    bow_tie = [[0, 0], [10, 10], [10, 0], [0, 10]]  # self-intersecting: two triangles of area 25 each
    collinear = [[0, 0], [5, 5], [10, 10]]
    two_points = [[0, 0], [10, 10]]
    iou = st.polygon_iou([bow_tie, collinear, two_points], [square(0, 0, 10, 10), collinear])
    assert iou == pytest.approx(np.array([[0.5, 0.0], [0.0, 0.0], [0.0, 0.0]]))


def test_keypoint_similarity_by_hand():
    # k = 0.05, scale 100: s k = 5; a point 5 px away scores exp(-25 / 50).
    sim = st.keypoint_similarity([[0, 0], [10, 10]], [[3, 4], [0, 0]], scale=100)
    assert st.KEYPOINT_K == 0.05
    assert sim == pytest.approx(np.array([[math.exp(-0.5), 1.0], [math.exp(-(49 + 36) / 50), math.exp(-4)]]))
    with pytest.raises(ValueError):
        st.keypoint_similarity([[0, 0]], [[0, 0]], scale=0)


def test_span_iou_by_hand():
    a = np.array([[0, 5], [2, 4], [3, 3]])
    b = np.array([[3, 8], [5, 10], [0, 10], [3, 3]])
    expected = np.array([
        [2 / 8, 0.0, 5 / 10, 0.0],
        [1 / 6, 0.0, 2 / 10, 0.0],
        [0.0, 0.0, 0.0, 0.0],  # an empty span matches nothing, not even itself
    ])
    assert st.span_iou(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("function", [st.box_iou, st.span_iou, st.polygon_iou,
                                      lambda a, b: st.keypoint_similarity(a, b, 10.0)])
def test_similarities_of_nothing_are_empty_matrices(function):
    assert function([], []).shape == (0, 0)
    one = {st.box_iou: [[0, 0, 1, 1]], st.span_iou: [[0, 1]], st.polygon_iou: [square(0, 0, 1, 1)]}.get(
        function, [[0, 0]])
    assert function(one, []).shape == (1, 0)
    assert function([], one).shape == (0, 1)


# ------------------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------------------

def brute_best_total(similarity, threshold):
    """The largest total similarity of a one-to-one set of pairs each at or above the threshold."""
    counted = np.where(similarity >= threshold, similarity, 0.0)
    n, m = counted.shape
    if n > m:
        counted, n, m = counted.T, m, n
    return max(sum(counted[i, p[i]] for i in range(n)) for p in permutations(range(m), n))


@pytest.mark.parametrize("seed", range(20))
def test_match_maximises_total_similarity_like_brute_force(seed):
    rng = np.random.default_rng(seed)
    shape = [(3, 3), (4, 4), (3, 5), (5, 2), (4, 3)][seed % 5]
    similarity = rng.random(shape)
    rows, cols = st.match(similarity, 0.4)
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    assert (similarity[rows, cols] >= 0.4).all()
    assert similarity[rows, cols].sum() == pytest.approx(brute_best_total(similarity, 0.4))


def test_match_does_not_let_a_dropped_pair_displace_a_better_one():
    # Maximising the raw total would pick (0,1) + (1,0) = 1.05 and then drop (1,0): one pair worth 0.6.
    rows, cols = st.match(np.array([[0.9, 0.6], [0.45, 0.0]]), 0.5)
    assert rows.tolist() == [0] and cols.tolist() == [0]


def test_match_of_nothing():
    for shape in [(0, 0), (0, 3), (2, 0)]:
        rows, cols = st.match(np.zeros(shape), 0.5)
        assert rows.shape == cols.shape == (0,) and rows.dtype == np.int64
    rows, cols = st.match(np.full((2, 2), 0.1), 0.5)
    assert len(rows) == 0


# ------------------------------------------------------------------------------------------------------
# Matched F1
# ------------------------------------------------------------------------------------------------------

def test_matched_f1_both_empty_is_perfect_agreement():
    result = st.matched_f1([], [])
    assert (result.f1, result.precision, result.recall, result.matched) == (1.0, 1.0, 1.0, 0)


def test_matched_f1_one_empty_is_zero():
    result = st.matched_f1([bbox(0, 0, 10, 10)], [])
    assert result.f1 == 0.0 and result.precision == 0.0 and result.recall is None
    result = st.matched_f1([], [bbox(0, 0, 10, 10), bbox(30, 30, 5, 5)])
    assert result.f1 == 0.0 and result.precision is None and result.recall == 0.0


def test_matched_f1_perfect_regardless_of_order():
    a = [bbox(0, 0, 10, 10, "warbler"), bbox(50, 50, 20, 20, "finch")]
    b = [bbox(51, 50, 20, 20, "finch"), bbox(1, 0, 10, 10, "warbler")]
    result = st.matched_f1(a, b)
    assert (result.f1, result.precision, result.recall, result.matched, result.same_label) == (1.0, 1.0, 1.0, 2, 2)
    assert result.rows.tolist() == [0, 1] and result.cols.tolist() == [1, 0]


def test_matched_f1_one_missed_box_and_a_label_disagreement():
    a = [bbox(0, 0, 10, 10, "warbler"), bbox(50, 50, 20, 20, "finch"), bbox(100, 0, 10, 10, "finch")]
    b = [bbox(0, 0, 10, 10, "sparrow"), bbox(50, 50, 20, 20, "finch")]
    result = st.matched_f1(a, b)
    assert result.matched == 2 and result.same_label == 1
    assert result.precision == pytest.approx(2 / 3) and result.recall == 1.0
    assert result.f1 == pytest.approx(2 * 2 / 5)
    assert result.labels_a == ["warbler", "finch"] and result.labels_b == ["sparrow", "finch"]


def test_matched_f1_threshold_and_other_tools():
    a = [bbox(0, 0, 10, 10), {"tool": "keypoint", "label": 0, "point": [3, 3]}]
    b = [{"tool": "polygon", "label": 0, "points": square(5, 0, 10, 10)}, bbox(5, 0, 10, 10)]
    assert st.matched_f1(a, b, 0.5).matched == 0  # IoU 1/3 < 0.5
    result = st.matched_f1(a, b, 0.3)
    assert result.matched == 1 and result.rows.tolist() == [0] and result.cols.tolist() == [1]  # positions in input
    assert st.matched_f1(a, b, 0.3, kind="polygon").f1 == 0.0  # only b has a polygon
    keypoints = st.matched_f1(a, [{"tool": "keypoint", "label": 0, "point": [6, 7]}], kind="keypoint", scale=100)
    assert keypoints.f1 == 1.0  # 5 px apart: similarity exp(-0.5) = 0.61
    with pytest.raises(ValueError):
        st.matched_f1(a, a, kind="keypoint")
    with pytest.raises(ValueError):
        st.matched_f1(a, a, kind="circle")


def test_matched_f1_of_polygons():
    a = [{"tool": "polygon", "label": 1, "points": square(0, 0, 10, 10)}]
    b = [{"tool": "polygon", "label": 1, "points": [[0, 0], [10, 0], [10, 10]]}]
    assert st.matched_f1(a, b, 0.5, "polygon").f1 == 1.0  # IoU exactly 0.5
    assert st.matched_f1(a, b, 0.51, "polygon").f1 == 0.0


def test_span_f1():
    a = [{"start": 0, "end": 5, "label": 0}, {"start": 10, "end": 20, "label": 1}]
    b = [{"start": 1, "end": 5, "label": 0}, {"start": 15, "end": 30, "label": 1}, {"start": 40, "end": 41, "label": 2}]
    result = st.span_f1(a, b)
    # [0,5) ~ [1,5): 4/5 matches; [10,20) ~ [15,30): 5/20 does not.
    assert result.matched == 1 and result.f1 == pytest.approx(2 / 5)
    assert st.span_f1(a, b, threshold=0.25).matched == 2
    assert st.span_f1([], []).f1 == 1.0 and st.span_f1(a, []).f1 == 0.0


# ------------------------------------------------------------------------------------------------------
# A project's agreement
# ------------------------------------------------------------------------------------------------------

def test_pairwise_structure_agreement_by_hand():
    items = [
        [(0, [bbox(0, 0, 10, 10, 0), bbox(20, 20, 10, 10, 1)]),
         (1, [bbox(0, 0, 10, 10, 0), bbox(21, 20, 10, 10, 2)]),  # IoU 90/110 with annotator 0's second box
         (2, [bbox(0, 0, 10, 10, 0)])],
        [(0, [bbox(0, 0, 5, 5, 1)])],  # one annotator: no pair
        [(1, []), (2, [])],  # both saw nothing: F1 1
    ]
    result = st.pairwise_structure_agreement(items)
    # Item 0: pairs (0,1) F1 1, (0,2) and (1,2) 2/3 each; item 2: 1.
    assert result.pairs == 4
    assert result.mean_f1 == pytest.approx((1 + 2 / 3 + 2 / 3 + 1) / 4)
    assert result.matched == 4 and result.same_label == 3
    assert result.unit.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert result.value.tolist() == [0, 0, 1, 2, 0, 0, 0, 0]
    assert result.coder.tolist() == [0, 1, 0, 1, 0, 2, 1, 2]
    assert result.unit_item.tolist() == [0, 0, 0, 0]
    # Nominal alpha of matched labels: n = 8 values (6, 1, 1), 2 disagreeing ordered pairs:
    # 1 - (n - 1) * 2 / (64 - 36 - 1 - 1) = 6/13.
    assert krippendorff_alpha(result.unit, result.value) == pytest.approx(6 / 13)


def test_pairwise_structure_agreement_of_spans_and_keypoints_with_per_item_scale():
    spans = [[(0, [{"start": 0, "end": 4, "label": 0}]), (1, [{"start": 0, "end": 4, "label": 1}])]]
    result = st.pairwise_structure_agreement(spans, kind="span")
    assert result.mean_f1 == 1.0 and result.same_label == 0 and result.value.tolist() == [0, 1]
    point = [{"tool": "keypoint", "label": 0, "point": [0, 0]}]
    far = [{"tool": "keypoint", "label": 0, "point": [0, 20]}]
    items = [[(0, point), (1, far)], [(0, point), (1, far)]]
    # 20 px apart: similarity exp(-400 / (2 (s k)^2)) is 0.92 at s = 1000 and 0.0003 at s = 100.
    assert st.pairwise_structure_agreement(items, kind="keypoint", scale=[1000, 100]).mean_f1 == 0.5


def test_pairwise_structure_agreement_of_nothing_and_duplicates():
    result = st.pairwise_structure_agreement([])
    assert result.mean_f1 is None and result.pairs == 0 and result.matched == 0
    assert result.unit.shape == result.value.shape == result.coder.shape == (0,)
    assert st.pairwise_structure_agreement([[(0, [bbox(0, 0, 1, 1)])], []]).mean_f1 is None
    with pytest.raises(ValueError):
        st.pairwise_structure_agreement([[(0, []), (0, [])]])
