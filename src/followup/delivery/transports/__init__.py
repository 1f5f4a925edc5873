"""Transports: the edges that hand messages to providers (Twilio, SMTP, the console)."""

from followup.delivery.transports.base import (
    EmailTransport,
    NullTransport,
    OutgoingEmail,
    OutgoingSms,
    PermanentSendError,
    ProviderMessage,
    SendError,
    SendResult,
    SmsTransport,
    TransientSendError,
)

__all__ = [
    "EmailTransport",
    "NullTransport",
    "OutgoingEmail",
    "OutgoingSms",
    "PermanentSendError",
    "ProviderMessage",
    "SendError",
    "SendResult",
    "SmsTransport",
    "TransientSendError",
]
