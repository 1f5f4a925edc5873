"""Who sent an inbound SMS: the clinic that owns the number texted, and its patients there.

On the webhook's hot path (followup.inbound): one prebuilt query in the usual case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from followup.models import Clinic, Patient, Treatment

if TYPE_CHECKING:
    from followup.inbound import InboundSms


@dataclass(frozen=True)
class Sender:
    """Who texted: the clinic that owns the number, and its patients at the From number."""

    clinic: Clinic | None
    patients: list[Patient]
    treatment: Treatment | None  # the most recent treatment of patients[0]

    @property
    def patient(self) -> Patient | None:
        return self.patients[0] if self.patients else None


# Built once: composing the statement per request cost as much CPU as running it.
_SENDER_QUERY = (
    select(Patient, Treatment, Clinic)
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .outerjoin(Treatment, Treatment.patient_id == Patient.id)
    .where(
        Clinic.sender_number == bindparam("to_number"),
        Patient.phone == bindparam("from_number"),
    )
    .order_by(Treatment.treated_at.desc().nullslast(), Treatment.id.desc(), Patient.id.desc())
)


def find_sender(session: Session, sms: InboundSms) -> Sender:
    """The clinic that owns the number texted and its patients at the From number, most
    recently treated first (a family may share a phone; the latest treatment is the one a
    reply is most likely about). One query in the usual case."""
    rows = session.execute(
        _SENDER_QUERY, {"to_number": sms.to_number, "from_number": sms.from_number}
    ).all()
    if rows:
        patients = list(dict.fromkeys(patient for patient, _, _ in rows))
        return Sender(rows[0][2], patients, rows[0][1])
    clinic = find_clinic(session, sms)
    if clinic is None or clinic.sender_number == sms.to_number:
        return Sender(clinic, [], None)
    return _patients_of(session, clinic, sms.from_number)


def _patients_of(session: Session, clinic: Clinic, phone: str) -> Sender:
    rows = session.execute(
        select(Patient, Treatment)
        .outerjoin(Treatment, Treatment.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic.id, Patient.phone == phone)
        .order_by(Treatment.treated_at.desc().nullslast(), Treatment.id.desc(), Patient.id.desc())
    ).all()
    patients = list(dict.fromkeys(patient for patient, _ in rows))
    return Sender(clinic, patients, rows[0][1] if rows else None)


def find_clinic(session: Session, sms: InboundSms) -> Clinic | None:
    """The clinic that owns the number the patient texted (or its Messaging Service)."""
    clinic = session.scalar(select(Clinic).where(Clinic.sender_number == sms.to_number))
    if clinic is None and sms.messaging_service_sid:
        clinic = session.scalar(
            select(Clinic)
            .where(Clinic.messaging_service_sid == sms.messaging_service_sid)
            .order_by(Clinic.id)
            .limit(1)
        )
    return clinic
