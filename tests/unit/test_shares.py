"""Contribution shares and revenue splits (issue 24): exact largest-remainder arithmetic, checked against a
published example and an independent integer reference over random shares and amounts."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentives.shares import SHARE_SCALE, fix_weight, information_weight, largest_remainder, release_shares, split


def test_the_published_hare_quota_example():
    """Wikipedia, "Largest remainder method": 100,000 votes, 10 seats, Hare quota 10,000."""
    votes = {1: 47_000, 2: 16_000, 3: 15_800, 4: 12_000, 5: 6_100, 6: 3_100}
    assert largest_remainder(votes, 10) == {1: 5, 2: 2, 3: 1, 4: 1, 5: 1, 6: 0}


def reference_split(amount: int, shares: dict[int, int]) -> dict[int, int]:
    """The same rule in integers alone (written apart from incentives.shares): floor(amount x share / whole), then
    one unit each to the largest remainders, ties to the smaller key."""
    whole = sum(shares.values())
    floors = {key: amount * share // whole for key, share in shares.items()}
    remainders = {key: amount * share % whole for key, share in shares.items()}
    for key in sorted(shares, key=lambda key: (-remainders[key], key))[:amount - sum(floors.values())]:
        floors[key] += 1
    return floors


weights = st.dictionaries(st.integers(1, 10_000), st.one_of(st.integers(0, 10**6), st.floats(0, 1e6)),
                          min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(weights=weights, amount=st.integers(1, 10**12))
def test_shares_sum_to_the_scale_and_a_split_never_loses_or_creates_a_minor_unit(weights, amount):
    shares = release_shares(weights)
    if sum(Fraction(w) for w in weights.values()) == 0:
        assert set(shares.values()) == {0}
        return
    assert sum(shares.values()) == SHARE_SCALE and min(shares.values()) >= 0
    whole = sum(Fraction(w) for w in weights.values())
    for key, weight in weights.items():  # within one part of its exact quota
        assert abs(shares[key] - Fraction(weight) * SHARE_SCALE / whole) < 1
        if weight == 0:
            assert shares[key] == 0
    parts = split(amount, shares)
    assert sum(parts.values()) == amount and min(parts.values()) >= 0
    assert parts == reference_split(amount, shares)
    for key, share in shares.items():
        assert abs(parts[key] - Fraction(amount * share, SHARE_SCALE)) < 1


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        largest_remainder({1: -1, 2: 3}, 10)
    with pytest.raises(ValueError):
        largest_remainder({1: 1}, -1)
    with pytest.raises(ValueError):
        information_weight(3, 0)
    assert largest_remainder({}, 10) == {}


def test_a_hard_tasks_right_answer_is_worth_more_than_an_easy_ones():
    assert information_weight(3, 3) == pytest.approx(0.415, abs=1e-3)
    assert information_weight(3, 2) == pytest.approx(1.0)
    assert information_weight(3, 1) == pytest.approx(2.0)
    assert information_weight(1, 1) == pytest.approx(1.0)
    assert fix_weight(3) == information_weight(3, 1)
