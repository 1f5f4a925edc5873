"""Rows looked up by id within the signed-in staff member's clinic. Another clinic's id
raises NotFound, exactly like an id that doesn't exist, so ids reveal nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.models import Escalation, Patient, ScheduledMessage, StaffUser, Treatment
from followup.web.deps import NotFound


def clinic_patient(session: Session, staff: StaffUser, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != staff.clinic_id:
        raise NotFound
    return patient


def clinic_escalation(session: Session, staff: StaffUser, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.clinic_id != staff.clinic_id:
        raise NotFound
    return escalation


def clinic_message(session: Session, staff: StaffUser, message_id: int) -> ScheduledMessage:
    message = session.get(ScheduledMessage, message_id)
    if message is None or message.clinic_id != staff.clinic_id:
        raise NotFound
    return message


def clinic_treatment(session: Session, staff: StaffUser, treatment_id: int) -> Treatment:
    row = session.execute(
        select(Treatment, Patient.clinic_id)
        .join(Patient, Patient.id == Treatment.patient_id)
        .where(Treatment.id == treatment_id)
    ).first()
    if row is None or row[1] != staff.clinic_id:
        raise NotFound
    treatment: Treatment = row[0]
    return treatment


def clinic_staff_member(session: Session, staff: StaffUser, staff_id: int) -> StaffUser:
    member = session.get(StaffUser, staff_id)
    if member is None or member.clinic_id != staff.clinic_id:
        raise NotFound
    return member
