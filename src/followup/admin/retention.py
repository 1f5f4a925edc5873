"""Data retention: after a clinic's retention period, message bodies (the words kept of
every message sent: SMS bodies, email subjects and texts) and reply texts are removed,
marked with when, while the rows stay, so every count the reports need (statuses, events,
intents, escalations) survives. Dry run by default: the caller decides whether to write.

The period is the clinic's own `retention_days` when set, else the operator's default
(`followup purge --older-than DAYS`, or FOLLOWUP_RETENTION_DAYS for the worker): a clinic's
policy is the clinic's to make. The worker runs `daily_purge` once per UTC day, whichever
worker asks first (core.periodic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.core.periodic import take_period
from followup.models import (
    PENDING_STATUSES,
    Clinic,
    InboundMessage,
    MessageStatus,
    ScheduledMessage,
)

log = logging.getLogger(__name__)

# A message still waiting (or in flight) keeps its body whatever its age: it may yet be sent.
_KEEP = (*PENDING_STATUSES, MessageStatus.SENDING)
DAILY_PURGE_JOB = "retention_purge"
# The dashboard refuses less: an escalation still being worked on keeps the patient's words.
MIN_CLINIC_RETENTION_DAYS = 30
MAX_CLINIC_RETENTION_DAYS = 3650


class RetentionError(ValueError):
    pass


@dataclass(frozen=True)
class PurgeCount:
    clinic: str
    retention_days: int
    from_clinic_setting: bool
    cutoff: datetime
    message_bodies: int
    inbound_texts: int


def _messages_due(clinic_id: int, cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        ScheduledMessage.clinic_id == clinic_id,
        ScheduledMessage.send_at < cutoff,
        ScheduledMessage.status.not_in(_KEEP),
        or_(ScheduledMessage.body.is_not(None), ScheduledMessage.subject.is_not(None)),
    )


def _inbound_due(clinic_id: int, cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        InboundMessage.clinic_id == clinic_id,
        InboundMessage.received_at < cutoff,
        InboundMessage.body_purged_at.is_(None),
    )


def purge(
    session: Session,
    *,
    older_than_days: int | None,
    now: datetime,
    execute: bool = False,
    clinics: list[Clinic] | None = None,
    actor: str = "system",
) -> list[PurgeCount]:
    """Count (and with `execute`, clear) what is past retention, clinic by clinic. Without a
    default (`older_than_days` None) only clinics with their own period are looked at."""
    if older_than_days is not None and older_than_days < 1:
        raise RetentionError("the retention period must be at least 1 day")
    targets = (
        clinics
        if clinics is not None
        else list(session.scalars(select(Clinic).order_by(Clinic.slug)))
    )
    return [
        _purge_clinic(session, clinic, days, now, execute, actor)
        for clinic in targets
        if (days := clinic.retention_days or older_than_days) is not None
    ]


def daily_purge(
    session: Session, *, now: datetime, default_days: int | None, runner: str
) -> list[PurgeCount] | None:
    """The worker's purge: once per UTC day across every worker (None: already done today,
    by this worker or another). Runs in the caller's transaction with the day's claim, so a
    purge that fails leaves the day to the next try. Each clinic purged is audited."""
    if not take_period(session, DAILY_PURGE_JOB, now.date().isoformat(), runner=runner, now=now):
        return None
    counts = purge(session, older_than_days=default_days, now=now, execute=True, actor=runner)
    for count in counts:
        log.info(
            "retention purge clinic=%s days=%s message_bodies=%s inbound_texts=%s",
            count.clinic,
            count.retention_days,
            count.message_bodies,
            count.inbound_texts,
        )
    if not counts:
        log.info("retention purge: no clinic has a retention period (FOLLOWUP_RETENTION_DAYS)")
    return counts


def _purge_clinic(
    session: Session, clinic: Clinic, days: int, now: datetime, execute: bool, actor: str
) -> PurgeCount:
    cutoff = now - timedelta(days=days)
    messages = _messages_due(clinic.id, cutoff)
    inbound = _inbound_due(clinic.id, cutoff)
    message_count = session.scalar(select(func.count(ScheduledMessage.id)).where(messages)) or 0
    inbound_count = session.scalar(select(func.count(InboundMessage.id)).where(inbound)) or 0
    if execute and (message_count or inbound_count):
        _clear(session, messages, inbound, now)
        record_audit(
            session,
            at=now,
            actor=actor,
            action="retention.purge",
            clinic_id=clinic.id,
            detail={"days": days, "message_bodies": message_count, "inbound_texts": inbound_count},
        )
    return PurgeCount(
        clinic=clinic.slug,
        retention_days=days,
        from_clinic_setting=clinic.retention_days is not None,
        cutoff=cutoff,
        message_bodies=message_count,
        inbound_texts=inbound_count,
    )


def _clear(session: Session, messages: Any, inbound: Any, now: datetime) -> None:
    # Bulk UPDATEs: one statement per table however many rows, never a loop over rows.
    session.execute(
        update(ScheduledMessage)
        .where(messages)
        .values(body=None, subject=None, body_purged_at=now),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(InboundMessage)
        .where(inbound)
        .values(body=None, reply_body=None, media=[], matched=[], body_purged_at=now),
        execution_options={"synchronize_session": False},
    )


def set_retention(session: Session, clinic: Clinic, days: int | None) -> None:
    """Set (or with None, clear) a clinic's own retention period."""
    if days is not None and not MIN_CLINIC_RETENTION_DAYS <= days <= MAX_CLINIC_RETENTION_DAYS:
        raise RetentionError(
            f"keep messages between {MIN_CLINIC_RETENTION_DAYS} and"
            f" {MAX_CLINIC_RETENTION_DAYS} days (an open case keeps the patient's words)"
        )
    clinic.retention_days = days
