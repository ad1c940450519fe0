"""Every invariant of the money domain in one call: what `annotator ledger verify` and the admin check run."""
from __future__ import annotations

from sqlalchemy.orm import Session

from incentives import ledger, payments, payouts


def verify_all(session: Session) -> list[str]:
    """The ledger's books (balanced, cached balances right, nothing below zero), the money flow (no answer
    credited or settled twice, reserves equal what leases hold) and payouts (in flight equals pending payouts)."""
    return ledger.verify(session) + payments.verify(session) + payouts.verify(session)
