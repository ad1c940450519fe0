"""Every invariant of the money domain in one call: what `annotator ledger verify` and the admin check run."""
from __future__ import annotations

from sqlalchemy.orm import Session

from incentives import contributions, ledger, payments, payouts


def verify_all(session: Session) -> list[str]:
    """The ledger's books (balanced, cached balances right, nothing below zero), the money flow (no answer
    credited or settled twice, reserves equal what leases hold), payouts (in flight equals pending payouts) and
    revenue (each split exactly by its release's shares)."""
    return ledger.verify(session) + payments.verify(session) + payouts.verify(session) + contributions.verify(session)
