"""Fixtures the delivery tests share: the loopback Twilio double, and the real Twilio
transport (the SDK) pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.testing.twilio_double import TwilioDouble


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble.start() as running:
        yield running


@pytest.fixture
def twilio(double: TwilioDouble) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=5
    )
