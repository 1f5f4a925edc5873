"""README: provider calls time out after min(10, lease/3) seconds, so a send always ends
before recovery asks the provider about it. Checked on the transports the settings build,
down to the timeout the twilio SDK's HTTP client and smtplib are given."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.core.config import load_settings
from followup.delivery.transports.factory import build_transports
from followup.delivery.transports.smtp_email import SmtpEmailTransport
from followup.delivery.transports.twilio_sms import TwilioSmsTransport


@pytest.mark.parametrize(
    ("lease_seconds", "timeout"),
    [(120, 10), (60, 10), (30, 10), (24, 8), (15, 5), (6, 2)],
)
def test_provider_calls_time_out_after_ten_seconds_or_a_third_of_the_lease(
    tmp_path: Path, lease_seconds: int, timeout: float
) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        sms_transport="twilio",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        email_transport="smtp",
        lease_seconds=lease_seconds,
    )
    sms, email = build_transports(settings)
    assert isinstance(sms, TwilioSmsTransport)
    assert isinstance(email, SmtpEmailTransport)
    # What the SDK's own HTTP client waits for, not only what we stored.
    assert sms._client().http_client.timeout == pytest.approx(timeout)
    assert email.timeout == pytest.approx(timeout)
