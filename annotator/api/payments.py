"""Payment providers' notifications: a deposit confirmed (or rejected) by the provider that took the money.

No session and no API token: the notification is authenticated by its signature alone (incentives/providers.py).
No CSRF token either: `check_csrf` asks for one only with a signed-in session cookie, which a provider never has.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields

from annotator import audit, ratelimit
from annotator.api.core import WithFields, read_body, route
from annotator.errors import AlreadyDecided, AmountMismatch, NotFound
from annotator.web import db_session, request_now
from incentives import ledger, providers
from incentives.models import Deposit

bp = Blueprint("payments_api", __name__)

_NOTIFICATION = {"application/json": {"schema": {
    "type": "object", "required": ["deposit_id", "amount", "outcome", "reference"],
    "description": f"Signed: {providers.SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
                   "'<t>.<raw body>' under the shared secret>, t within ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE "
                   "seconds (401 invalid_signature / stale_signature). Other keys are ignored.",
    "properties": {
        "deposit_id": {"type": "integer", "minimum": 1},
        "amount": {"type": "integer", "minimum": 1, "maximum": ledger.MAX_AMOUNT,
                   "description": "minor units paid: the deposit's amount, or 409 amount_mismatch"},
        "outcome": {"type": "string", "enum": list(providers.OUTCOMES),
                    "description": "paid confirms the deposit; failed rejects it"},
        "reference": {"type": "string", "minLength": 1, "maxLength": providers.MAX_REFERENCE,
                      "description": "the provider's id for the payment (kept in the deposit's note)"},
        "currency": {"type": "string", "description": "ISO 4217; when sent, the platform's currency"}}}}}


class NotificationOut(Schema):
    deposit_id = fields.Integer(attribute="id")
    status = fields.String(metadata={"description": "confirmed or rejected"})
    amount = fields.Integer()
    applied = fields.Boolean(metadata={"description": "false: the deposit already had this outcome (a retry)"})


@route(bp, "/payments/<provider>/notifications", methods=["POST"], auth=False, raw_body=_NOTIFICATION,
       response=NotificationOut, summary="A payment provider's signed word on a deposit: paid confirms it, failed "
       "rejects it, once (a retry with the same outcome is 200; the other outcome 409 already_decided); 404 for a "
       "provider this server is not configured with", tag="incentives")
def notification(provider: str):
    ratelimit.limit("payment_notifications", request.remote_addr or "unknown")
    adapter = providers.configured(current_app.config).get(provider)
    if adapter is None:
        raise NotFound("No such payment provider on this server.")
    db, now = db_session(), request_now()
    told = adapter.parse_notification(request.headers, read_body(), now)
    try:
        row, applied = providers.apply(db, adapter.name, told, now)
    except (AlreadyDecided, AmountMismatch) as refused:
        # Money may really have moved (paid after an administrator rejected, or a different amount): nothing
        # changes, but administrators must see it, so it is logged and kept in the audit log.
        db.rollback()
        deposit = db.get(Deposit, told.deposit_id)
        audit.record(db, None, "payment_notification_refused", now, project_id=deposit.project_id if deposit else None,
                     target="deposit", target_id=told.deposit_id, code=refused.code, outcome=told.outcome,
                     amount=told.amount, provider=adapter.name, reference=told.reference)
        db.commit()
        current_app.logger.warning("payment notification refused (%s): deposit %s, %s %s, reference %s", refused.code,
                                   told.deposit_id, told.outcome, told.amount, told.reference)
        raise
    if applied:
        audit.record(db, None, f"deposit_{row.status}", now, project_id=row.project_id, target="deposit",
                     target_id=row.id, amount=row.amount, provider=adapter.name, reference=told.reference)
        db.commit()
    return WithFields(row, applied=applied)
