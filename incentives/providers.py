"""Payment providers: how money from outside is confirmed without an administrator.

A provider that takes an owner's payment tells the platform so in a signed notification
(`POST /api/v1/payments/{name}/notifications`). Its adapter (a `PaymentProvider`) checks the signature and reads
the body into a `Notification`; `apply` then decides the deposit through the same code as an administrator's
confirm or reject (`budgets.settle_deposit`), once. Adapters see headers and the raw bytes, never a web
framework, so a provider with another signing scheme is one more class with `name` and `parse_notification`.

The generic adapter, `HmacProvider`, is Stripe's scheme: the header
`X-Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under a shared secret>`; the
timestamp must be within `tolerance` seconds of the server's clock (a captured notification cannot be replayed
later), and any of several secrets may sign (one being introduced, one being retired). Its body is JSON:
`{"deposit_id", "amount", "outcome": "paid" | "failed", "reference", "currency"?}`; other keys are ignored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from annotator.errors import AmountMismatch, InvalidInput, InvalidSignature, MalformedBody, StaleSignature
from incentives import budgets, ledger
from incentives.models import Deposit

SIGNATURE_HEADER = "X-Payment-Signature"
OUTCOMES = ("paid", "failed")
DEFAULT_TOLERANCE = 300  # seconds either side of the server's clock
MIN_SECRET_LENGTH = 16
MAX_REFERENCE = 200
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,29}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Notification:
    """What a provider says happened to the payment for one deposit.

    deposit_id: the deposit, as `POST /projects/{id}/budget/deposits` answered it (the owner quotes it when paying).
    amount: what was paid, in minor units; it must be what the deposit asked for.
    outcome: "paid" (the money arrived: the deposit is confirmed) or "failed" (it will not: rejected).
    reference: the provider's own id for the payment, kept in the deposit's note and the audit log.
    currency: the ISO 4217 code when the provider names one; it must be the platform's (ANNOTATOR_CURRENCY).
    """

    deposit_id: int
    amount: int
    outcome: str
    reference: str
    currency: str | None = None


class PaymentProvider(Protocol):
    """One provider's notifications. `parse_notification` raises `InvalidSignature` (401; `StaleSignature` for a
    timestamp outside the tolerance) when the sender cannot be trusted, `MalformedBody` (400) or `InvalidInput`
    (422, naming the field) when a trusted body cannot be read; it decides nothing."""

    name: str

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: dt.datetime) -> Notification: ...


class HmacProvider:
    """HMAC-SHA256 over `"<timestamp>.<raw body>"`, sent as `X-Payment-Signature: t=<timestamp>,v1=<hex>`.

    name: the provider's name in the notification URL.
    secrets: every secret a notification may be signed with (during a rotation, the new one and the old one).
    tolerance: how many seconds a signature's timestamp may be from the server's clock, either way.
    """

    def __init__(self, name: str, secrets: Sequence[str], tolerance: int = DEFAULT_TOLERANCE) -> None:
        if not secrets:
            raise ValueError("a provider needs at least one secret")
        self.name, self.tolerance = name, tolerance
        self._keys = [secret.encode() for secret in secrets]

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: dt.datetime) -> Notification:
        self.verify(header(headers, SIGNATURE_HEADER), body, now)
        return read_notification(body)

    def verify(self, value: str | None, body: bytes, now: dt.datetime) -> None:
        """Raise unless one of the header's v1 signatures is one of our secrets' over `t.body`, and t is recent."""
        timestamp, signatures = _signature_parts(value)
        signed = timestamp.encode() + b"." + body
        expected = [hmac.new(key, signed, hashlib.sha256).hexdigest() for key in self._keys]
        # Every pair compared in constant time: how long this takes says nothing about how close a guess was.
        matched = [hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures]
        if not any(matched):
            raise InvalidSignature(f"No v1 signature in {SIGNATURE_HEADER} is this provider's HMAC-SHA256 of "
                                   "'<t>.<raw body>'.")
        age = int(now.timestamp()) - int(timestamp)
        if abs(age) > self.tolerance:
            when = f"{age} seconds old" if age > 0 else f"{-age} seconds in the future"
            raise StaleSignature(f"The signature's timestamp is {when}; it must be within {self.tolerance} "
                                 "seconds of the server's clock.")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (a plain dict is not case-insensitive)."""
    found = headers.get(name)
    if found is not None:
        return found
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _signature_parts(value: str | None) -> tuple[str, list[str]]:
    """(t, [v1 signatures]) from `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; other schemes' parts are skipped."""
    shape = f"Send {SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>."
    if not value:
        raise InvalidSignature(f"The notification is not signed. {shape}")
    parts = [part.strip().partition("=") for part in value.split(",")]
    timestamps = [item for key, _, item in parts if key == "t"]
    signatures = [item.lower() for key, _, item in parts if key == "v1" and _HEX_SHA256.fullmatch(item.lower())]
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        raise InvalidSignature(f"The signature header cannot be read. {shape}")
    return timestamps[0], signatures


