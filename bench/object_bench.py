"""Object-level agreement on a synthetic box crowd: what an image project's report costs.

A seeded crowd: BENCH_OBJECT_IMAGES images (default 5,000) x 3 annotators, each image with 0-6 true objects
of 20 labels in a 2-level taxonomy; each annotator finds an object with probability 0.9, nudges it by a few
pixels, names it right with probability 0.8 (else a sibling half the time, any label otherwise), and sometimes
adds a box of their own.

Measured in the same run:
- ours: tasks.quality.objects.match_objects over every image (Hungarian matching across the three answers),
  the annotation list with "no object", and Krippendorff's alpha with the taxonomy distance on it;
- the reference for time: the pairwise matched F1 the report computed before objects were matched
  (tasks.quality.structures.pairwise_structure_agreement: three Hungarian matches per image, label-blind);
- the reference for the value: the `krippendorff` package's alpha on the same arrays (nominal and the same
  taxonomy distance as a callable), printed as the absolute difference.

Target: matching every object and its alpha costs no more than 3x the pairwise F1 (it matches three answers at
once and then measures labels, which the F1 never did). Wall time: best of 3; rerun on a busy machine.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import krippendorff
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.quality import agreement as ag  # noqa: E402
from tasks.quality import objects as obj  # noqa: E402
from tasks.quality import structures as st  # noqa: E402

IMAGES = int(os.environ.get("BENCH_OBJECT_IMAGES", 5_000))
ANNOTATORS, GENERA, SPECIES = 3, 4, 4  # 4 genera of 4 species: 20 labels
TARGET = 3.0
SEED = 20261203


def taxonomy() -> ag.Taxonomy:
    parents = [-1] * GENERA + [g for g in range(GENERA) for _ in range(SPECIES)]
    return ag.Taxonomy.from_parents(parents)


def crowd(rng: np.random.Generator) -> list[list[tuple[int, list[dict]]]]:
    n_labels = GENERA + GENERA * SPECIES
    items = []
    for _ in range(IMAGES):
        truth = [(rng.uniform(0, 600), rng.uniform(0, 400), rng.uniform(30, 120), rng.uniform(30, 120),
                  int(rng.integers(GENERA, n_labels))) for _ in range(rng.integers(0, 7))]
        answers = []
        for coder in range(ANNOTATORS):
            drawn = []
            for x, y, w, h, label in truth:
                if rng.random() < 0.9:
                    if rng.random() >= 0.8:
                        genus = (label - GENERA) // SPECIES
                        label = (GENERA + genus * SPECIES + int(rng.integers(SPECIES)) if rng.random() < 0.5
                                 else int(rng.integers(n_labels)))
                    drawn.append({"tool": "bbox", "label": label,
                                  "bbox": [x + rng.normal(0, 3), y + rng.normal(0, 3), w + rng.normal(0, 3), h]})
            if rng.random() < 0.15:
                drawn.append({"tool": "bbox", "label": int(rng.integers(n_labels)),
                              "bbox": [rng.uniform(0, 600), rng.uniform(0, 400), 60, 60]})
            answers.append((coder, drawn))
        items.append(answers)
    return items


def best_of(runs: int, work):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    items = crowd(np.random.default_rng(SEED))
    tree = taxonomy()
    n_values = len(tree.parent) + 1
    nothing = np.arange(n_values) == n_values - 1
    between = obj.with_no_object(tree.distance(), nothing)

    def ours():
        matched = obj.match_objects(items, kind="bbox")
        unit, coder, value = obj.annotation_list(matched)
        value = np.where(value == obj.NO_OBJECT, n_values - 1, value)
        return matched, unit, coder, value, ag.krippendorff_alpha(unit, value, between, n_values=n_values)

    def pairwise():
        return st.pairwise_structure_agreement(items, kind="bbox")

    ours_time, (matched, unit, coder, value, alpha) = best_of(3, ours)
    ref_time, summary = best_of(3, pairwise)
    data = np.full((ANNOTATORS, matched.n_units), np.nan)
    data[coder, unit] = value

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return between(np.asarray(v1, dtype=np.int64), np.asarray(v2, dtype=np.int64)).astype(dtype)

    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=metric, value_domain=list(range(n_values)))
    nominal = ag.krippendorff_alpha(unit, value, "nominal", n_values=n_values)
    theirs_nominal = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                        value_domain=list(range(n_values)))
    objects = int(sum(len(drawn) for answers in items for _, drawn in answers))
    ratio = ours_time / ref_time
    print(f"{IMAGES:,} images x {ANNOTATORS} annotators, {objects:,} boxes -> {matched.n_units:,} matched objects "
          f"({matched.pairs()[0]:,} matched pairs, mean IoU {matched.pairs()[1]:.3f})")
    print(f"  objects matched + taxonomy alpha: {ours_time:8.3f} s   alpha {alpha:.6f} "
          f"(krippendorff: |diff| {abs(alpha - theirs):.1e}; nominal {nominal:.6f}, |diff| "
          f"{abs(nominal - theirs_nominal):.1e})")
    print(f"  reference, pairwise matched F1:   {ref_time:8.3f} s   mean F1 {summary.mean_f1:.4f}")
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"  ours / reference: {ratio:.2f}x (target <= {TARGET:.0f}x): {verdict}")
    return 0 if verdict == "PASS" and abs(alpha - theirs) < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
