"""How a Dispatcher is set up: its options (from the settings) and its transports."""

from __future__ import annotations

from dataclasses import dataclass, field

from followup.core.config import Settings
from followup.delivery.outcomes import RetryPolicy
from followup.delivery.transports.base import EmailTransport, SmsTransport

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass(frozen=True)
class DispatchOptions:
    batch_size: int = 200
    concurrency: int = 8
    lease_seconds: float = 120
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=6))
    rate_limit_per_second: float | None = None
    email_from: str = "followup@clinic.invalid"
    status_callback_url: str | None = None
    messaging_service_sid: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchOptions:
        return cls(
            batch_size=settings.dispatch_batch_size,
            concurrency=settings.send_concurrency,
            lease_seconds=settings.lease_seconds,
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                base_seconds=settings.retry_base_seconds,
                cap_seconds=settings.retry_max_seconds,
            ),
            rate_limit_per_second=settings.rate_limit_per_second,
            email_from=settings.email_from,
            status_callback_url=settings.public_url + STATUS_CALLBACK_PATH,
            messaging_service_sid=settings.twilio_messaging_service_sid,
        )


@dataclass(frozen=True)
class Transports:
    sms: SmsTransport
    email: EmailTransport
