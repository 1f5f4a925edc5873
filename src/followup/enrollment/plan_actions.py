"""Staff actions on a patient's plan that are not escalations: pause and resume, cancel or
reschedule one step, resend a failed message, record consent or an opt-out given by phone.

Every function takes the session and `now`, changes messages only through
`outbox.transition` (so the timeline shows each change) and writes an audit event. The
caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.audit import record_staff_audit
from followup.delivery.outbox import cancel_pending_for_patient, transition
from followup.messages.plans import SendRules, next_allowed_time
from followup.models import (
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    StaffNote,
    StaffUser,
    Treatment,
)

MAX_NOTE_LENGTH = 5000
# What staff may do to a message in each status.
CANCELLABLE = (MessageStatus.SCHEDULED, MessageStatus.RETRY, MessageStatus.PAUSED)
RESCHEDULABLE = (MessageStatus.SCHEDULED, MessageStatus.RETRY, MessageStatus.PAUSED)
# needs_review is here on purpose: a person looked at it and decided to send again.
RESENDABLE = (
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.NEEDS_REVIEW,
    MessageStatus.EXPIRED,
)


class PatientActionError(ValueError):
    """An action that doesn't apply to the message or patient in its current state."""


def _plan_messages(
    session: Session, treatment: Treatment, statuses: tuple[MessageStatus, ...]
) -> list[ScheduledMessage]:
    return list(
        session.scalars(
            select(ScheduledMessage)
            .where(
                ScheduledMessage.treatment_id == treatment.id,
                ScheduledMessage.kind == MessageKind.PLAN,
                ScheduledMessage.status.in_(statuses),
            )
            .order_by(ScheduledMessage.send_at)
            .with_for_update()
        )
    )


def pause_plan(session: Session, treatment: Treatment, staff: StaffUser, now: datetime) -> int:
    """Hold every step still waiting; return how many were paused."""
    if treatment.paused_at is not None:
        raise PatientActionError("the plan is already paused")
    treatment.paused_at = now
    waiting = _plan_messages(session, treatment, (MessageStatus.SCHEDULED, MessageStatus.RETRY))
    for message in waiting:
        transition(
            session, message, MessageStatus.PAUSED, at=now, detail="plan paused", actor=staff.email
        )
    record_staff_audit(
        session, staff, "plan.pause", ("treatment", treatment.id), now, messages=len(waiting)
    )
    return len(waiting)


def resume_plan(session: Session, treatment: Treatment, staff: StaffUser, now: datetime) -> int:
    """Release paused steps. A step whose useful time passed while paused expires instead of
    going out late (stale day-1 advice after day 3 would confuse the patient)."""
    if treatment.paused_at is None:
        raise PatientActionError("the plan is not paused")
    treatment.paused_at = None
    resumed = 0
    for message in _plan_messages(session, treatment, (MessageStatus.PAUSED,)):
        if message.expires_at is not None and message.expires_at <= now:
            transition(
                session,
                message,
                MessageStatus.EXPIRED,
                at=now,
                detail="expired while paused",
                actor=staff.email,
            )
            continue
        message.next_attempt_at = max(message.send_at, now)
        transition(
            session,
            message,
            MessageStatus.SCHEDULED,
            at=now,
            detail="plan resumed",
            actor=staff.email,
        )
        resumed += 1
    record_staff_audit(
        session, staff, "plan.resume", ("treatment", treatment.id), now, messages=resumed
    )
    return resumed


def cancel_message(
    session: Session, message: ScheduledMessage, staff: StaffUser, now: datetime
) -> None:
    """Cancel one waiting message (a step the patient doesn't need)."""
    if message.status not in CANCELLABLE:
        raise PatientActionError(f"a {message.status.value} message can't be cancelled")
    transition(
        session,
        message,
        MessageStatus.CANCELLED,
        at=now,
        detail="cancelled by staff",
        actor=staff.email,
    )
    record_staff_audit(session, staff, "message.cancel", ("message", message.id), now)


