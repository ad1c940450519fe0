"""Agreement and consensus on structured answers: boxes, polygons, keypoints and text spans.

Two annotators' objects on one item agree when they can be paired up. Each kind has a similarity in [0, 1]:

- boxes, polygons, spans: intersection over union, |A n B| / |A u B| (0 when the union is empty, so a
  zero-area shape or zero-length span matches nothing);
- keypoints: COCO's object keypoint similarity for one point, exp(-d^2 / (2 (s k)^2)). COCO takes s^2 as the
  object's area and k = 2 sigma per keypoint type; a point has no area, so the caller passes s = sqrt(image
  area) and one constant k = KEYPOINT_K = 0.05: similarity 0.5 at d = k s sqrt(2 ln 2), about 5.9 % of the
  image's side (85 px on a 1920 x 1080 image).

`match` pairs the objects with the Hungarian method (scipy's linear_sum_assignment) maximising the total
similarity of the pairs it keeps, those at or above the threshold. With m matched pairs out of n_a and n_b
objects, precision = m / n_a, recall = m / n_b and F1 = 2m / (n_a + n_b); F1 is 1.0 when both drew nothing
(they agree that there is nothing) and 0.0 when exactly one did. Labels play no part in the match; how many
matched pairs also agree on the label is counted, and `pairwise_structure_agreement` returns the labels of
matched pairs as an annotation list for Krippendorff's alpha (tasks.quality.agreement).

Matching objects across every answer to an item, their consensus and an answer's score against it are in
tasks/quality/objects.py.

Objects come in the API's result shape: {"tool": "bbox", "label": ..., "bbox": [x, y, w, h]},
{"tool": "polygon", "label": ..., "points": [[x, y], ...]}, {"tool": "keypoint", "label": ..., "point": [x, y]}
(pixels) and spans {"start": s, "end": e, "label": ...} ([s, e) in Unicode code points).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment

KEYPOINT_K = 0.05  # keypoint tolerance as a share of sqrt(image area); see the module docstring
KINDS = ("bbox", "polygon", "keypoint", "span")
Object = Mapping[str, object]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is not positive (or NaN)."""
    return np.divide(numerator, denominator, out=np.zeros(np.shape(numerator)), where=denominator > 0)


# ------------------------------------------------------------------------------------------------------
# Similarities: n x m matrices
# ------------------------------------------------------------------------------------------------------

def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (n x 4) with every box in b (m x 4), both [x, y, w, h]; negative sizes count as 0."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    a_lo, a_hi = a[:, :2], a[:, :2] + np.maximum(a[:, 2:], 0)
    b_lo, b_hi = b[:, :2], b[:, :2] + np.maximum(b[:, 2:], 0)
    # n x m x 2: the overlap's width and height.
    overlap = np.clip(np.minimum(a_hi[:, None], b_hi[None]) - np.maximum(a_lo[:, None], b_lo[None]), 0, None)
    inter = overlap.prod(axis=2)
    area_a, area_b = (a_hi - a_lo).prod(axis=1), (b_hi - b_lo).prod(axis=1)
    return _ratio(inter, area_a[:, None] + area_b[None] - inter)


