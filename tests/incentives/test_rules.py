"""Reward rules are pure: amounts and their explanations from the parameters."""
from __future__ import annotations

import pytest

from incentives import rules


def test_a_lease_reserves_base_plus_the_full_bonus():
    assert rules.Rates.of({"per_annotation": 50, "agreement_bonus": 20}).most == 70
    assert rules.Rates.of(None).most == 0


def test_the_bonus_scales_with_the_score_and_explains_itself():
    rates = rules.Rates.of({"per_annotation": 50, "agreement_bonus": 20})
    credit = rules.bonus(rates, 0.7, 812)
    assert credit.amount == 14 and credit.explanation == "14 bonus: 0.70 agreement on task 812 (of 20)"
    assert credit.details() == {"rule_version": 3, "score": 0.7, "explanation": credit.explanation}
    assert rules.base(rates, 812).explanation == "50 base on task 812"
    assert rules.bonus(rates, 0.0, 1, gold=True).amount == 0  # a failed gold answer earns no bonus
    assert rules.bonus(rates, 1.0, 1).amount == 20


@pytest.mark.parametrize("score", [-0.1, 1.01, float("nan")])
def test_scores_outside_zero_to_one_are_refused(score):
    with pytest.raises(ValueError):
        rules.bonus(rules.Rates(50, 20), score, 1)


def test_a_bonus_never_exceeds_what_was_reserved():
    rates = rules.Rates(0, 7)
    assert all(rules.bonus(rates, s / 1000, 1).amount <= 7 for s in range(1001))


def test_a_geometry_bonus_names_its_objects_in_the_explanation_and_the_details():
    objects = {"bbox": {"score": 0.5, "drawn": 2, "consensus": 2, "matched": 2, "localisation": 1.0,
                        "mislabelled": [{"label": "hatchback", "consensus": "sedan", "credit": 0.0}]}}
    credit = rules.bonus(rules.Rates(50, 20), 0.5, 7, objects=objects)
    assert credit.amount == 10
    assert credit.explanation == ("10 bonus: 0.50 agreement on task 7 (of 20); bbox: 2 of 2 matched (of 2 in the "
                                  "consensus), localisation 1.00, hatchback for sedan (0.00)")
    assert credit.details()["objects"] == objects and credit.details()["rule_version"] == 3
