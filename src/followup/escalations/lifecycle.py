"""The escalation lifecycle: a reply that needs a person, from opening to resolution.

open -> acknowledged -> resolved, and a resolved one may be reopened (acknowledged again).
Opening one tells the clinic's on-call contacts through the outbox (so alerts are retried
and audited like patient messages); `sla_sweep` (in followup.escalations.alerts,
re-exported here) tells them again while nobody has acknowledged it. Every staff action
writes an audit event with the staff member as actor. Functions take the session and
`now`; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from followup.core.audit import record_audit
from followup.core.prepared import Prepared, full_row
from followup.delivery.outbox import transition

# Staff alerting and the SLA sweep live in escalation_alerts; `X as X` re-exports them, so
# `from followup.escalations.lifecycle import ...` (the worker, tests) still works.
from followup.escalations.alerts import MAX_REMINDERS as MAX_REMINDERS
from followup.escalations.alerts import SYSTEM_ACTOR as SYSTEM_ACTOR
from followup.escalations.alerts import AlertClinic, alert_recipients, queue_alerts
from followup.escalations.alerts import escalation_sla_sweep as escalation_sla_sweep
from followup.escalations.alerts import sla_due_at as sla_due_at
from followup.escalations.alerts import sla_sweep as sla_sweep
from followup.escalations.errors import EscalationError as EscalationError
from followup.escalations.errors import PatientOptedOut as PatientOptedOut
from followup.escalations.errors import StaffActionError as StaffActionError
from followup.escalations.staff_texts import MAX_TEXT_LENGTH, queue_staff_text, required_text
from followup.messages.automatic import ReplyTexts
from followup.models import (
    PENDING_STATUSES,
    AuditEvent,
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    StaffNote,
    StaffUser,
    Treatment,
)

log = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 5000
MAX_REPLY_LENGTH = MAX_TEXT_LENGTH
MAX_OUTCOME_LENGTH = 2000
_REASON_LENGTH = 300


def open_escalation(
    session: Session,
    *,
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment | None,
    inbound: InboundMessage | None,
    priority: EscalationPriority,
    reason: str,
    now: datetime,
    texts: ReplyTexts | None = None,
) -> Escalation:
    """`insert_escalation` for ORM callers: the row joins the session as if loaded (every
    column set, so reading one costs no SELECT)."""
    session.flush()  # the Core statements below must see what the session holds
    opened = insert_escalation(
        session.connection(),
        clinic=clinic,
        patient_id=patient.id,
        treatment_id=treatment.id if treatment else None,
        inbound_id=inbound.id if inbound else None,
        media_count=len(inbound.media) if inbound and inbound.media else 0,
        priority=priority,
        reason=reason,
        now=now,
        texts=texts,
    )
    escalation = Escalation(id=opened.id, **opened.row)
    make_transient_to_detached(escalation)
    session.add(escalation)
    return escalation


@dataclass(frozen=True)
class OpenedEscalation:
    """An escalation just inserted: its id and the values of its row."""

    id: int
    row: dict[str, Any]

    @property
    def priority(self) -> EscalationPriority:
        return cast(EscalationPriority, self.row["priority"])

    @property
    def reason(self) -> str:
        return cast(str, self.row["reason"])

    @property
    def patient_id(self) -> int:
        return cast(int, self.row["patient_id"])


def insert_escalation(
    conn: Connection,
    *,
    clinic: AlertClinic,
    patient_id: int,
    treatment_id: int | None,
    inbound_id: int | None,
    media_count: int,
    priority: EscalationPriority,
    reason: str,
    now: datetime,
    texts: ReplyTexts | None = None,
) -> OpenedEscalation:
    """Open an escalation and queue alerts to the on-call contacts (not for inbox items:
    those wait on the dashboard and page nobody).

    On the webhook's hot path, so Core on the transaction's connection: the row with one
    INSERT ... RETURNING, the alerts and their `created` events in two multi-row INSERTs
    (outbox_bulk), the audit event in one more; no ORM flush."""
    alerting = priority is not EscalationPriority.INBOX
    urgent = priority is EscalationPriority.URGENT
    recipients = alert_recipients(conn, clinic, urgent=urgent) if alerting else []
    row = escalation_row(
        clinic_id=clinic.id,
        patient_id=patient_id,
        treatment_id=treatment_id,
        inbound_id=inbound_id,
        priority=priority,
        reason=reason,
        now=now,
    )
    opened = OpenedEscalation(_INSERT_ESCALATION.scalar(conn, row), row)
    alerts = 0
    if alerting:
        alerts = queue_alerts(conn, clinic, opened, recipients, now, texts, media_count)
    _INSERT_AUDIT.run(conn, opening_audit_row(row, opened.id, alerts))
    log.info("escalation opened id=%s priority=%s alerts=%s", opened.id, priority, alerts)
    return opened


def escalation_row(
    *,
    clinic_id: int,
    patient_id: int,
    treatment_id: int | None,
    inbound_id: int | None,
    priority: EscalationPriority,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Every column of a new open escalation (alerting ones are notified as they open)."""
    alerting = priority is not EscalationPriority.INBOX
    return full_row(
        _ESCALATIONS,
        {
            "clinic_id": clinic_id,
            "patient_id": patient_id,
            "treatment_id": treatment_id,
            "inbound_message_id": inbound_id,
            "priority": priority,
            "status": EscalationStatus.OPEN,
            "reason": reason[:_REASON_LENGTH],
            "opened_at": now,
            # What a reminder (escalation_alerts) records, written with the row, not an
            # UPDATE.
            "last_notified_at": now if alerting else None,
            "notify_count": 1 if alerting else 0,
        },
    )


