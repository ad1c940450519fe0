"""The payment-provider adapter without HTTP: the HMAC scheme, the notification body, the settings."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from annotator.errors import InvalidInput, InvalidSignature, MalformedBody, StaleSignature
from incentives import providers
from incentives.providers import HmacProvider, Notification, PaymentProvider

SECRET, OTHER = "s" * 16, "o" * 16
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
BODY = b'{"deposit_id": 7, "amount": 500, "outcome": "paid", "reference": "ch_1", "currency": "CNY"}'


def header_for(body: bytes, secret: str = SECRET, at: dt.datetime = NOW) -> str:
    moment = int(at.timestamp())
    return f"t={moment},v1={hmac.new(secret.encode(), f'{moment}.'.encode() + body, hashlib.sha256).hexdigest()}"


def test_a_signed_body_reads_as_the_notification_it_says():
    adapter: PaymentProvider = HmacProvider("bank", [SECRET])
    told = adapter.parse_notification({"X-Payment-Signature": header_for(BODY)}, BODY, NOW)
    assert told == Notification(deposit_id=7, amount=500, outcome="paid", reference="ch_1", currency="CNY")


def test_the_header_is_found_whatever_the_case_of_its_name():
    told = HmacProvider("bank", [SECRET]).parse_notification({"x-payment-signature": header_for(BODY)}, BODY, NOW)
    assert told.deposit_id == 7


def test_any_configured_secret_verifies_and_no_other():
    adapter = HmacProvider("bank", [OTHER, SECRET])
    adapter.verify(header_for(BODY, OTHER), BODY, NOW)
    adapter.verify(header_for(BODY, SECRET), BODY, NOW)
    with pytest.raises(InvalidSignature):
        HmacProvider("bank", [OTHER]).verify(header_for(BODY, SECRET), BODY, NOW)


def test_the_tolerance_bounds_the_timestamp_both_ways_and_is_checked_after_the_signature():
    adapter = HmacProvider("bank", [SECRET], tolerance=60)
    adapter.verify(header_for(BODY, at=NOW - dt.timedelta(seconds=60)), BODY, NOW)
    for moved in (61, -61):
        with pytest.raises(StaleSignature):
            adapter.verify(header_for(BODY, at=NOW - dt.timedelta(seconds=moved)), BODY, NOW)
    with pytest.raises(InvalidSignature) as raised:  # forged and old: told it is forged, not that it is old
        adapter.verify(header_for(BODY, OTHER, at=NOW - dt.timedelta(hours=1)), BODY, NOW)
    assert type(raised.value) is InvalidSignature


def test_a_non_ascii_signature_is_refused_not_a_crash():
    with pytest.raises(InvalidSignature):
        HmacProvider("bank", [SECRET]).verify(f"t={int(NOW.timestamp())},v1={'é' * 64}", BODY, NOW)


@pytest.mark.parametrize("body,error", [(b"nope", MalformedBody), (b"null", MalformedBody),
                                        (b'{"amount": 1}', InvalidInput)])
def test_a_body_that_is_not_a_notification_is_refused(body, error):
    with pytest.raises(error):
        providers.read_notification(body)


def test_no_provider_is_configured_unless_named():
    assert providers.configured({"ANNOTATOR_PAYMENT_PROVIDER": "", "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": SECRET}) == {}
    made = providers.configured({"ANNOTATOR_PAYMENT_PROVIDER": "bank",
                                 "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": f" {SECRET} , {OTHER} ,"})
    assert list(made) == ["bank"] and made["bank"].name == "bank" and made["bank"].tolerance == 300
    made["bank"].verify(header_for(BODY, OTHER), BODY, NOW)  # spaces and an empty item are not secrets
