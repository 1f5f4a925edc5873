"""Periodic tidying that keeps the outbox honest between sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.delivery.outbox import transition
from followup.models import PENDING_STATUSES, MessageStatus, ScheduledMessage, status_is


def expire_overdue(session: Session, *, now: datetime, actor: str, limit: int = 1000) -> int:
    """Expire waiting messages whose useful window has passed, so the dashboard does not
    show day-1 advice as "scheduled" on day 3 (paused ones are never claimed, so the
    claim's own expiry check would not see them)."""
    rows = session.scalars(
        select(ScheduledMessage)
        .where(
            status_is(*PENDING_STATUSES),  # ix_scheduled_message_clinic_pending
            ScheduledMessage.expires_at <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in rows:
        detail = "its useful window passed before it could be sent"
        transition(session, message, MessageStatus.EXPIRED, at=now, detail=detail, actor=actor)
    return len(rows)
