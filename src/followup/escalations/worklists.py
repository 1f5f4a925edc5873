"""What needs a person now: the escalation queue, today's outgoing messages, and messages
that failed or need review. Read-only queries, a fixed number per list (no query per row),
all scoped to one clinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from followup.models import (
    NEEDS_PERSON_STATUSES,
    PENDING_STATUSES,
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    MessageKind,
    Patient,
    ScheduledMessage,
    status_is,
)

QUEUE_LIMIT = 100
LIST_LIMIT = 100
NEEDS_PERSON = NEEDS_PERSON_STATUSES
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)

_PRIORITY_RANK = case(
    (Escalation.priority == EscalationPriority.URGENT, 0),
    (Escalation.priority == EscalationPriority.NORMAL, 1),
    else_=2,
)


@dataclass(frozen=True)
class QueueFilter:
    priority: EscalationPriority | None = None
    statuses: tuple[EscalationStatus, ...] = UNRESOLVED
    assigned_to_id: int | None = None  # "mine"


@dataclass(frozen=True)
class HandlingTimes:
    """How long an escalation took: to acknowledge, to resolve (None: not yet)."""

    to_acknowledge: timedelta | None
    to_resolve: timedelta | None


def handling_times(escalation: Escalation) -> HandlingTimes:
    """Both measured from the opening, as the reports measure them."""
    opened = escalation.opened_at
    acknowledged, resolved = escalation.acknowledged_at, escalation.resolved_at
    return HandlingTimes(
        acknowledged - opened if acknowledged is not None else None,
        resolved - opened if resolved is not None else None,
    )


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue. An open escalation is measured against its SLA (`age`,
    `overdue`); once acknowledged or resolved, `times` says how long each step took (an
    age against the SLA would read as overdue for ever)."""

    escalation: Escalation
    patient: Patient
    reply: InboundMessage | None
    age: timedelta
    sla: timedelta | None  # None: the inbox has no promised time
    overdue: bool
    times: HandlingTimes


def sla_for(clinic: Clinic, priority: EscalationPriority) -> timedelta | None:
    if priority is EscalationPriority.URGENT:
        return timedelta(minutes=clinic.urgent_sla_minutes)
    if priority is EscalationPriority.NORMAL:
        return timedelta(minutes=clinic.normal_sla_minutes)
    return None


def escalation_queue(
    session: Session,
    clinic: Clinic,
    now: datetime,
    queue_filter: QueueFilter,
    limit: int = QUEUE_LIMIT,
) -> list[QueueItem]:
    """Escalations matching the filter: unresolved ones urgent first, then oldest first (the
    order to work through them); resolved ones newest first (the order to look back)."""
    resolved_only = queue_filter.statuses == (EscalationStatus.RESOLVED,)
    order = (
        (Escalation.opened_at.desc(), Escalation.id.desc())
        if resolved_only
        else (_PRIORITY_RANK, Escalation.opened_at, Escalation.id)
    )
    # Pick the ids first, so the joins touch only the rows shown, not every resolved one.
    picked = (
        select(Escalation.id)
        .where(Escalation.clinic_id == clinic.id, Escalation.status.in_(queue_filter.statuses))
        .order_by(*order)
        .limit(limit)
    )
    if queue_filter.priority is not None:
        picked = picked.where(Escalation.priority == queue_filter.priority)
    if queue_filter.assigned_to_id is not None:
        picked = picked.where(Escalation.assigned_to_id == queue_filter.assigned_to_id)
    query = (
        select(Escalation, Patient, InboundMessage)
        .join(Patient, Patient.id == Escalation.patient_id)
        .outerjoin(InboundMessage, InboundMessage.id == Escalation.inbound_message_id)
        .where(Escalation.id.in_(picked.scalar_subquery()))
        .order_by(*order)
    )
    items = []
    for escalation, patient, reply in session.execute(query).all():
        sla = sla_for(clinic, escalation.priority)
        age = now - escalation.opened_at
        waiting = escalation.status is EscalationStatus.OPEN
        overdue = waiting and sla is not None and age > sla
        items.append(
            QueueItem(escalation, patient, reply, age, sla, overdue, handling_times(escalation))
        )
    return items


def open_counts(session: Session, clinic_id: int) -> dict[EscalationPriority, int]:
    """Open (not yet acknowledged) escalations per priority: the badge."""
    rows = session.execute(
        select(Escalation.priority, func.count(Escalation.id))
        .where(Escalation.clinic_id == clinic_id, Escalation.status == EscalationStatus.OPEN)
        .group_by(Escalation.priority)
    ).all()
    counts = dict.fromkeys(EscalationPriority, 0)
    counts.update(dict(rows))
    return counts


def local_day_bounds(clinic: Clinic, now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the clinic's current local day."""
    tz = ZoneInfo(clinic.timezone)
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def messages_today(
    session: Session, clinic: Clinic, now: datetime, limit: int = LIST_LIMIT
) -> list[tuple[ScheduledMessage, Patient]]:
    """Patient messages due during the clinic's local day and not gone yet. (A message
    stuck from an earlier day means the worker is down; that is an operations alarm, not a
    list for the nurse.)"""
    start, end = local_day_bounds(clinic, now)
    rows = session.execute(
        select(ScheduledMessage, Patient)
        .join(Patient, Patient.id == ScheduledMessage.patient_id)
        .where(
            ScheduledMessage.clinic_id == clinic.id,
            status_is(*PENDING_STATUSES),  # ix_scheduled_message_clinic_pending
            ScheduledMessage.kind != MessageKind.STAFF_ALERT,
            ScheduledMessage.next_attempt_at >= start,
            ScheduledMessage.next_attempt_at < end,
        )
        .order_by(ScheduledMessage.next_attempt_at, ScheduledMessage.id)
        .limit(limit)
    ).all()
    return [(message, patient) for message, patient in rows]


def messages_needing_person(
    session: Session, clinic: Clinic, limit: int = LIST_LIMIT
) -> list[tuple[ScheduledMessage, Patient | None]]:
    """Failed, undelivered and needs_review messages, newest first."""
    rows = session.execute(
        select(ScheduledMessage, Patient)
        .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
        .where(
            ScheduledMessage.clinic_id == clinic.id,
            status_is(*NEEDS_PERSON),  # ix_scheduled_message_needs_person
        )
        .order_by(ScheduledMessage.updated_at.desc(), ScheduledMessage.id.desc())
        .limit(limit)
    ).all()
    return [(message, patient) for message, patient in rows]
