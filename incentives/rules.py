"""Reward rules: pure functions from an outcome and the project's parameters to amounts, with their reasons.

Version 1 (RULES_VERSION), parameters from the project's `rewards`:
- `per_annotation` (minor units): the base for every counted answer, credited as pending on submit.
- `agreement_bonus` (minor units): the most a settled answer can add, scaled by its score in [0, 1]:
  agreement with the consensus (1 - taxonomy distance, so a genus for its species earns part of it),
  or the gold score for a gold task (0 for a failed gold answer).
A lease reserves the most an answer could cost: base + full bonus.
"""
from __future__ import annotations

from dataclasses import dataclass

RULES_VERSION = 1


@dataclass(frozen=True)
class Rates:
    per_annotation: int
    agreement_bonus: int

    @classmethod
    def of(cls, rewards: dict | None) -> Rates:
        rewards = rewards or {}
        return cls(int(rewards.get("per_annotation", 0)), int(rewards.get("agreement_bonus", 0)))

    @property
    def most(self) -> int:
        """What one answer can cost at most: what a lease reserves."""
        return self.per_annotation + self.agreement_bonus


@dataclass(frozen=True)
class Credit:
    """An amount and the numbers behind it, kept with the ledger transaction."""

    amount: int
    score: float | None
    rule_version: int
    explanation: str

    def details(self) -> dict:
        return {"rule_version": self.rule_version, "score": self.score, "explanation": self.explanation}


def base(rates: Rates, task_id: int) -> Credit:
    return Credit(rates.per_annotation, None, RULES_VERSION, f"{rates.per_annotation} base on task {task_id}")


def bonus(rates: Rates, score: float, task_id: int, *, gold: bool = False) -> Credit:
    """The agreement bonus for a settled answer: the full bonus times its score, rounded half down to minor units."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score is between 0 and 1, not {score!r}")
    amount = int(rates.agreement_bonus * score)  # never more than the reservation: floor
    what = "gold score" if gold else "agreement"
    return Credit(amount, round(score, 4), RULES_VERSION,
                  f"{amount} bonus: {score:.2f} {what} on task {task_id} (of {rates.agreement_bonus})")
