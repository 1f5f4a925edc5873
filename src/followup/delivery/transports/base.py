"""What every transport speaks: outgoing messages, results, errors, and the two protocols.

The delivery worker only knows these names. A transport turns a provider's answer into
a `SendResult` or one of two error types: `TransientSendError` (try again later) or
`PermanentSendError` (this message to this recipient will never succeed; show staff why).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    body: str
    reference: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    from_address: str
    subject: str
    text: str
    html: str | None
    reference: str
    unsubscribe_url: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    provider_status: str | None = None


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider remembers it (used to settle "did it go?" after a crash)."""

    provider_id: str
    to: str
    from_number: str | None
    body: str
    status: str
    created_at: datetime


class SendError(Exception):
    """A send that did not succeed. `reason` is a sentence staff can read."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(f"{code}: {reason}" if code else reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Worth retrying later: timeouts, connection errors, rate limits, provider outages.

    `retry_after` is the provider's own hint in seconds, when it gave one.
    `maybe_sent` is True when the request may have reached the provider before the
    failure (e.g. a read timeout): the provider could have accepted it, so the caller
    should look it up (`find_sent`) rather than resend blindly.
    """

    def __init__(
        self,
        reason: str,
        code: str | None = None,
        *,
        retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(reason, code)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentSendError(SendError):
    """Retrying will not help (invalid number, opted out, landline, hard bounce)."""


class TwilioErrorCode:
    """Twilio error codes we act on (https://www.twilio.com/docs/api/errors)."""

    AUTHENTICATION_FAILED: Final = 20003
    TOO_MANY_REQUESTS: Final = 20429
    INVALID_TO_NUMBER: Final = 21211
    REGION_NOT_PERMITTED: Final = 21408
    BODY_REQUIRED: Final = 21602
    FROM_REQUIRED: Final = 21603
    TO_REQUIRED: Final = 21604
    FROM_NOT_SMS_CAPABLE: Final = 21606
    UNSUBSCRIBED_RECIPIENT: Final = 21610
    CANNOT_ROUTE: Final = 21612
    NOT_A_MOBILE_NUMBER: Final = 21614
    BODY_TOO_LONG: Final = 21617
    QUEUE_OVERFLOW: Final = 30001
    UNREACHABLE: Final = 30003
    BLOCKED: Final = 30004
    UNKNOWN_DESTINATION: Final = 30005
    LANDLINE_OR_UNREACHABLE_CARRIER: Final = 30006
    CARRIER_FILTERED: Final = 30007
    UNKNOWN_ERROR: Final = 30008


TWILIO_ERROR_REASONS: Final[dict[int, str]] = {
    20003: "Twilio rejected our credentials; check the account SID and auth token",
    20429: "Twilio asked us to slow down (too many requests)",
    21211: "The phone number is not a valid number",
    21408: "The account is not permitted to send SMS to this number's country or region",
    21602: "The message has no body",
    21603: "No sender number or messaging service was given",
    21604: "No recipient number was given",
    21606: "The sender number cannot send SMS from this account",
    21610: "The recipient has unsubscribed (replied STOP) from this sender",
    21612: "Twilio cannot route a message from this sender to this number",
    21614: "The number is not a mobile number and cannot receive SMS",
    21617: "The message is longer than Twilio accepts",
    30001: "Twilio's sending queue for our number is full (queue overflow)",
    30003: "The phone is unreachable (off or out of coverage)",
    30004: "The recipient's carrier or device blocked the message",
    30005: "The number does not exist or is no longer in service",
    30006: "The number is a landline or its carrier does not accept SMS",
    30007: "The carrier filtered the message as unwanted",
    30008: "The message failed for an unknown carrier reason",
}

# Codes that describe a passing condition rather than the message or recipient.
TWILIO_TRANSIENT_CODES: Final = frozenset({20003, 20429, 30001})


def describe_twilio_error(code: int | None, fallback: str = "") -> str:
    """A sentence for staff explaining a Twilio error code (also used for status callbacks)."""
    if code is not None and code in TWILIO_ERROR_REASONS:
        return TWILIO_ERROR_REASONS[code]
    return fallback or f"Twilio error {code}"


def mask_email(address: str) -> str:
    """Keep the first letter and the domain: 'jane@example.com' -> 'j***@example.com'."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


class SmsTransport(Protocol):
    name: str

    def send_sms(self, message: OutgoingSms) -> SendResult: ...

    def find_sent(
        self, to: str, from_number: str | None, since: datetime, body: str | None = None
    ) -> list[ProviderMessage] | None:
        """Messages the provider accepted for `to` since `since`; None if it cannot tell."""
        ...


class EmailTransport(Protocol):
    name: str

    def send_email(self, message: OutgoingEmail) -> SendResult: ...


class NullTransport:
    """Accepts everything and sends nothing: for benchmarks that measure our own code."""

    name = "null"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sms_count = 0
        self.email_count = 0

    def send_sms(self, message: OutgoingSms) -> SendResult:
        with self._lock:
            self.sms_count += 1
        return SendResult(provider_id=f"null-{uuid.uuid4().hex}", provider_status="accepted")

    def send_email(self, message: OutgoingEmail) -> SendResult:
        with self._lock:
            self.email_count += 1
        return SendResult(provider_id=f"null-{uuid.uuid4().hex}", provider_status="accepted")

    def find_sent(
        self, to: str, from_number: str | None, since: datetime, body: str | None = None
    ) -> list[ProviderMessage] | None:
        return None  # it keeps nothing, so it cannot tell