def opening_audit_row(
    escalation: dict[str, Any], escalation_id: int | None, alerts: int
) -> dict[str, Any]:
    """The `escalation.open` audit event (the same row record_audit would write)."""
    return full_row(
        _AUDIT,
        {
            "clinic_id": escalation["clinic_id"],
            "actor": SYSTEM_ACTOR,
            "staff_user_id": None,
            "action": "escalation.open",
            "target_type": "escalation",
            "target_id": escalation_id,
            "detail": {
                "priority": str(escalation["priority"]),
                "patient_id": escalation["patient_id"],
                "alerts": alerts,
            },
            "at": escalation["opened_at"],
        },
    )


def acknowledge(session: Session, escalation: Escalation, staff: StaffUser, now: datetime) -> None:
    """Someone has it: stops the reminders and cancels alerts not yet sent."""
    _lock_for_staff(session, escalation, staff)
    if escalation.status is EscalationStatus.RESOLVED:
        raise EscalationError("this escalation is already resolved")
    if escalation.status is EscalationStatus.ACKNOWLEDGED:
        raise EscalationError("this escalation is already acknowledged")
    _mark_acknowledged(session, escalation, staff, now)
    _audit(session, escalation, staff, now, "escalation.acknowledge")


def assign(
    session: Session,
    escalation: Escalation,
    assignee: StaffUser | None,
    by: StaffUser,
    now: datetime,
) -> None:
    """Give the escalation to `assignee` (None: nobody)."""
    _lock_for_staff(session, escalation, by)
    if escalation.status is EscalationStatus.RESOLVED:
        raise EscalationError("this escalation is already resolved")
    if assignee is not None and (assignee.clinic_id != escalation.clinic_id or not assignee.active):
        raise EscalationError("assign it to an active staff member of this clinic")
    escalation.assigned_to_id = assignee.id if assignee else None
    _audit(
        session,
        escalation,
        by,
        now,
        "escalation.assign",
        {"assigned_to_id": assignee.id if assignee else None},
    )


