"""Texts staff type to a patient, from an escalation or from the patient page: one way for
both. The text is checked (not empty, not longer than an SMS can carry), refused once the
patient has opted out, and queued in the outbox like every other message, so it is
re-checked for consent right before sending and shows its delivery status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.delivery.outbox import queue_message
from followup.escalations.errors import PatientOptedOut, StaffActionError
from followup.models import Channel, MessageKind, Patient, ScheduledMessage, StaffUser

# Twilio refuses bodies over 1600 characters; longer staff replies belong in a phone call.
MAX_TEXT_LENGTH = 1600


def required_text(
    value: str, what: str, limit: int, error: type[StaffActionError] = StaffActionError
) -> str:
    """`value` trimmed, or `error` when it is empty or longer than `limit`."""
    text = value.replace("\x00", "").strip()
    if not text:
        raise error(f"the {what} is empty")
    if len(text) > limit:
        raise error(f"the {what} is longer than {limit} characters")
    return text


def queue_staff_text(
    session: Session,
    patient: Patient,
    author: StaffUser,
    body: str,
    now: datetime,
    *,
    escalation_id: int | None = None,
) -> ScheduledMessage:
    """Queue an SMS from `author` to `patient` (caller audits and commits)."""
    text = required_text(body, "reply", MAX_TEXT_LENGTH)
    if author.clinic_id != patient.clinic_id or not author.active:
        raise StaffActionError("this patient belongs to another clinic")
    if patient.opted_out_at is not None:
        # Texting after STOP breaks the TCPA and carrier rules; a phone call is still fine.
        raise PatientOptedOut("the patient opted out of texts: call them instead")
    return queue_message(
        session,
        clinic_id=patient.clinic_id,
        kind=MessageKind.STAFF_REPLY,
        channel=Channel.SMS,
        body=text,
        at=now,
        actor=author.email,
        patient_id=patient.id,
        escalation_id=escalation_id,
    )


def text_patient(
    session: Session, patient: Patient, author: StaffUser, body: str, now: datetime
) -> ScheduledMessage:
    """A text from the patient page (not about one escalation), audited as `patient.text`."""
    message = queue_staff_text(session, patient, author, body, now)
    record_audit(
        session,
        at=now,
        actor=author.email,
        action="patient.text",
        clinic_id=patient.clinic_id,
        staff_user_id=author.id,
        target_type="patient",
        target_id=patient.id,
        detail={"message_id": message.id},
    )
    return message
