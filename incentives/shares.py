"""Contribution shares and splitting money by them, exactly (issue 24; incentives/README.md, Data contribution).

Pure arithmetic, no database: `release_shares` turns contributions into integer shares of SHARE_SCALE that add up
to it exactly, and `split` divides an amount of minor units by shares so the parts add up to the amount exactly.
Both use the largest-remainder (Hamilton) rule on exact fractions: each part is the floor of its exact quota,
and the units left over go one each to the largest remainders (ties to the smaller key). So a part never
differs from its exact quota by a unit or more, nothing is lost or created, and the same inputs always give the
same parts, wherever they are computed (the release, the revenue posting and `annotator ledger verify`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

SHARE_SCALE = 100_000_000  # shares are parts per hundred million


def largest_remainder(weights: Mapping[int, Fraction | int], total: int) -> dict[int, int]:
    """`total` divided in proportion to `weights` (non-negative, exact), the parts adding up to `total` exactly;
    keys with zero weight get 0. Empty or all-zero weights: every key gets 0 (and nothing is divided)."""
    if total < 0:
        raise ValueError("a total to divide is never negative")
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("weights are never negative")
    whole = sum(weights.values(), Fraction(0))
    if whole == 0:
        return {key: 0 for key in weights}
    quotas = {key: Fraction(weight) * total / whole for key, weight in weights.items()}
    parts = {key: math.floor(quota) for key, quota in quotas.items()}
    left = total - sum(parts.values())
    by_remainder = sorted(quotas, key=lambda key: (-(quotas[key] - parts[key]), key))
    for key in by_remainder[:left]:
        parts[key] += 1
    return parts


def release_shares(contributions: Mapping[int, Fraction | float | int]) -> dict[int, int]:
    """Each contributor's share of SHARE_SCALE; the shares add up to SHARE_SCALE exactly (all 0 when nobody
    contributed anything). Float weights are taken at their exact binary value (Fraction), so the result is
    deterministic."""
    return largest_remainder({key: Fraction(weight) for key, weight in contributions.items()}, SHARE_SCALE)


def split(amount: int, shares: Mapping[int, int]) -> dict[int, int]:
    """`amount` minor units divided by integer shares (of SHARE_SCALE, or any scale): the parts add up to the amount
    exactly when any share is positive."""
    return largest_remainder(dict(shares), amount)


def information_weight(answers: int, agreeing: int) -> float:
    """What one answer agreeing with a task's final result is worth: -log2 of the share of the task's answers (with
    one more, a pseudo-count, so a lone answer is worth 1 bit) that agreed. An easy task everyone got right pays each
    of its answers little (3 of 3: 0.415 bits), a hard one whose result few found pays them more (1 of 3: 2 bits)."""
    if not 0 < agreeing <= answers:
        raise ValueError(f"{agreeing} agreeing answers of {answers}")
    return math.log2((answers + 1) / agreeing)


def fix_weight(answers: int) -> float:
    """A reviewer's fix decides the task's result alone: worth what one answer that alone agreed would be."""
    return information_weight(max(answers, 1), 1)