def add_note(
    session: Session, escalation: Escalation, author: StaffUser, body: str, now: datetime
) -> StaffNote:
    """A note for colleagues (never sent to the patient)."""
    _check_clinic(escalation, author)
    text = required_text(body, "note", MAX_NOTE_LENGTH, EscalationError)
    note = StaffNote(
        patient_id=escalation.patient_id,
        escalation_id=escalation.id,
        author_id=author.id,
        body=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    _audit(session, escalation, author, now, "escalation.note", {"note_id": note.id})
    return note


def reply_to_patient(
    session: Session, escalation: Escalation, author: StaffUser, body: str, now: datetime
) -> ScheduledMessage:
    """Queue an SMS from staff to the patient (staff_texts: checked, refused after STOP,
    through the outbox). Replying counts as acknowledging."""
    _lock_for_staff(session, escalation, author)
    patient = session.get_one(Patient, escalation.patient_id)
    message = queue_staff_text(session, patient, author, body, now, escalation_id=escalation.id)
    if escalation.status is EscalationStatus.OPEN:
        _mark_acknowledged(session, escalation, author, now)
    _audit(session, escalation, author, now, "escalation.reply", {"message_id": message.id})
    return message


def resolve(
    session: Session, escalation: Escalation, staff: StaffUser, outcome: str, now: datetime
) -> None:
    """Close the escalation with what was done about it."""
    _lock_for_staff(session, escalation, staff)
    text = required_text(outcome, "outcome", MAX_OUTCOME_LENGTH, EscalationError)
    if escalation.status is EscalationStatus.RESOLVED:
        raise EscalationError("this escalation is already resolved")
    if escalation.status is EscalationStatus.OPEN:
        _mark_acknowledged(session, escalation, staff, now)
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by_id = staff.id
    escalation.outcome = text
    _audit(session, escalation, staff, now, "escalation.resolve")


def reopen(
    session: Session, escalation: Escalation, staff: StaffUser, now: datetime, reason: str = ""
) -> StaffNote:
    """Back to the queue: a resolved escalation that needs more after all.

    It comes back acknowledged, not open: it was seen (its time to acknowledge stays true)
    and a person is on it now, so nobody is paged again. The resolution is cleared from
    the row and kept in a note (with the reason, if given), so nothing of it is lost."""
    _lock_for_staff(session, escalation, staff)
    if escalation.status is not EscalationStatus.RESOLVED:
        raise EscalationError("only a resolved escalation can be reopened")
    why = required_text(reason, "reason", MAX_NOTE_LENGTH, EscalationError) if reason else ""
    earlier = {
        "resolved_at": escalation.resolved_at.isoformat() if escalation.resolved_at else None,
        "resolved_by_id": escalation.resolved_by_id,
        "outcome": escalation.outcome,
    }
    note = StaffNote(
        patient_id=escalation.patient_id,
        escalation_id=escalation.id,
        author_id=staff.id,
        body=f"Reopened{': ' + why if why else ''}. Earlier outcome: {escalation.outcome}",
        created_at=now,
    )
    session.add(note)
    escalation.status = EscalationStatus.ACKNOWLEDGED
    if escalation.acknowledged_at is None:  # resolve() acknowledges; older rows may not be
        escalation.acknowledged_at = now
        escalation.acknowledged_by_id = staff.id
    escalation.resolved_at = None
    escalation.resolved_by_id = None
    escalation.outcome = None
    session.flush()
    _audit(session, escalation, staff, now, "escalation.reopen", {**earlier, "note_id": note.id})
    return note


_ESCALATIONS: Table = Escalation.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]
_INSERT_AUDIT = Prepared(insert(_AUDIT))
_INSERT_ESCALATION = Prepared(insert(_ESCALATIONS).returning(_ESCALATIONS.c.id))


def _mark_acknowledged(
    session: Session, escalation: Escalation, staff: StaffUser, now: datetime
) -> None:
    escalation.status = EscalationStatus.ACKNOWLEDGED
    escalation.acknowledged_at = now
    escalation.acknowledged_by_id = staff.id
    # Alerts still waiting in the outbox would page people about something already taken.
    pending = session.scalars(
        select(ScheduledMessage).where(
            ScheduledMessage.escalation_id == escalation.id,
            ScheduledMessage.kind == MessageKind.STAFF_ALERT,
            ScheduledMessage.status.in_(PENDING_STATUSES),
        )
    ).all()
    for message in pending:
        transition(
            session,
            message,
            MessageStatus.CANCELLED,
            at=now,
            detail="escalation acknowledged",
            actor=staff.email,
        )


def _check_clinic(escalation: Escalation, staff: StaffUser) -> None:
    # Routes scope queries to the staff member's clinic; this is the second lock on the door.
    if staff.clinic_id != escalation.clinic_id or not staff.active:
        raise EscalationError("this escalation belongs to another clinic")


def _lock_for_staff(session: Session, escalation: Escalation, staff: StaffUser) -> None:
    """Re-read the row under a lock, so two people clicking at once act one after the other."""
    _check_clinic(escalation, staff)
    if escalation in session and escalation.id is not None:
        session.flush()  # refresh would otherwise drop this transaction's unflushed changes
        session.refresh(escalation, with_for_update=True)


def _audit(
    session: Session,
    escalation: Escalation,
    staff: StaffUser,
    now: datetime,
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    record_audit(
        session,
        at=now,
        actor=staff.email,
        action=action,
        clinic_id=escalation.clinic_id,
        staff_user_id=staff.id,
        target_type="escalation",
        target_id=escalation.id,
        detail={"patient_id": escalation.patient_id, **(detail or {})},
    )
