"""Chance-corrected agreement: Krippendorff's alpha (any distance, taxonomy included), Fleiss' and Cohen's kappa.

Data come as annotation lists, the scalable layout: `unit[i]` (0..U-1) and `value[i]` (0..V-1) for the
i-th annotation, and for Cohen also `coder[i]`. Values are indices into the caller's value list; for
interval and ratio data `positions` gives each index its number.

Krippendorff's alpha = 1 - D_o / D_e (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"):
only units with at least two values are pairable; D_o sums the distance of every ordered pair of values
within a unit, weighted 1/(m_u - 1); D_e the distance of every pair of pairable values overall, / (n - 1).
Both are computed from the pairs themselves and the value marginals, never a units x values matrix, so
100,000 units or 20,000 labels cost memory in proportion to the annotations.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

# A distance takes two arrays of value indices (broadcastable) and returns delta^2 for each pair.
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# ------------------------------------------------------------------------------------------------------
# Distances
# ------------------------------------------------------------------------------------------------------

def nominal() -> Distance:
    return lambda a, b: (a != b).astype(np.float64)


def interval(positions: np.ndarray) -> Distance:
    positions = np.asarray(positions, dtype=np.float64)
    return lambda a, b: (positions[a] - positions[b]) ** 2


def ratio(positions: np.ndarray) -> Distance:
    positions = np.asarray(positions, dtype=np.float64)

    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        total = positions[a] + positions[b]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total == 0, 0.0, ((positions[a] - positions[b]) / np.where(total == 0, 1, total)) ** 2)

    return distance


def ordinal(marginals: np.ndarray) -> Distance:
    """Krippendorff's ordinal distance for values 0..V-1 in rank order, from their pairable counts n_g.

    delta(c, k) = sum of n_g for g from c to k, minus (n_c + n_k) / 2; that is |s_k - s_c| with
    s_g = (n_0 + ... + n_g) - n_g / 2, so it is an interval distance on the positions s.
    """
    n = np.asarray(marginals, dtype=np.float64)
    return interval(np.cumsum(n) - n / 2)


@dataclass(frozen=True)
class Taxonomy:
    """A label tree as arrays: `parent[v]` (-1 for a root) for value indices 0..V-1."""

    parent: np.ndarray

    @classmethod
    def from_parents(cls, parents: Sequence[int]) -> Taxonomy:
        return cls(np.asarray(parents, dtype=np.int64))

    @cached_property
    def ancestors(self) -> np.ndarray:
        """V x D: each value's path from its root down to itself, padded with -1 (D = the deepest path)."""
        chains = []
        for v in range(len(self.parent)):
            chain = [v]
            while self.parent[chain[-1]] >= 0:
                chain.append(int(self.parent[chain[-1]]))
            chains.append(chain[::-1])
        depth = max((len(c) for c in chains), default=1)
        table = np.full((len(chains), depth), -1, dtype=np.int64)
        for v, chain in enumerate(chains):
            table[v, :len(chain)] = chain
        return table

    @cached_property
    def depth(self) -> np.ndarray:
        """Each value's depth: 1 for a root."""
        return (self.ancestors >= 0).sum(axis=1)

    def path_length(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Edges between a and b through their lowest common ancestor (between two roots: via a virtual root)."""
        pa, pb = self.ancestors[a], self.ancestors[b]
        common = np.cumprod((pa == pb) & (pa >= 0), axis=-1).sum(axis=-1)
        return self.depth[a] + self.depth[b] - 2 * common

    def distance(self) -> Distance:
        """delta^2 = path length / the longest possible path (between two deepest labels of different roots).

        A linear share of the path, so an answer one step off (a species for its genus) disagrees by
        1/(2 * depth) and an answer in another branch of the tree by up to 1.
        """
        longest = 2 * int(self.depth.max()) if len(self.depth) else 1
        return lambda a, b: self.path_length(a, b) / longest


# ------------------------------------------------------------------------------------------------------
# Krippendorff's alpha
# ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pairable:
    """The pairable part of an annotation list: units with two or more values, in unit order."""

    unit: np.ndarray    # unit index per pairable value, sorted
    value: np.ndarray   # value index per pairable value
    size: np.ndarray    # m_u of the value's unit
    n_values: int       # V

    @classmethod
    def of(cls, unit: np.ndarray, value: np.ndarray, n_values: int | None = None) -> Pairable:
        unit, value = np.asarray(unit, dtype=np.int64), np.asarray(value, dtype=np.int64)
        keep = ~(np.isnan(value) if value.dtype.kind == "f" else np.zeros(len(value), dtype=bool))
        unit, value = unit[keep], value[keep]
        order = np.argsort(unit, kind="stable")
        unit, value = unit[order], value[order]
        counts = np.bincount(unit) if len(unit) else np.zeros(0, dtype=np.int64)
        size = counts[unit] if len(unit) else np.zeros(0, dtype=np.int64)
        pairable = size >= 2
        n_values = int(n_values if n_values is not None else (value.max() + 1 if len(value) else 0))
        return cls(unit[pairable], value[pairable], size[pairable], n_values)

    @property
    def marginals(self) -> np.ndarray:
        return np.bincount(self.value, minlength=self.n_values).astype(np.float64)

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every ordered pair (i != j) of values within a unit: (left value, right value, its unit's 1/(m_u - 1))."""
        if len(self.unit) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        starts = np.flatnonzero(np.r_[True, self.unit[1:] != self.unit[:-1]])
        sizes = self.size[starts]
        # For each value, pair it with every other value of its unit: repeat it m_u - 1 times.
        left = np.repeat(np.arange(len(self.unit)), self.size - 1)
        unit_start = np.repeat(starts, sizes)[left]
        offset_in_unit = left - unit_start
        # The k-th partner (k = 0 .. m-2) skips the value itself.
        k = np.arange(len(left)) - np.repeat(np.cumsum(self.size - 1) - (self.size - 1), self.size - 1)
        partner = unit_start + k + (k >= offset_in_unit)
        weight = 1.0 / (self.size[left] - 1)
        return self.value[left], self.value[partner], weight

    def unit_disagreement(self, distance: Distance) -> tuple[np.ndarray, np.ndarray]:
        """Per pairable unit: its share of D_o (sum of pair distances / (m_u - 1)) and its index."""
        a, b, w = self.pairs()
        left_unit = np.repeat(self.unit, self.size - 1)
        units, inverse = np.unique(left_unit, return_inverse=True)
        return np.bincount(inverse, weights=distance(a, b) * w, minlength=len(units)), units


def _expected(marginals: np.ndarray, distance: Distance, block: int = 1024) -> float:
    """sum over value pairs of n_c * n_k * delta^2(c, k), over the values that occur, in blocks."""
    present = np.flatnonzero(marginals)
    n = marginals[present]
    total = 0.0
    for start in range(0, len(present), block):
        rows = present[start:start + block]
        total += float(n[start:start + block] @ distance(rows[:, None], present[None, :]) @ n)
    return total


def krippendorff_alpha(unit: np.ndarray, value: np.ndarray, distance: Distance | str = "nominal", *,
                       n_values: int | None = None, positions: np.ndarray | None = None) -> float | None:
    """Alpha for an annotation list; None when undefined (no pairable values, or no variation at all)."""
    data = Pairable.of(unit, value, n_values)
    metric = resolve_distance(distance, data.marginals, positions)
    return _alpha(data, metric)


def resolve_distance(distance: Distance | str, marginals: np.ndarray, positions: np.ndarray | None) -> Distance:
    if callable(distance):
        return distance
    if distance == "nominal":
        return nominal()
    if distance == "ordinal":
        return ordinal(marginals)
    if positions is None:
        positions = np.arange(len(marginals), dtype=np.float64)
    if distance == "interval":
        return interval(positions)
    if distance == "ratio":
        return ratio(positions)
    raise ValueError(f"unknown distance {distance!r}; use one of {LEVELS} or a function")


def _alpha(data: Pairable, distance: Distance) -> float | None:
    n = len(data.value)
    if n < 2:
        return None
    observed = float(data.unit_disagreement(distance)[0].sum())
    expected = _expected(data.marginals, distance) / (n - 1)
    if expected == 0:
        return None  # every pairable value is the same: agreement is not measurable
    return _finite(1.0 - observed / expected)


def bootstrap_alpha(unit: np.ndarray, value: np.ndarray, distance: Distance | str = "nominal", *,
                    n_values: int | None = None, positions: np.ndarray | None = None, samples: int = 1000,
                    seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """A percentile interval for alpha by resampling units with replacement (seeded: the same data give the same
    interval). Each resample reweights the units' shares of D_o and of the value marginals, so no resample
    recomputes a pair: cost is samples x (units + values^2), in blocks of resamples."""
    data = Pairable.of(unit, value, n_values)
    if len(data.value) < 2:
        return None
    metric = resolve_distance(distance, data.marginals, positions)
    shares, units = data.unit_disagreement(metric)
    # Per pairable unit, its value counts (sparse units x values) for the marginals of each resample.
    unit_row = np.searchsorted(units, data.unit)
    counts = sparse.csr_matrix((np.ones(len(data.value)), (unit_row, data.value)), shape=(len(units), data.n_values))
    present = np.flatnonzero(data.marginals)
    dist = metric(present[:, None], present[None, :]) if len(present) <= 4096 else None
    if dist is None:
        return None  # too many distinct values for the resampling's value x value table
    counts = counts[:, present].tocsr()
    rng = np.random.default_rng(seed)
    estimates = []
    block = max(1, min(samples, 20_000_000 // max(len(units), 1)))
    for start in range(0, samples, block):
        size = min(block, samples - start)
        weights = rng.multinomial(len(units), np.full(len(units), 1 / len(units)), size=size).astype(np.float64)
        observed = weights @ shares
        marg = (counts.T @ weights.T).T  # resamples x values
        n = marg.sum(axis=1)
        expected = np.einsum("bi,ij,bj->b", marg, dist, marg) / np.maximum(n - 1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimates.append(np.where(expected > 0, 1 - observed / expected, np.nan))
    values = np.concatenate(estimates)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    low, high = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(low), float(high)


def per_label_alpha(unit: np.ndarray, value: np.ndarray, n_values: int) -> np.ndarray:
    """Nominal alpha of each value against all others (binary: "this label" or not); NaN where undefined."""
    data = Pairable.of(unit, value, n_values)
    result = np.full(n_values, np.nan)
    n = len(data.value)
    if n < 2:
        return result
    a, b, w = data.pairs()
    marginals = data.marginals
    # Observed disagreement on label c: pairs where exactly one side is c.
    observed = np.bincount(a, weights=w * (a != b), minlength=n_values) + np.bincount(b, weights=w * (a != b),
                                                                                      minlength=n_values)
    expected = 2 * marginals * (n - marginals) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(expected > 0, 1 - observed / expected, np.nan)
    return result


# ------------------------------------------------------------------------------------------------------
# Kappas
# ------------------------------------------------------------------------------------------------------

def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories table of how many raters chose each category.

    Items may have different numbers of raters (each needs two or more); with a constant number this is
    Fleiss (1971) exactly.
    """
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    counts = counts[raters >= 2]
    raters = raters[raters >= 2]
    if len(counts) == 0:
        return None
    agreement = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    shares = counts.sum(axis=0) / raters.sum()
    chance = float((shares ** 2).sum())
    if chance >= 1:
        return None
    return _finite((agreement - chance) / (1 - chance))


def fleiss_counts(unit: np.ndarray, value: np.ndarray, n_units: int, n_values: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(len(unit)), (unit, value)), shape=(n_units, n_values))


def cohen_kappa(confusion: np.ndarray) -> float | None:
    """Cohen's kappa from a K x K table of two raters' joint choices."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    if total == 0:
        return None
    observed = np.trace(confusion) / total
    chance = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / total ** 2
    if chance >= 1:
        return None
    return _finite((observed - chance) / (1 - chance))


def pairwise_cohen(unit: np.ndarray, coder: np.ndarray, value: np.ndarray, n_coders: int,
                   n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa of every pair of coders over the units both coded, all at once.

    One sparse product of the units x (coder, value) indicator matrix with itself holds every pair's
    confusion table; returns (kappa matrix with NaN where undefined or on the diagonal, units in common).
    A coder with two values for one unit (multi-label) counts each; single-label data is the usual case.
    """
    unit, coder, value = (np.asarray(x, dtype=np.int64) for x in (unit, coder, value))
    n_units = int(unit.max()) + 1 if len(unit) else 0
    columns = coder * n_values + value
    indicator = sparse.csr_matrix((np.ones(len(unit)), (unit, columns)), shape=(n_units, n_coders * n_values))
    joint = (indicator.T @ indicator).toarray().reshape(n_coders, n_values, n_coders, n_values)
    joint = joint.transpose(0, 2, 1, 3)  # [a, b] -> the K x K table of a's value against b's
    total = joint.sum(axis=(2, 3))
    observed = np.trace(joint, axis1=2, axis2=3)
    rows, cols = joint.sum(axis=3), joint.sum(axis=2)  # a's and b's value counts over shared units
    with np.errstate(divide="ignore", invalid="ignore"):
        chance = np.einsum("abk,abk->ab", rows, cols) / total ** 2
        kappa = (observed / total - chance) / (1 - chance)
    kappa[(total == 0) | (chance >= 1)] = np.nan
    np.fill_diagonal(kappa, np.nan)
    return kappa, total