def reschedule_message(
    session: Session,
    message: ScheduledMessage,
    send_at: datetime,
    staff: StaffUser,
    now: datetime,
    rules: SendRules | None = None,
) -> datetime:
    """Move one waiting message to `send_at`, or to the end of the clinic's quiet hours when
    `send_at` falls in them (nobody's phone buzzes at 2 am because of a typo); its useful
    window moves with it. Returns the time it will go out."""
    if message.status not in RESCHEDULABLE:
        raise PatientActionError(f"a {message.status.value} message can't be rescheduled")
    if rules is not None:
        send_at = next_allowed_time(send_at, rules)
    if send_at <= now:
        raise PatientActionError("the new time is in the past")
    if send_at - now > timedelta(days=60):
        raise PatientActionError("the new time is more than 60 days away")
    shift = send_at - message.send_at
    old = message.send_at
    message.send_at = send_at
    message.next_attempt_at = send_at
    if message.expires_at is not None:
        message.expires_at = message.expires_at + shift
    transition(
        session,
        message,
        message.status,
        at=now,
        detail=f"rescheduled from {old.isoformat()} to {send_at.isoformat()}",
        actor=staff.email,
    )
    record_staff_audit(
        session,
        staff,
        "message.reschedule",
        ("message", message.id),
        now,
        send_at=send_at.isoformat(),
    )
    return send_at


def resend_message(
    session: Session,
    message: ScheduledMessage,
    patient: Patient,
    staff: StaffUser,
    now: datetime,
) -> None:
    """Send a failed message again, now. Refused for a patient who opted out."""
    if message.status not in RESENDABLE:
        raise PatientActionError(f"a {message.status.value} message can't be resent")
    if patient.opted_out_at is not None:
        raise PatientActionError("the patient opted out; record their consent first")
    message.attempts = 0
    message.error_code = None
    message.error_message = None
    message.send_at = now
    message.next_attempt_at = now
    message.expires_at = None  # a person chose to send it: it is useful by definition
    transition(
        session,
        message,
        MessageStatus.SCHEDULED,
        at=now,
        detail="resend by staff",
        actor=staff.email,
    )
    record_staff_audit(session, staff, "message.resend", ("message", message.id), now)


def record_consent(session: Session, patient: Patient, staff: StaffUser, now: datetime) -> None:
    """The patient agreed by phone to receive messages (again). Cancelled steps stay cancelled:
    staff resend or reschedule what is still useful."""
    patient.consent_at = now
    patient.consent_method = "phone"
    patient.consent_recorded_by = staff.email
    was_opted_out = patient.opted_out_at is not None
    patient.opted_out_at = None
    patient.opt_out_source = None
    record_staff_audit(
        session, staff, "patient.consent", ("patient", patient.id), now, was_opted_out=was_opted_out
    )


def record_opt_out(session: Session, patient: Patient, staff: StaffUser, now: datetime) -> int:
    """The patient asked by phone to stop: opted out and every waiting message cancelled."""
    if patient.opted_out_at is not None:
        raise PatientActionError("the patient has already opted out")
    patient.opted_out_at = now
    patient.opt_out_source = "phone"
    cancelled = cancel_pending_for_patient(
        session, patient.id, at=now, reason="opt-out by phone", actor=staff.email
    )
    record_staff_audit(
        session, staff, "patient.opt_out", ("patient", patient.id), now, cancelled=cancelled
    )
    return cancelled


def add_patient_note(
    session: Session, patient: Patient, staff: StaffUser, body: str, now: datetime
) -> StaffNote:
    """A note on the patient that isn't about one escalation (e.g. 'called, doing fine')."""
    text = body.strip()
    if not text:
        raise PatientActionError("the note is empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise PatientActionError(f"the note is longer than {MAX_NOTE_LENGTH} characters")
    note = StaffNote(patient_id=patient.id, author_id=staff.id, body=text, created_at=now)
    session.add(note)
    session.flush()
    record_staff_audit(
        session, staff, "patient.note", ("patient", patient.id), now, note_id=note.id
    )
    return note
