"""Object-level agreement: the boxes, polygons and keypoints of every answer to an item matched into objects,
then judged as a classification whose units are those objects.

1. **Matching.** On one item, each annotator's objects of one kind are Hungarian-matched to the objects found so
   far (`match_objects`): annotators in the order given (the caller passes reliability order), an object joins
   the object whose members it is most similar to on average (IoU for boxes and polygons, keypoint similarity
   for points, tasks.quality.structures) at `threshold` or more, else it starts a new object. No object ever
   holds two of one annotator's.
2. **Labels as a classification** (`annotation_list`): every annotator who answered the item gives each object
   a value, its label, or NO_OBJECT when they drew nothing there. Krippendorff's alpha, Fleiss' and Cohen's
   kappa then run on these units as on whole-item labels; an object nobody else drew is a disagreement
   between whoever drew it and whoever did not.
3. **Consensus** (`representatives`): the reliability-weighted mean of a box's or a point's members; for a
   polygon, the member most similar to the others (its weighted medoid: a mean of polygons is not a polygon).
4. **An answer against the consensus** (`score_against`): its objects matched one-to-one to the consensus
   objects at `threshold` (labels play no part in the match), each matched pair credited
   localisation x label, where localisation = min(1, similarity / LOCALISATION_FULL) and label = 1 - the
   distance of the two labels (taxonomy or nominal); score = 2 x the credits / (objects drawn + consensus
   objects), so a miss and an extra each cost as a matched F1 does, and a box in the right place with a
   wrong label earns only what the taxonomy allows. Both empty: 1.0 (they agree there is nothing).

LOCALISATION_FULL = 0.75 is COCO's strict IoU (AP75): a pair at or above it is fully localised, one matched
at 0.5 earns two thirds. Arithmetic only: labels are indices, objects the API's result shape.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tasks.quality import structures as st

LOCALISATION_FULL = 0.75
MATCH_THRESHOLD = 0.5
NO_OBJECT = -1  # annotation_list's value for "drew nothing here" before the caller gives it an index

# Two arrays of label indices -> the distance of each pair in [0, 1] (tasks.quality.agreement's Distance).
LabelDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Matched:
    """Objects of one kind matched across the answers to many items.

    Per object (in input order: items, then answers, then objects of the kind within an answer): `unit`, the
    matched object it belongs to; `coder`; `label`; `answer`, the index of its answer in the flattened
    (item, answer) order; `position`, its index in that answer's list of objects (all tools). Per unit:
    `item`, its item's index; `support`, how many annotators drew it; `similarity`, the mean similarity of its
    pairs of members (NaN for an object drawn by one annotator alone). `answers` lists, per answer in the
    flattened order, (item index, coder): who answered each item, drawing or not.
    """

    unit: np.ndarray
    coder: np.ndarray
    label: np.ndarray
    answer: np.ndarray
    position: np.ndarray
    item: np.ndarray
    support: np.ndarray
    similarity: np.ndarray
    answers: list[tuple[int, int]]

    @property
    def n_units(self) -> int:
        return len(self.item)

    def pairs(self) -> tuple[int, float | None]:
        """How many matched pairs of objects there are in all, and their mean similarity (None without any)."""
        counts = self.support * (self.support - 1) / 2
        total = float(counts.sum())
        if total == 0:
            return 0, None
        paired = counts > 0
        return int(total), float((self.similarity[paired] * counts[paired]).sum() / total)


def cluster(similarity: np.ndarray, coder: np.ndarray, order: Sequence[int],
            threshold: float = MATCH_THRESHOLD) -> np.ndarray:
    """Each object's cluster on one item (0..k-1), from the n x n similarity of its objects and their coders.

    Coders are taken in `order`; each one's objects are matched (st.match) to the clusters so far by their mean
    similarity to the clusters' members, the unmatched ones start new clusters.
    """
    coder = np.asarray(coder, dtype=np.int64)
    assigned = np.full(len(coder), -1, dtype=np.int64)
    n_clusters = 0
    for who in order:
        own = np.flatnonzero(coder == who)
        if not len(own):
            continue
        placed = np.flatnonzero(assigned >= 0)
        if n_clusters and len(placed):
            members = np.zeros((len(placed), n_clusters))
            members[np.arange(len(placed)), assigned[placed]] = 1.0
            linkage = similarity[np.ix_(own, placed)] @ members / members.sum(axis=0)
            rows, cols = st.match(linkage, threshold)
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
        assigned[own[rows]] = cols
        fresh = own[np.setdiff1d(np.arange(len(own)), rows)]
        assigned[fresh] = n_clusters + np.arange(len(fresh))
        n_clusters += len(fresh)
    return assigned


def _kind_objects(objects: Sequence[st.Object], kind: str) -> list[int]:
    return [i for i, o in enumerate(objects) if kind == "span" or o.get("tool") == kind]


def match_objects(items: Sequence[Sequence[tuple[int, Sequence[st.Object]]]], *, kind: str = "bbox",
                  threshold: float = MATCH_THRESHOLD, scale: float | Sequence[float | None] | None = None,
                  reliability: np.ndarray | None = None) -> Matched:
    """Match every item's objects of one kind across its answers (see the module docstring).

    `items[i]` lists one (coder, objects) per annotator who answered item i (objects in the API's result shape,
    labels already label indices; other tools are ignored). `reliability[coder]` orders the annotators (most
    reliable first, ties by coder); without it, coder order. `scale`: sqrt(image area) for keypoints, one for
    all items or one per item.
    """
    scales = [scale] * len(items) if scale is None or np.isscalar(scale) else list(scale)
    if len(scales) != len(items):
        raise ValueError(f"{len(scales)} scales for {len(items)} items")
    per_object: list[tuple[int, int, int, int, int]] = []  # unit, coder, label, answer, position
    unit_item: list[int] = []
    unit_support: list[int] = []
    unit_similarity: list[float] = []
    answers: list[tuple[int, int]] = []
    for i, given in enumerate(items):
        coders = [c for c, _ in given]
        if len(set(coders)) != len(coders):
            raise ValueError(f"item {i} has two answers from one annotator; pass one per annotator")
        first_answer = len(answers)
        answers.extend((i, c) for c in coders)
        drawn = [(n, c, p, objects[p]) for n, (c, objects) in enumerate(given) for p in _kind_objects(objects, kind)]
        if not drawn:
            continue
        objects = [o for _, _, _, o in drawn]
        _, geometry, _ = st.geometry_of(objects, kind)
        similarity = st.similarity(kind, geometry, geometry, scales[i])
        coder = np.array([c for _, c, _, _ in drawn], dtype=np.int64)
        present = sorted(set(coders))
        if reliability is not None:
            present.sort(key=lambda c: (-float(reliability[c]), c))
        found = cluster(similarity, coder, present, threshold)
        base = len(unit_item)
        for k in range(int(found.max()) + 1):
            members = np.flatnonzero(found == k)
            unit_item.append(i)
            unit_support.append(len(members))
            inner = similarity[np.ix_(members, members)][np.triu_indices(len(members), 1)]
            unit_similarity.append(float(inner.mean()) if len(inner) else np.nan)
        for (n, c, p, o), k in zip(drawn, found):
            per_object.append((base + int(k), c, int(o.get("label", -1)), first_answer + n, p))
    table = np.array(per_object, dtype=np.int64).reshape(-1, 5)
    return Matched(table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4],
                   np.array(unit_item, dtype=np.int64), np.array(unit_support, dtype=np.int64),
                   np.array(unit_similarity, dtype=np.float64), answers)


def annotation_list(matched: Matched) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit, coder, value) with one value per object and per annotator of its item: the label, or NO_OBJECT
    for an annotator who drew nothing matched to it."""
    if matched.n_units == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    coders_of: dict[int, list[int]] = {}
    for item, coder in matched.answers:
        coders_of.setdefault(item, []).append(coder)
    units, coders = [], []
    for u, item in enumerate(matched.item):
        for coder in coders_of[int(item)]:
            units.append(u)
            coders.append(coder)
    unit, coder = np.array(units, dtype=np.int64), np.array(coders, dtype=np.int64)
    value = np.full(len(unit), NO_OBJECT, dtype=np.int64)
    width = int(max(coder.max(), matched.coder.max())) + 1
    position = {key: n for n, key in enumerate((unit * width + coder).tolist())}
    drawn = [position[key] for key in (matched.unit * width + matched.coder).tolist()]
    value[drawn] = matched.label
    return unit, coder, value


