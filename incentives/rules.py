"""Reward rules: pure functions from an outcome and the project's parameters to amounts, with their reasons.

Parameters from the project's `rewards`:
- `per_annotation` (minor units): the base for every counted answer, credited as pending on submit.
- `agreement_bonus` (minor units): the most a settled answer can add, scaled by its share in [0, 1] under
  the project's reward mechanism (incentives.mechanisms; `agreement` by default: agreement with the
  consensus, 1 - taxonomy distance, so a genus for its species earns part of it, or the gold score for a
  gold task, 0 for a failed gold answer).
- `mechanism`, `mechanism_params`: which mechanism prices the bonus, and its parameters.
- `tiers` (optional): expert tiers, [{"min_accuracy", "min_answers", "multiplier"}, ...] in rising order; an
  annotator whose project-wide skill (tasks.skills) reaches a tier's accuracy over at least its answers is paid
  base and bonus times its multiplier, at the tier held when the lease was taken (the reservation keeps it).
A lease reserves the most an answer could cost: base + full bonus (at the lease's tier).

Versions (RULES_VERSION, kept in every posting's details):
1. Boxes scored by their matched F1 against the consensus boxes, labels ignored; polygons and keypoints
   by their F1 against each other answer.
2. Boxes, polygons and keypoints scored against the consensus objects, each matched pair credited
   localisation x label (tasks.quality.objects: a box in the right place with a wrong label earns only
   what the taxonomy distance allows), misses and extras counted; the wallet line names the objects.
3. The bonus share comes from the project's reward mechanism (agreement, gold, peer_prediction, posterior);
   the details name it, its parameters and its numbers, and keep the answer's peer-prediction score.
"""
from __future__ import annotations

from dataclasses import dataclass

RULES_VERSION = 3


@dataclass(frozen=True)
class Rates:
    per_annotation: int
    agreement_bonus: int
    tier: int = 0  # the expert tier these rates are paid at (0: none), its multiplier applied already
    multiplier: float = 1.0

    @classmethod
    def of(cls, rewards: dict | None) -> Rates:
        rewards = rewards or {}
        return cls(int(rewards.get("per_annotation", 0)), int(rewards.get("agreement_bonus", 0)))

    def at_tier(self, tier: int, multiplier: float) -> Rates:
        """These rates for an annotator of expert tier `tier` (1-based; 0: none): each amount times the tier's
        multiplier, rounded down to minor units (in thousandths, so 1.5 x 25 is exactly 37)."""
        if tier == 0:
            return self
        thousandths = round(multiplier * 1000)
        return Rates(self.per_annotation * thousandths // 1000, self.agreement_bonus * thousandths // 1000, tier,
                     multiplier)

    @property
    def tier_words(self) -> str:
        """How a wallet line names the tier: " at tier 1 (x1.5)", or nothing."""
        return f" at tier {self.tier} (x{self.multiplier:g})" if self.tier else ""

    def tier_details(self) -> dict:
        return {"tier": self.tier, "multiplier": self.multiplier} if self.tier else {}

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
    objects: dict | None = None  # per geometry tool, how the answer's objects compared with the consensus
    mechanism: dict | None = None  # the mechanism's id, parameters and numbers behind the share

    def details(self) -> dict:
        shown = {"rule_version": self.rule_version, "score": self.score, "explanation": self.explanation}
        if self.mechanism:
            shown["mechanism"] = self.mechanism
        return {**shown, "objects": self.objects} if self.objects else shown


def base(rates: Rates, task_id: int) -> Credit:
    return Credit(rates.per_annotation, None, RULES_VERSION,
                  f"{rates.per_annotation} base on task {task_id}{rates.tier_words}")


MECHANISM_WORDS = {"gold": "gold accuracy", "peer_prediction": "peer prediction", "posterior": "posterior"}


def bonus(rates: Rates, score: float, task_id: int, *, gold: bool = False, objects: dict | None = None,
          mechanism: dict | None = None) -> Credit:
    """The bonus for a settled answer: the full bonus times its share, rounded down to minor units.

    `objects` (tasks.quality.scores.explain per geometry tool) says which objects matched and why; it is kept
    in the details and summed up in the explanation. `mechanism` (its reason from incentives.mechanisms, with
    "mechanism" naming it) is kept in the details and named in the explanation unless it is `agreement`."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score is between 0 and 1, not {score!r}")
    amount = int(rates.agreement_bonus * score)  # never more than the reservation: floor
    named = (mechanism or {}).get("mechanism", "agreement")
    what = MECHANISM_WORDS.get(named) or ("gold score" if gold else "agreement")
    why = "".join(f"; {_objects_in_words(tool, found)}" for tool, found in (objects or {}).items())
    return Credit(amount, round(score, 4), RULES_VERSION,
                  f"{amount} bonus: {score:.2f} {what} on task {task_id} (of {rates.agreement_bonus}"
                  f"{rates.tier_words}){why}", objects or None, mechanism)


def _objects_in_words(tool: str, found: dict) -> str:
    """E.g. "bbox: 3 of 4 matched (of 3 in the consensus), localisation 0.93, hatchback for sedan (0.50)"."""
    words = f"{tool}: {found['matched']} of {found['drawn']} matched (of {found['consensus']} in the consensus)"
    if found.get("localisation") is not None:
        words += f", localisation {found['localisation']:.2f}"
    for wrong in found.get("mislabelled", []):
        words += f", {wrong['label']} for {wrong['consensus']} ({wrong['credit']:.2f})"
    return words
