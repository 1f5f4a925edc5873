"""The outbox: every status change of a message goes through `transition`, which keeps the
event log complete; queueing, cancelling and pausing are built on it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.models import (
    PENDING_STATUSES,
    Channel,
    MessageEvent,
    MessageKind,
    MessageStatus,
    ScheduledMessage,
)

# Once a message reaches one of these, a later report can't move it back (a late `sent`
# callback after `delivered` changes nothing).
_RANK = {
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.UNDELIVERED: 2,
    MessageStatus.FAILED: 2,
}


def transition(
    session: Session,
    message: ScheduledMessage,
    to_status: MessageStatus,
    *,
    at: datetime,
    detail: str | None = None,
    actor: str | None = None,
    error_code: str | None = None,
) -> MessageEvent:
    """Move `message` to `to_status` and record the event (in the caller's transaction)."""
    event = MessageEvent(
        message_id=message.id,
        at=at,
        from_status=message.status,
        to_status=to_status,
        detail=detail,
        error_code=error_code,
        actor=actor,
    )
    message.status = to_status
    message.updated_at = at
    session.add(event)
    return event


def is_forward(current: MessageStatus, reported: MessageStatus) -> bool:
    """Whether a provider report moves a sent message forward (never backwards)."""
    return _RANK.get(reported, 0) > _RANK.get(current, 0)


def record_created(
    session: Session, messages: Iterable[ScheduledMessage], *, at: datetime, actor: str
) -> None:
    """Flush new rows and log their first status."""
    rows = list(messages)
    session.flush()
    for message in rows:
        session.add(
            MessageEvent(
                message_id=message.id,
                at=at,
                from_status=None,
                to_status=message.status,
                detail="created",
                actor=actor,
            )
        )


def queue_message(
    session: Session,
    *,
    clinic_id: int,
    kind: MessageKind,
    channel: Channel,
    body: str,
    at: datetime,
    actor: str,
    patient_id: int | None = None,
    recipient: str | None = None,
    subject: str | None = None,
    escalation_id: int | None = None,
    expires_at: datetime | None = None,
) -> ScheduledMessage:
    """Put a ready-written message (staff reply, auto-reply, staff alert) in the outbox, due now."""
    message = ScheduledMessage(
        clinic_id=clinic_id,
        patient_id=patient_id,
        escalation_id=escalation_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        send_at=at,
        next_attempt_at=at,
        expires_at=expires_at,
        status=MessageStatus.SCHEDULED,
        created_by=actor,
    )
    session.add(message)
    record_created(session, [message], at=at, actor=actor)
    return message


def cancel_pending_for_patient(
    session: Session, patient_id: int, *, at: datetime, reason: str, actor: str
) -> int:
    """Cancel every message still waiting to go to this patient; return how many."""
    pending = session.scalars(
        select(ScheduledMessage)
        .where(
            ScheduledMessage.patient_id == patient_id,
            ScheduledMessage.status.in_(PENDING_STATUSES),
            ScheduledMessage.kind != MessageKind.STAFF_ALERT,
        )
        .with_for_update()
    ).all()
    for message in pending:
        transition(session, message, MessageStatus.CANCELLED, at=at, detail=reason, actor=actor)
    return len(pending)