def with_no_object(between: LabelDistance, nothing: np.ndarray) -> LabelDistance:
    """A distance between values extended to "no object" (the values where `nothing` is true): as far from every
    label as two labels can be (1), and none from itself."""
    nothing = np.asarray(nothing, dtype=bool)
    a_label = int(np.argmin(nothing))  # what `between` is asked in place of "no object" (its answer is not used)

    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        d = np.asarray(between(np.where(nothing[a], a_label, a), np.where(nothing[b], a_label, b)), dtype=np.float64)
        return np.where(nothing[a] | nothing[b], (nothing[a] != nothing[b]).astype(np.float64), d)

    return distance


# ------------------------------------------------------------------------------------------------------
# Consensus geometry
# ------------------------------------------------------------------------------------------------------

def representatives(kind: str, objects: Sequence[st.Object], unit: np.ndarray, weight: np.ndarray,
                    n_units: int) -> list[dict]:
    """Each unit's consensus geometry from its member objects: {"bbox": [...]}, {"point": [...]} or
    {"points": [...]} (weights below 0 count as 0; a unit whose weights are all 0 weighs its members equally)."""
    unit = np.asarray(unit, dtype=np.int64)
    weight = np.maximum(np.asarray(weight, dtype=np.float64), 0.0)
    totals = np.bincount(unit, weights=weight, minlength=n_units)
    weight = np.where(totals[unit] > 0, weight, 1.0)
    _, geometry, _ = st.geometry_of(objects, kind)
    if kind in ("bbox", "keypoint"):
        coords = np.asarray(geometry, dtype=np.float64)
        sums = np.stack([np.bincount(unit, weights=weight * coords[:, d], minlength=n_units)
                         for d in range(coords.shape[1])], axis=1)
        means = sums / np.bincount(unit, weights=weight, minlength=n_units)[:, None]
        key = "bbox" if kind == "bbox" else "point"
        return [{key: [round(float(v), 2) for v in row]} for row in means]
    if kind != "polygon":
        raise ValueError(f"no consensus geometry for {kind!r}")
    out = []
    grouped = np.argsort(unit, kind="stable")
    bounds = np.searchsorted(unit[grouped], np.arange(n_units + 1))
    for u in range(n_units):
        members = grouped[bounds[u]:bounds[u + 1]]
        inner = st.similarity(kind, [geometry[m] for m in members], [geometry[m] for m in members], None)
        best = members[int(np.argmax(inner @ weight[members]))]
        out.append({"points": [[float(x), float(y)] for x, y in objects[best]["points"]]})
    return out


