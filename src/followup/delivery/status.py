"""Delivery reports from the provider (Twilio status callbacks) applied to messages.

Callbacks arrive late, twice, and out of order; a message only moves forward
(`outbox.is_forward`): a late `sent` after `delivered` changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.delivery.outbox import is_forward, transition
from followup.delivery.outcomes import UNSUBSCRIBED, opt_out_patient
from followup.delivery.transports.base import describe_twilio_error
from followup.models import MessageStatus, ScheduledMessage

log = logging.getLogger(__name__)

# Twilio's MessageStatus values -> ours. "queued"/"accepted"/"sending" mean the provider
# holds it, which is what our `sent` means.
PROVIDER_STATUSES = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def apply_provider_status(
    session: Session,
    provider_id: str,
    reported: str,
    *,
    error_code: str | None,
    now: datetime,
    actor: str = "twilio",
) -> str:
    """Record a provider's report on one message; return what happened (for logs/tests)."""
    target = PROVIDER_STATUSES.get(reported.strip().lower())
    if target is None:
        return "ignored"
    message = session.scalar(
        select(ScheduledMessage)
        .where(ScheduledMessage.provider_id == provider_id)
        .with_for_update()
    )
    if message is None:
        log.info("status for unknown message provider_id=%s status=%s", provider_id, reported)
        return "unknown"
    if not is_forward(message.status, target):
        return "unchanged"
    reason = None
    if target is MessageStatus.DELIVERED:
        message.delivered_at = now
    elif target in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        code = int(error_code) if error_code and error_code.isdigit() else None
        reason = describe_twilio_error(code, fallback=f"the provider reported {reported}")
        message.error_code = error_code
        message.error_message = reason
    elif message.sent_at is None:
        message.sent_at = now
    detail = f"provider reported {reported}" + (f": {reason}" if reason else "")
    transition(session, message, target, at=now, detail=detail, actor=actor, error_code=error_code)
    if error_code == UNSUBSCRIBED and message.patient_id is not None:
        opt_out_patient(session, message.patient_id, now=now, source="carrier", actor=actor)
    return "applied"
