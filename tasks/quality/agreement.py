"""Chance-corrected agreement: Krippendorff's alpha (any distance, taxonomy included), Fleiss' and Cohen's kappa.

Data come as annotation lists, the scalable layout: `unit[i]` (0..U-1) and `value[i]` (0..V-1) for the
i-th annotation, and for Cohen also `coder[i]`. Values are indices into the caller's value list; for
interval and ratio data `positions` gives each index its number.

Krippendorff's alpha = 1 - D_o / D_e (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"):
only units with at least two values are pairable; D_o sums the distance of every ordered pair of values
within a unit, weighted 1/(m_u - 1); D_e the distance of every pair of pairable values overall, / (n - 1).
Both come from a sparse units x values count matrix and the value marginals (see `Pairable`), so 100,000
units or 20,000 labels cost memory in proportion to the annotations, and any distance is evaluated only
on the value pairs that occur.
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
    """The pairable part of an annotation list as a sparse units x values count matrix N (units with two or
    more values only) and each unit's weight 1 / (m_u - 1).

    Krippendorff's coincidences are then one sparse product: o = N^T diag(w) N - diag(N^T w), so observed
    disagreement sum(o * delta^2) needs the distance only for the value pairs that actually co-occur.
    """

    counts: sparse.csr_matrix  # pairable units x values
    weight: np.ndarray         # per pairable unit, 1 / (m_u - 1)
    n_values: int              # V

    @classmethod
    def of(cls, unit: np.ndarray, value: np.ndarray, n_values: int | None = None) -> Pairable:
        unit, value = np.asarray(unit, dtype=np.int64), np.asarray(value, dtype=np.int64)
        n_values = int(n_values if n_values is not None else (value.max() + 1 if len(value) else 0))
        if len(unit) == 0:
            return cls(sparse.csr_matrix((0, n_values)), np.zeros(0), n_values)
        units, row = np.unique(unit, return_inverse=True)
        counts = sparse.csr_matrix((np.ones(len(unit)), (row, value)), shape=(len(units), n_values))
        size = np.asarray(counts.sum(axis=1)).ravel()
        keep = size >= 2
        return cls(counts[keep], 1.0 / (size[keep] - 1), n_values)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def marginals(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=0)).ravel()

    def coincidences(self) -> sparse.coo_matrix:
        """N^T diag(w) N: the coincidence matrix before its diagonal correction (which delta^2 = 0 ignores)."""
        return (self.counts.T @ sparse.diags(self.weight) @ self.counts).tocoo()

    def diagonal(self) -> np.ndarray:
        """o_cc, the true coincidences of each value with itself."""
        squared = self.counts.multiply(self.counts)
        return np.asarray(squared.T @ self.weight - self.counts.T @ self.weight).ravel()

    def observed(self, distance: Distance) -> float:
        pairs = self.coincidences()
        return float(pairs.data @ distance(pairs.row, pairs.col)) if pairs.nnz else 0.0

    def unit_shares(self, table: np.ndarray, present: np.ndarray, block: int = 8192) -> np.ndarray:
        """Each pairable unit's part of the observed disagreement: w_u * n_u^T delta^2 n_u, in blocks of units."""
        counts = self.counts[:, present].tocsr()
        shares = np.empty(counts.shape[0])
        for start in range(0, counts.shape[0], block):
            part = counts[start:start + block]
            shares[start:start + block] = np.asarray(part.multiply(part @ table).sum(axis=1)).ravel()
        return shares * self.weight


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
    n = data.n
    if n < 2:
        return None
    observed = data.observed(distance)
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
    if data.n < 2:
        return None
    metric = resolve_distance(distance, data.marginals, positions)
    present = np.flatnonzero(data.marginals)
    if len(present) > 4096:
        return None  # too many distinct values for the resampling's value x value table
    dist = metric(present[:, None], present[None, :])
    shares = data.unit_shares(dist, present)
    counts = data.counts[:, present].tocsr()
    units = np.arange(counts.shape[0])
    rng = np.random.default_rng(seed)
    estimates = []
    block = max(1, min(samples, 5_000_000 // max(len(units), 1)))  # about 40 MB of weights at a time
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
    """Nominal alpha of each value against all others (binary: "this label" or not); NaN where undefined.

    For label c the binary coincidences follow from the full ones: the pairs that disagree on "c or not" are
    those of c with anything else, 2 (n_c - o_cc) of them, so one diagonal gives every label's alpha.
    """
    data = Pairable.of(unit, value, n_values)
    n = data.n
    if n < 2:
        return np.full(n_values, np.nan)
    marginals = data.marginals
    observed = 2 * (marginals - data.diagonal())
    expected = 2 * marginals * (n - marginals) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1 - observed / expected, np.nan)


# ------------------------------------------------------------------------------------------------------
# Kappas
# ------------------------------------------------------------------------------------------------------

def fleiss_kappa(counts: np.ndarray | sparse.spmatrix) -> float | None:
    """Fleiss' kappa from an items x categories table of how many raters chose each category.

    Items may have different numbers of raters (each needs two or more); with a constant number this is
    Fleiss (1971) exactly. A sparse table stays sparse (many categories, few chosen per item).
    """
    if sparse.issparse(counts):
        counts = sparse.csr_matrix(counts, dtype=np.float64)
        raters = np.asarray(counts.sum(axis=1)).ravel()
        counts = counts[raters >= 2]
        raters = raters[raters >= 2]
        if counts.shape[0] == 0:
            return None
        pairs = np.asarray(counts.multiply(counts).sum(axis=1)).ravel() - raters
        column = np.asarray(counts.sum(axis=0)).ravel()
    else:
        counts = np.asarray(counts)
        raters = counts.sum(axis=1)
        if (raters < 2).any():
            counts, raters = counts[raters >= 2], raters[raters >= 2]
        if len(counts) == 0:
            return None
        pairs = np.einsum("ij,ij->i", counts, counts - 1, dtype=np.float64)
        column = counts.sum(axis=0, dtype=np.float64)
    agreement = (pairs / (raters * (raters - 1.0))).mean()
    shares = column / raters.sum()
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


DENSE_CODERS = 64  # up to this many coders, pairs are counted one by one on a dense units x coders table


def pairwise_cohen(unit: np.ndarray, coder: np.ndarray, value: np.ndarray, n_coders: int,
                   n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa of every pair of coders over the units both coded.

    Returns (kappa matrix, NaN where undefined and on the diagonal; units each pair has in common). Only
    scalars are kept per pair, never a K x K table per pair, so thousands of labels cost nothing extra. With
    few coders each pair is one bincount over a dense units x coders table; with many, the pairs of coders
    within each unit are listed once and summed per pair (memory in proportion to those pairs).
    A coder with two values for one unit (multi-label) counts the last in the dense form, each in the other.
    """
    unit, coder, value = (np.asarray(x, dtype=np.int64) for x in (unit, coder, value))
    n_units = int(unit.max()) + 1 if len(unit) else 0
    if n_coders <= DENSE_CODERS:
        table = np.full(n_coders * n_units, -1, dtype=np.int32)  # coder-major: each coder's row is contiguous
        table[coder * n_units + unit] = value  # one flat scatter: several times faster than a 2-D one
        return pairwise_cohen_table(table.reshape(n_coders, n_units), n_values)
    return _pairwise_cohen_sparse(unit, coder, value, n_coders, n_values)


def pairwise_cohen_table(table: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of coders' kappa from a coders x units table of values (-1: not coded).

    Shifted by one, a missing answer is value 0, so no pair needs a mask: one bincount of (a's value + 1,
    b's value + 1) per pair gives its table, whose missing row and column are dropped.
    """
    n_coders = table.shape[0]
    width = n_values + 1
    kappa = np.full((n_coders, n_coders), np.nan)
    shared = np.zeros((n_coders, n_coders))
    small = width * width <= 65_536  # else the joint table would outgrow the data: use sums instead
    for a in range(n_coders):
        for b in range(a + 1, n_coders):
            if small:
                codes = table[a] * width  # a new array, then in place: (a + 1) * width + (b + 1)
                codes += table[b]
                codes += width + 1
                joint = np.bincount(codes, minlength=width * width).reshape(width, width)[1:, 1:]
                total = joint.sum()
                k = cohen_kappa(joint) if total else None
            else:
                both = (table[a] >= 0) & (table[b] >= 0)
                x, y = table[a][both], table[b][both]
                total = len(x)
                chance = float(np.bincount(x, minlength=n_values) @ np.bincount(y, minlength=n_values)) / max(
                    total, 1) ** 2
                k = _finite(((x == y).mean() - chance) / (1 - chance)) if total and chance < 1 else None
            shared[a, b] = shared[b, a] = total
            kappa[a, b] = kappa[b, a] = np.nan if k is None else k
    return kappa, shared


def _pairwise_cohen_sparse(unit: np.ndarray, coder: np.ndarray, value: np.ndarray, n_coders: int,
                           n_values: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((coder, unit))
    unit, coder, value = unit[order], coder[order], value[order]
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]]) if len(unit) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(unit)])
    # Every ordered pair (i, j), i != j, of answers within a unit.
    size = np.repeat(sizes, sizes)  # per answer, its unit's size
    left = np.repeat(np.arange(len(unit)), size)  # each answer once per answer of its unit ...
    offset = np.arange(len(left)) - np.repeat(np.cumsum(size) - size, size)
    right = np.repeat(np.repeat(starts, sizes), size) + offset  # ... against each of them
    keep = (left != right) & (coder[left] != coder[right])
    left, right = left[keep], right[keep]
    pair = coder[left] * n_coders + coder[right]
    pairs, pair_index = np.unique(pair, return_inverse=True)
    total = np.bincount(pair_index).astype(np.float64)
    agree = np.bincount(pair_index, weights=(value[left] == value[right]).astype(np.float64))
    # Chance: sum over values of (a's count) x (b's count) among their shared units, per pair.
    a_counts = sparse.csr_matrix((np.ones(len(left)), (pair_index, value[left])), shape=(len(pairs), n_values))
    b_counts = sparse.csr_matrix((np.ones(len(left)), (pair_index, value[right])), shape=(len(pairs), n_values))
    chance = np.asarray(a_counts.multiply(b_counts).sum(axis=1)).ravel() / total ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (agree / total - chance) / (1 - chance)
    values[chance >= 1] = np.nan
    kappa = np.full((n_coders, n_coders), np.nan)
    shared = np.zeros((n_coders, n_coders))
    a, b = pairs // n_coders, pairs % n_coders
    kappa[a, b], shared[a, b] = values, total
    np.fill_diagonal(kappa, np.nan)
    return kappa, shared
