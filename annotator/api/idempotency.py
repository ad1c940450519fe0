"""The Idempotency-Key header: a repeat with the same key and body gets the first response again.

The record is written in the same transaction as the effect (the view calls `remember` before it
commits), so a crash cannot leave an effect without its record or a record without its effect.
"""
from __future__ import annotations

import hashlib
import re

from flask import Response, g, request
from flask_login import current_user
from sqlalchemy import select

from annotator.errors import IdempotencyKeyReused, InvalidInput
from annotator.web import OrjsonProvider, db_session, request_now
from tasks.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def _request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def replay_or_claim() -> Response | None:
    """The stored response for a repeated key, or None after noting the key for `remember`."""
    g.pop("idempotency", None)  # an app context reused across requests (tests) must not lend a claim onwards
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidInput({HEADER: ["Use 1 to 200 visible ASCII characters."]})
    record = _stored(key)
    fingerprint = _request_hash()
    if record is not None:
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
        return _replay(record)
    g.idempotency = (key, fingerprint)
    return None


def replay_after_conflict() -> Response | None:
    """After a conflict: the first response, if a request with this key has committed meanwhile."""
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return None
    db_session().rollback()
    key, fingerprint = claimed
    record = _stored(key)
    if record is None or record.request_hash != fingerprint:
        return None
    return _replay(record)


def _stored(key: str) -> IdempotencyRecord | None:
    return db_session().scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == current_user.id, IdempotencyRecord.key == key))


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(OrjsonProvider.dumps_bytes(record.body), status=record.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(status: int, body: dict) -> None:
    """Store this response for the request's key, in the current transaction (no-op without a key). The claim
    stays until `forget` (after the commit), so a clash at commit can still replay the request that won."""
    claimed = g.get("idempotency")
    if claimed is not None:
        key, fingerprint = claimed
        db_session().add(IdempotencyRecord(user_id=current_user.id, key=key, request_hash=fingerprint,
                                           status=status, body=body, created_at=request_now()))


def forget() -> None:
    """The reply is committed: nothing is left to replay for this request."""
    g.pop("idempotency", None)
