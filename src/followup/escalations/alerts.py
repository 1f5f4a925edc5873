"""Paging staff about escalations: alert queueing, recipients, and the SLA sweep.

Opening an escalation (followup.escalations.lifecycle) queues the first alerts through here;
`sla_sweep` tells the on-call contacts again while nobody has acknowledged it. Alerts go
through the outbox, so they are retried and audited like patient messages.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.core.prepared import Prepared
from followup.core.runtime import Runtime
from followup.delivery.outbox_bulk import Outgoing, queue_messages
from followup.messages.automatic import (
    ClinicLike,
    EscalationLike,
    ReplyTextError,
    ReplyTexts,
    StaffAlert,
    reply_texts,
)
from followup.messages.rendering import default_templates_dir
from followup.models import (
    Channel,
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    MessageKind,
    OnCallContact,
)

# Named as before the split, so log records (and any per-logger config) are unchanged.
log = logging.getLogger("followup.escalations.lifecycle")

SYSTEM_ACTOR = "system"
# After this many reminders a person has ignored repeated pages; more pages don't help,
# and the dashboard keeps showing the escalation as overdue.
MAX_REMINDERS = 5


class AlertClinic(ClinicLike, Protocol):
    """The clinic as alerting needs it: an ORM Clinic, or the webhook's ClinicFacts."""

    @property
    def id(self) -> int: ...
    @property
    def contact_email(self) -> str | None: ...


class AlertEscalation(EscalationLike, Protocol):
    @property
    def patient_id(self) -> int: ...


def sla_due_at(escalation: Escalation, clinic: Clinic) -> datetime | None:
    """When the on-call contacts are next reminded, or None (inbox items, or done)."""
    if escalation.status is not EscalationStatus.OPEN:
        return None
    if escalation.priority is EscalationPriority.INBOX or escalation.notify_count > MAX_REMINDERS:
        return None
    urgent = escalation.priority is EscalationPriority.URGENT
    minutes = clinic.urgent_sla_minutes if urgent else clinic.normal_sla_minutes
    return (escalation.last_notified_at or escalation.opened_at) + timedelta(minutes=minutes)


def sla_sweep(session: Session, now: datetime, texts: ReplyTexts | None = None) -> int:
    """Re-alert the on-call contacts for every open escalation past its SLA; return how many.

    Rows are locked (skipping ones another sweeper holds), so two workers never double-page.
    """
    candidates = session.execute(
        select(Escalation, Clinic)
        .join(Clinic, Clinic.id == Escalation.clinic_id)
        .where(
            Escalation.status == EscalationStatus.OPEN,
            Escalation.priority != EscalationPriority.INBOX,
            Escalation.notify_count <= MAX_REMINDERS,
        )
        .order_by(Escalation.opened_at)
        .with_for_update(of=Escalation, skip_locked=True)
    ).all()
    reminded = 0
    for escalation, clinic in candidates:
        due = sla_due_at(escalation, clinic)
        if due is None or due > now:
            continue
        inbound = (
            session.get(InboundMessage, escalation.inbound_message_id)
            if escalation.inbound_message_id
            else None
        )
        media_count = len(inbound.media) if inbound and inbound.media else 0
        _alert(session, clinic, escalation, now, texts, media_count, reminder=True)
        record_audit(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            action="escalation.remind",
            clinic_id=clinic.id,
            target_type="escalation",
            target_id=escalation.id,
            detail={"notify_count": escalation.notify_count},
        )
        reminded += 1
    return reminded


def _alert(
    session: Session,
    clinic: Clinic,
    escalation: Escalation,
    now: datetime,
    texts: ReplyTexts | None,
    media_count: int,
    *,
    reminder: bool,
) -> int:
    """Queue one alert per on-call address; return how many were queued."""
    urgent = escalation.priority is EscalationPriority.URGENT
    conn = session.connection()
    recipients = alert_recipients(conn, clinic, urgent=urgent)
    queued = queue_alerts(
        conn, clinic, escalation, recipients, now, texts, media_count, reminder=reminder
    )
    escalation.last_notified_at = now
    escalation.notify_count += 1
    return queued


def queue_alerts(
    conn: Connection,
    clinic: AlertClinic,
    escalation: AlertEscalation,
    recipients: list[tuple[Channel, str]],
    now: datetime,
    texts: ReplyTexts | None,
    media_count: int,
    *,
    reminder: bool = False,
) -> int:
    """Queue one alert per on-call address (with its outbox events); return how many."""
    if not recipients:
        log.warning("escalation %s: clinic %s has nobody to alert", escalation.id, clinic.id)
        return 0
    try:
        alert = (texts or reply_texts(default_templates_dir())).alert(
            clinic, escalation, media_count=media_count, reminder=reminder
        )
    except ReplyTextError:
        # Staff must hear about it even if someone broke the alert template.
        log.exception("staff alert template cannot be rendered; sending the plain one")
        text = f"{escalation.priority.upper()} patient reply #{escalation.id}: see the dashboard."
        alert = StaffAlert(sms=text, subject=text, email=text + "\n")
    queue_messages(
        conn,
        [
            Outgoing(channel, alert.sms, recipient=address)
            if channel is Channel.SMS
            else Outgoing(channel, alert.email, recipient=address, subject=alert.subject)
            for channel, address in recipients
        ],
        clinic_id=clinic.id,
        kind=MessageKind.STAFF_ALERT,
        at=now,
        actor=SYSTEM_ACTOR,
        patient_id=escalation.patient_id,
        escalation_id=escalation.id,
    )
    return len(recipients)


# Built once (composing a statement costs as much CPU as running it); addresses only.
_URGENT_CONTACTS_QUERY = (
    select(OnCallContact.phone, OnCallContact.email)
    .where(OnCallContact.clinic_id == bindparam("clinic_id"), OnCallContact.active.is_(True))
    .order_by(OnCallContact.id)
)
_URGENT_CONTACTS = Prepared(_URGENT_CONTACTS_QUERY)
_NORMAL_CONTACTS = Prepared(_URGENT_CONTACTS_QUERY.where(OnCallContact.urgent_only.is_(False)))


def alert_recipients(
    conn: Connection, clinic: AlertClinic, *, urgent: bool
) -> list[tuple[Channel, str]]:
    query = _URGENT_CONTACTS if urgent else _NORMAL_CONTACTS
    recipients: list[tuple[Channel, str]] = []
    for phone, email in query.rows(conn, {"clinic_id": clinic.id}):
        if phone:
            recipients.append((Channel.SMS, phone))
        if email:
            recipients.append((Channel.EMAIL, email))
    if not recipients and clinic.contact_email:
        # Nobody on call: the clinic's own inbox is better than telling no one.
        recipients.append((Channel.EMAIL, clinic.contact_email))
    return list(dict.fromkeys(recipients))


def escalation_sla_sweep(runtime: Runtime) -> int:
    """The worker's periodic job: one transaction, the runtime's clock."""
    texts = reply_texts(runtime.settings.templates_dir, runtime.settings.public_url)
    with runtime.sessions() as session, session.begin():
        reminded = sla_sweep(session, runtime.clock.now(), texts)
    if reminded:
        log.info("escalation sla sweep reminded=%s", reminded)
    return reminded
