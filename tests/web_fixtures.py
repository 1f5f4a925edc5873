"""Rows for the dashboard tests: two clinics, their staff, patients, replies, escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from followup.delivery.outbox import transition
from followup.escalations.lifecycle import open_escalation
from followup.models import (
    Channel,
    Clinic,
    Escalation,
    EscalationPriority,
    InboundMessage,
    MessageStatus,
    Patient,
    Role,
    ScheduledMessage,
    StaffUser,
)
from tests.factories import make_clinic, make_enrollment, make_staff


@dataclass
class ClinicRows:
    clinic: Clinic
    staff: StaffUser
    patient: Patient
    escalation: Escalation
    message: ScheduledMessage


_sid = iter(range(1, 10**9))


def make_reply(
    session: Session,
    patient: Patient,
    body: str,
    now: datetime,
    *,
    intent: str = "worse",
    urgent: bool = False,
) -> InboundMessage:
    return _inbound(
        session, patient.clinic_id, patient.id, patient.phone, "+14035550199", body, now,
        intent=intent, urgent=urgent,
    )  # fmt: skip


def make_unknown_text(
    session: Session,
    clinic: Clinic,
    phone: str,
    body: str,
    now: datetime,
    *,
    intent: str = "other",
    urgent: bool = False,
) -> InboundMessage:
    """A text to the clinic's number from a number that matches none of its patients."""
    to = clinic.sender_number or "+14035550199"
    return _inbound(session, clinic.id, None, phone, to, body, now, intent=intent, urgent=urgent)


def _inbound(
    session: Session,
    clinic_id: int,
    patient_id: int | None,
    sender: str,
    to: str,
    body: str,
    now: datetime,
    *,
    intent: str,
    urgent: bool,
) -> InboundMessage:
    text = InboundMessage(
        provider_sid=f"SM{next(_sid):032d}",
        clinic_id=clinic_id,
        patient_id=patient_id,
        channel=Channel.SMS,
        from_address=sender,
        to_address=to,
        body=body,
        media=[],
        intent=intent,
        urgent=urgent,
        matched=[],
        received_at=now,
    )
    session.add(text)
    session.flush()
    return text


def make_escalation(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    now: datetime,
    priority: EscalationPriority = EscalationPriority.URGENT,
    body: str = "worse, fever",
) -> Escalation:
    reply = make_reply(session, patient, body, now, urgent=priority is EscalationPriority.URGENT)
    return open_escalation(
        session,
        clinic=clinic,
        patient=patient,
        treatment=None,
        inbound=reply,
        priority=priority,
        reason=f"reply: {body}",
        now=now,
    )


def make_clinic_rows(
    session: Session,
    now: datetime,
    *,
    name: str,
    sender: str,
    email: str,
    phone: str,
    first_name: str,
) -> ClinicRows:
    clinic = make_clinic(session, name=name, sender_number=sender)
    staff = make_staff(session, clinic, email=email, role=Role.ADMIN)
    enrollment = make_enrollment(session, clinic, now=now, first_name=first_name, phone=phone)
    message = enrollment.messages[0]
    transition(session, message, MessageStatus.FAILED, at=now, detail="test")
    escalation = make_escalation(session, clinic, enrollment.patient, now)
    return ClinicRows(clinic, staff, enrollment.patient, escalation, message)


def make_two_clinics(session: Session, now: datetime) -> tuple[ClinicRows, ClinicRows]:
    a = make_clinic_rows(
        session,
        now,
        name="Bow River Skin Clinic",
        sender="+14035550199",
        email="nurse@a.example",
        phone="+14035550101",
        first_name="Maya",
    )
    b = make_clinic_rows(
        session,
        now - timedelta(minutes=5),
        name="Other Clinic",
        sender="+14035550177",
        email="nurse@b.example",
        phone="+17805550111",
        first_name="Zed",
    )
    return a, b
