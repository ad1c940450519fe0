"""RQ entry points for the money domain. Jobs take ids and are safe to run twice."""
from __future__ import annotations

from annotator.db import utcnow, write_intent
from annotator.runtime import job_session
from incentives import payments


def release_lapsed_reservations() -> int:
    """Give back what leases that ended unanswered (expired above all) still hold in reserve (every minute)."""
    with job_session() as session:
        write_intent(session)
        return payments.release_lapsed(session, utcnow())
