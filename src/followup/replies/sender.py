"""Who sent an inbound SMS: the clinic that owns the number texted, and its patients there.

On the webhook's hot path (followup.replies.receive): one prepared query in the usual case,
selecting only the columns a reply needs into small frozen records. Loading the three ORM
entities instead (41 columns, identity map, instance state) cost more CPU than all the
rest of handling a check-in answer; the rare actions that change a patient (STOP, START)
load the ORM objects they need by primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from followup.core.prepared import Prepared
from followup.models import Clinic, Patient, Treatment
from followup.replies.sms import InboundSms


@dataclass(frozen=True, slots=True)
class ClinicFacts:
    """What answering a reply and alerting staff need to know about the clinic."""

    id: int
    name: str
    contact_phone: str
    contact_email: str | None
    urgent_sla_minutes: int
    normal_sla_minutes: int
    sender_number: str | None
    # When staff read messages: the acknowledgement of a reply says so.
    office_days: int
    office_opens_at: time
    office_closes_at: time

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicFacts:
        return cls(*(getattr(clinic, column.key) for column in _CLINIC_COLUMNS))


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What a reply needs to know about a patient at the number that texted."""

    id: int
    clinic_id: int
    language: str
    opted_out_at: datetime | None

    @classmethod
    def of(cls, patient: Patient) -> PatientFacts:
        return cls(patient.id, patient.clinic_id, patient.language, patient.opted_out_at)


@dataclass(frozen=True)
class Sender:
    """Who texted: the clinic that owns the number, and its patients at the From number."""

    clinic: ClinicFacts | None
    patients: list[PatientFacts]
    treatment_id: int | None  # the most recent treatment of patients[0]

    @property
    def patient(self) -> PatientFacts | None:
        return self.patients[0] if self.patients else None


_CLINIC_COLUMNS = (
    Clinic.id,
    Clinic.name,
    Clinic.contact_phone,
    Clinic.contact_email,
    Clinic.urgent_sla_minutes,
    Clinic.normal_sla_minutes,
    Clinic.sender_number,
    Clinic.office_days,
    Clinic.office_opens_at,
    Clinic.office_closes_at,
)
_PATIENT_COLUMNS = (Patient.id, Patient.clinic_id, Patient.language, Patient.opted_out_at)
_NCLINIC, _NPATIENT = len(_CLINIC_COLUMNS), len(_PATIENT_COLUMNS)
# Most recently treated first: a family may share a phone, and the latest treatment is the
# one a reply is most likely about.
_LATEST_FIRST = (Treatment.treated_at.desc().nullslast(), Treatment.id.desc(), Patient.id.desc())


def _patients_query(*columns: Any) -> Select[Any]:
    query: Select[Any] = (
        select(*columns, *_PATIENT_COLUMNS, Treatment.id)
        .select_from(Patient)
        .outerjoin(Treatment, Treatment.patient_id == Patient.id)
        .order_by(*_LATEST_FIRST)
    )
    return query


# Built once: composing a statement per request cost as much CPU as running it.
_SENDER_QUERY = Prepared(
    _patients_query(*_CLINIC_COLUMNS)
    .join(Clinic, Clinic.id == Patient.clinic_id)
    .where(Clinic.sender_number == bindparam("to_number"))
    .where(Patient.phone == bindparam("from_number"))
)
_PATIENTS_OF_CLINIC = Prepared(
    _patients_query().where(
        Patient.clinic_id == bindparam("clinic_id"), Patient.phone == bindparam("phone")
    )
)
_CLINIC_BY_NUMBER = Prepared(
    select(*_CLINIC_COLUMNS).where(Clinic.sender_number == bindparam("number"))
)
_CLINIC_BY_SERVICE = Prepared(
    select(*_CLINIC_COLUMNS)
    .where(Clinic.messaging_service_sid == bindparam("service_sid"))
    .order_by(Clinic.id)
    .limit(1)
)


def find_sender(conn: Connection, sms: InboundSms) -> Sender:
    """The clinic that owns the number texted and its patients at the From number, most
    recently treated first. One query in the usual case."""
    rows = _SENDER_QUERY.rows(conn, {"to_number": sms.to_number, "from_number": sms.from_number})
    if rows:
        return _sender(ClinicFacts(*rows[0][:_NCLINIC]), [row[_NCLINIC:] for row in rows])
    clinic = find_clinic(conn, sms)
    if clinic is None or clinic.sender_number == sms.to_number:
        return Sender(clinic, [], None)
    # Texted through the clinic's Messaging Service from another number of its pool.
    rows = _PATIENTS_OF_CLINIC.rows(conn, {"clinic_id": clinic.id, "phone": sms.from_number})
    return _sender(clinic, rows)


def _sender(clinic: ClinicFacts, rows: Sequence[Sequence[Any]]) -> Sender:
    """Rows of (patient columns..., treatment id), most recent treatment first."""
    patients = dict.fromkeys(PatientFacts(*row[:_NPATIENT]) for row in rows)
    return Sender(clinic, list(patients), rows[0][_NPATIENT] if rows else None)


def find_clinic(conn: Connection, sms: InboundSms) -> ClinicFacts | None:
    """The clinic that owns the number the patient texted (or its Messaging Service)."""
    row = _CLINIC_BY_NUMBER.first(conn, {"number": sms.to_number})
    if row is None and sms.messaging_service_sid:
        row = _CLINIC_BY_SERVICE.first(conn, {"service_sid": sms.messaging_service_sid})
    return ClinicFacts(*row) if row is not None else None