def _polygons(polygons: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """Shapely polygons, repaired: a self-intersecting ring becomes its polygonal parts (a bow tie: two
    triangles), fewer than three points or collapsed rings an empty polygon."""
    shapes = np.empty(len(polygons), dtype=object)
    for i, points in enumerate(polygons):
        coords = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        usable = len(coords) >= 3 and np.isfinite(coords).all()
        shapes[i] = shapely.Polygon(coords) if usable else shapely.Polygon()
    invalid = ~shapely.is_valid(shapes)
    if invalid.any():
        shapes[invalid] = shapely.make_valid(shapes[invalid], method="structure", keep_collapsed=False)
    return shapes


def polygon_iou(a: Sequence[Sequence[Sequence[float]]], b: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """IoU of every polygon in a with every polygon in b (each a sequence of [x, y]); n x m."""
    shapes_a, shapes_b = _polygons(a), _polygons(b)
    iou = np.zeros((len(shapes_a), len(shapes_b)))
    if iou.size == 0:
        return iou
    # Only pairs that touch can overlap: the tree finds them, and only they get an intersection computed.
    i, j = shapely.STRtree(shapes_b).query(shapes_a, predicate="intersects")
    inter = shapely.area(shapely.intersection(shapes_a[i], shapes_b[j]))
    union = shapely.area(shapes_a)[i] + shapely.area(shapes_b)[j] - inter
    iou[i, j] = np.clip(_ratio(inter, union), 0, 1)
    return iou


def keypoint_similarity(a: np.ndarray, b: np.ndarray, scale: float | None, *, k: float = KEYPOINT_K) -> np.ndarray:
    """exp(-d^2 / (2 (scale k)^2)) for every point in a (n x 2) and b (m x 2); scale = sqrt(image area)."""
    if scale is None or not (np.isfinite(scale) and scale > 0 and k > 0):
        raise ValueError(f"keypoint similarity needs a positive scale and k, got scale={scale!r}, k={k!r}")
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    squared = ((a[:, None] - b[None]) ** 2).sum(axis=2)
    return np.nan_to_num(np.exp(-squared / (2 * (scale * k) ** 2)), nan=0.0)


def span_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every [start, end) range in a (n x 2) with every one in b (m x 2); end < start counts as empty."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    a_end, b_end = np.maximum(a[:, 1], a[:, 0]), np.maximum(b[:, 1], b[:, 0])
    inter = np.clip(np.minimum(a_end[:, None], b_end[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None]), 0, None)
    return _ratio(inter, (a_end - a[:, 0])[:, None] + (b_end - b[:, 0])[None] - inter)


# ------------------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------------------

def match(similarity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs (rows, cols) with similarity >= threshold and the largest total similarity.

    Entries below the threshold (and NaN) count 0 in the assignment, so a pair that would be dropped
    never displaces a better one; rows come out ascending.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2:
        raise ValueError(f"similarity must be a matrix, got shape {similarity.shape}")
    if similarity.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    keep = similarity >= threshold
    rows, cols = linear_sum_assignment(np.where(keep, similarity, 0.0), maximize=True)
    kept = keep[rows, cols]
    return rows[kept].astype(np.int64), cols[kept].astype(np.int64)


def geometry_of(objects: Sequence[Object], kind: str) -> tuple[np.ndarray, object, list]:
    """The objects of one kind: (their positions in `objects`, geometry for the similarity, labels)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
    index = [i for i, o in enumerate(objects) if kind == "span" or o.get("tool") == kind]
    chosen = [objects[i] for i in index]
    if kind == "bbox":
        geometry: object = np.asarray([o["bbox"] for o in chosen], dtype=np.float64).reshape(-1, 4)
    elif kind == "polygon":
        geometry = [o["points"] for o in chosen]
    elif kind == "keypoint":
        geometry = np.asarray([o["point"] for o in chosen], dtype=np.float64).reshape(-1, 2)
    else:
        geometry = np.asarray([[o["start"], o["end"]] for o in chosen], dtype=np.float64).reshape(-1, 2)
    return np.asarray(index, dtype=np.int64), geometry, [o.get("label") for o in chosen]


def similarity(kind: str, a: object, b: object, scale: float | None) -> np.ndarray:
    if kind == "bbox":
        return box_iou(a, b)
    if kind == "polygon":
        return polygon_iou(a, b)
    if kind == "span":
        return span_iou(a, b)
    if scale is None:
        raise ValueError("keypoints need scale = sqrt(image area)")
    return keypoint_similarity(a, b, scale)


@dataclass(frozen=True)
class MatchedF1:
    f1: float                 # 2m / (n_a + n_b); 1.0 when both are empty
    precision: float | None   # m / n_a: 1.0 when both are empty, None when only a is
    recall: float | None      # m / n_b: 1.0 when both are empty, None when only b is
    matched: int              # m
    same_label: int           # matched pairs whose labels are equal
    rows: np.ndarray          # each matched pair's position in objects_a
    cols: np.ndarray          # and in objects_b
    labels_a: list            # each matched pair's label in a
    labels_b: list            # and in b
    similarity: np.ndarray    # each matched pair's similarity (IoU or keypoint similarity)


def _share(matched: int, total: int, other: int) -> float | None:
    if total:
        return matched / total
    return 1.0 if other == 0 else None


def matched_f1(objects_a: Sequence[Object], objects_b: Sequence[Object], threshold: float = 0.5,
               kind: str = "bbox", *, scale: float | None = None) -> MatchedF1:
    """Precision, recall and F1 of two annotators' objects of one kind on one item, matched at `threshold`.

    Objects of other tools are ignored; `scale` (sqrt of the image area) is needed for keypoints only.
    Labels are compared with ==, so strings and label indices both work.
    """
    index_a, geometry_a, labels_a = geometry_of(objects_a, kind)
    index_b, geometry_b, labels_b = geometry_of(objects_b, kind)
    n_a, n_b = len(index_a), len(index_b)
    if n_a and n_b:
        between = similarity(kind, geometry_a, geometry_b, scale)
        rows, cols = match(between, threshold)
        paired = between[rows, cols]
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
        paired = np.zeros(0)
    m = len(rows)
    pairs_a, pairs_b = [labels_a[r] for r in rows], [labels_b[c] for c in cols]
    same = sum(1 for x, y in zip(pairs_a, pairs_b) if x == y)
    f1 = 1.0 if n_a + n_b == 0 else 2 * m / (n_a + n_b)
    return MatchedF1(f1, _share(m, n_a, n_b), _share(m, n_b, n_a), m, same, index_a[rows], index_b[cols], pairs_a,
                     pairs_b, paired)


def span_f1(spans_a: Sequence[Object], spans_b: Sequence[Object], threshold: float = 0.5) -> MatchedF1:
    """matched_f1 for two annotators' text spans ({"start", "end", "label"}) at an IoU threshold."""
    return matched_f1(spans_a, spans_b, threshold, kind="span")


# ------------------------------------------------------------------------------------------------------
# A project's agreement
# ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StructureAgreement:
    mean_f1: float | None    # over every (item, annotator pair); None when no item has two annotators
    pairs: int               # how many (item, annotator pair) the mean is over
    matched: int             # matched object pairs in all
    same_label: int          # of which with equal labels
    mean_similarity: float | None  # the matched pairs' mean IoU (or keypoint similarity); None without any
    # The matched pairs' labels as an annotation list: one unit per matched pair, two values each.
    unit: np.ndarray
    value: np.ndarray        # label index
    coder: np.ndarray        # annotator index
    unit_item: np.ndarray    # per unit: the index of its item in the input


def pairwise_structure_agreement(items: Sequence[Sequence[tuple[int, Sequence[Object]]]], *, kind: str = "bbox",
                                 threshold: float = 0.5,
                                 scale: float | Sequence[float] | None = None) -> StructureAgreement:
    """Matched F1 of every pair of annotators on every item, and the labels of their matched objects.

    `items[i]` lists, for item i, one (annotator index, objects) per annotator who answered it: an
    annotator who drew nothing has an empty list and still counts (agreeing with another empty answer,
    disagreeing with a drawing). Labels must already be label indices 0..V-1. `scale` is needed for
    keypoints: one number for all items or one per item.

    Each matched pair becomes one unit with two values, so `krippendorff_alpha(unit, value)` is the
    nominal alpha of the labels of matched objects; an object that k annotators all matched shows up in
    k (k - 1) / 2 units.
    """
    scales = [scale] * len(items) if scale is None or np.isscalar(scale) else list(scale)
    if len(scales) != len(items):
        raise ValueError(f"{len(scales)} scales for {len(items)} items")
    f1s: list[float] = []
    coders: list[tuple[int, int]] = []
    values: list[np.ndarray] = []
    unit_item: list[np.ndarray] = []
    same = 0
    similarity_total = 0.0
    for i, answers in enumerate(items):
        annotators = [a for a, _ in answers]
        if len(set(annotators)) != len(annotators):
            raise ValueError(f"item {i} has two answers from one annotator; pass one per annotator")
        for (coder_a, objects_a), (coder_b, objects_b) in combinations(answers, 2):
            result = matched_f1(objects_a, objects_b, threshold, kind, scale=scales[i])
            f1s.append(result.f1)
            same += result.same_label
            similarity_total += float(result.similarity.sum())
            if result.matched:
                values.append(np.column_stack([np.asarray(result.labels_a, dtype=np.int64),
                                               np.asarray(result.labels_b, dtype=np.int64)]))
                coders.extend([(coder_a, coder_b)] * result.matched)
                unit_item.append(np.full(result.matched, i, dtype=np.int64))
    pair_values = np.concatenate(values) if values else np.zeros((0, 2), dtype=np.int64)
    n_units = len(pair_values)
    return StructureAgreement(
        mean_f1=float(np.mean(f1s)) if f1s else None,
        pairs=len(f1s),
        matched=n_units,
        same_label=same,
        mean_similarity=similarity_total / n_units if n_units else None,
        unit=np.repeat(np.arange(n_units, dtype=np.int64), 2),
        value=pair_values.reshape(-1),
        coder=np.asarray(coders, dtype=np.int64).reshape(-1),
        unit_item=np.concatenate(unit_item) if unit_item else np.zeros(0, dtype=np.int64),
    )