# ------------------------------------------------------------------------------------------------------
# One answer against the consensus
# ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObjectScore:
    """One answer's objects of one kind against the consensus objects (see the module docstring).

    score: 2 x sum(credit) / (drawn + consensus), 1.0 when both are 0; matched: pairs; localisation: per pair,
    min(1, similarity / LOCALISATION_FULL); similarity: per pair; label_credit: per pair, 1 - label distance;
    labels_mine, labels_consensus: per pair, the two labels; rows, cols: each pair's position among the
    answer's and the consensus' objects of the kind; drawn, consensus: counts.
    """

    score: float
    drawn: int
    consensus: int
    rows: np.ndarray
    cols: np.ndarray
    similarity: np.ndarray
    localisation: np.ndarray
    label_credit: np.ndarray
    labels_mine: np.ndarray
    labels_consensus: np.ndarray

    @property
    def matched(self) -> int:
        return len(self.rows)


def localisation(similarity: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, np.asarray(similarity, dtype=np.float64) / LOCALISATION_FULL)


def score_against(mine: Sequence[st.Object], consensus: Sequence[st.Object], between: LabelDistance, *,
                  kind: str = "bbox", threshold: float = MATCH_THRESHOLD, scale: float | None = None) -> ObjectScore:
    """An answer's objects of one kind scored against the consensus objects; labels are label indices."""
    index_a, geometry_a, labels_a = st.geometry_of(mine, kind)
    index_b, geometry_b, labels_b = st.geometry_of(consensus, kind)
    n_a, n_b = len(index_a), len(index_b)
    if n_a and n_b:
        similarity = st.similarity(kind, geometry_a, geometry_b, scale)
        rows, cols = st.match(similarity, threshold)
        pair_similarity = similarity[rows, cols]
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
        pair_similarity = np.zeros(0)
    local = localisation(pair_similarity)
    a = np.asarray([labels_a[r] for r in rows], dtype=np.int64)
    b = np.asarray([labels_b[c] for c in cols], dtype=np.int64)
    credit = 1.0 - np.asarray(between(a, b), dtype=np.float64) if len(rows) else np.zeros(0)
    score = 1.0 if n_a + n_b == 0 else float(2 * (local * credit).sum() / (n_a + n_b))
    return ObjectScore(score, n_a, n_b, rows, cols, pair_similarity, local, credit, a, b)