def read_notification(body: bytes) -> Notification:
    """The generic notification body, every field checked (422 naming each bad one)."""
    try:
        data = json.loads(body)
    except ValueError as error:  # not JSON, or not UTF-8
        raise MalformedBody(f"The notification is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise MalformedBody("The notification must be a JSON object.")
    errors: dict[str, list[str]] = {}
    deposit_id = _whole(data, "deposit_id", 2**63 - 1, errors)
    amount = _whole(data, "amount", ledger.MAX_AMOUNT, errors)
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        errors["outcome"] = [f"One of {', '.join(OUTCOMES)}."]
    reference = data.get("reference")
    if not isinstance(reference, str) or not 1 <= len(reference.strip()) <= MAX_REFERENCE \
            or _CONTROL.search(reference):
        errors["reference"] = [f"The provider's id for the payment: 1 to {MAX_REFERENCE} characters, no control "
                               "characters."]
    currency = data.get("currency")
    if currency is not None and not ledger.is_currency_code(currency):
        errors["currency"] = ["An ISO 4217 code (three capital letters), or leave it out."]
    if errors:
        raise InvalidInput(errors)
    return Notification(deposit_id, amount, outcome, reference.strip(), currency)


def _whole(data: dict, field: str, most: int, errors: dict[str, list[str]]) -> int:
    value = data.get(field)
    if type(value) is not int or not 1 <= value <= most:
        errors[field] = [f"A whole number from 1 to {most}."]
        return 0
    return value


def apply(session: Session, provider: str, told: Notification, now: dt.datetime) -> tuple[Deposit, bool]:
    """Decide the deposit as the notification says (see `budgets.settle_deposit`): (the deposit, whether this
    notification decided it; False when it already had this outcome). Flushes, never commits."""
    if told.currency is not None and told.currency != ledger.currency():
        raise AmountMismatch(f"The notification is in {told.currency}; deposits here are in {ledger.currency()}. "
                             "Nothing was changed.")
    paid = told.outcome == "paid"
    note = f"{'Paid' if paid else 'Failed'} at {provider}: {told.reference}"
    return budgets.settle_deposit(session, told.deposit_id, told.amount, paid, now, note[:500])


def configured(settings: Mapping[str, Any]) -> dict[str, PaymentProvider]:
    """The providers the settings name, by name: ANNOTATOR_PAYMENT_PROVIDER (empty: none) verified with any of
    ANNOTATOR_PAYMENT_WEBHOOK_SECRETS (comma-separated) within ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE seconds.
    ValueError, naming the setting, when they cannot work."""
    name = str(settings.get("ANNOTATOR_PAYMENT_PROVIDER") or "").strip()
    if not name:
        return {}
    if not _NAME.fullmatch(name):
        raise ValueError(f"ANNOTATOR_PAYMENT_PROVIDER is a name of lower-case letters, digits, '-' and '_' (at "
                         f"most 30), not {name!r}.")
    secrets = [s.strip() for s in str(settings.get("ANNOTATOR_PAYMENT_WEBHOOK_SECRETS") or "").split(",") if s.strip()]
    if not secrets or any(len(secret) < MIN_SECRET_LENGTH for secret in secrets):
        raise ValueError(f"ANNOTATOR_PAYMENT_WEBHOOK_SECRETS needs at least one secret (comma-separated), each at "
                         f"least {MIN_SECRET_LENGTH} characters, when ANNOTATOR_PAYMENT_PROVIDER is set.")
    tolerance = int(settings.get("ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE", DEFAULT_TOLERANCE))
    if not 1 <= tolerance <= 86_400:
        raise ValueError(f"ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE is 1 to 86400 seconds, not {tolerance}.")
    return {name: HmacProvider(name, secrets, tolerance)}
