"""Enroll a patient: write the patient, the treatment and its scheduled messages together.

Every field is checked first (`validation.check_enrollment`, the rules shared by the form,
the CSV import, the API and the CLI), so bad input leaves nothing half-made. The caller
owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.delivery.outbox import cancel_pending_for_patient, record_created
from followup.enrollment.duplicates import (
    PossibleDuplicate,
    find_duplicate,
    same_name_enrollments,
)
from followup.enrollment.validation import (
    EnrollmentError,
    EnrollmentInput,
    EnrollmentRequest,
    InvalidEnrollment,
    Plans,
    ValidEnrollment,
    check_enrollment,
)
from followup.models import (
    Channel,
    ChannelPreference,
    Clinic,
    InboundMessage,
    Language,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from followup.replies import Intent

# The checks' types are re-exported: callers enroll with `enroll.EnrollmentRequest` etc.
__all__ = [
    "OPT_OUT_BEFORE_ENROLLMENT",
    "OPT_OUT_BEFORE_ENROLLMENT_REASON",
    "DuplicateEnrollment",
    "EnrollmentError",
    "EnrollmentInput",
    "EnrollmentRequest",
    "EnrollmentResult",
    "InvalidEnrollment",
    "ValidEnrollment",
    "enroll",
    "enroll_checked",
    "find_duplicate",
    "standing_opt_out",
    "standing_opt_outs",
    "validate_enrollment",
]

# Patient.opt_out_source of a patient whose number texted STOP before it was enrolled.
OPT_OUT_BEFORE_ENROLLMENT = "sms_before_enrollment"
OPT_OUT_BEFORE_ENROLLMENT_REASON = f"opt-out ({OPT_OUT_BEFORE_ENROLLMENT})"
KEYWORD_INTENTS = (Intent.OPT_OUT.value, Intent.OPT_IN.value)
_IN_LIST_CHUNK = 500  # bound IN lists: SQLite allows 32,766 parameters, PostgreSQL 65,535


class DuplicateEnrollment(EnrollmentError):
    """The same patient is already enrolled for this treatment on that day."""

    def __init__(self, treatment_id: int, message: str) -> None:
        super().__init__("treated_at", message)
        self.treatment_id = treatment_id


@dataclass(frozen=True)
class EnrollmentResult:
    patient: Patient
    treatment: Treatment
    messages: list[ScheduledMessage]
    # When the number texted the STOP that made this new patient start opted out.
    stop_received_at: datetime | None = None
    # Someone with the same name enrolled for this treatment that day, on another number.
    warnings: list[PossibleDuplicate] = field(default_factory=list)


def validate_enrollment(
    clinic: Clinic,
    request: EnrollmentInput | EnrollmentRequest,
    *,
    templates_dir: Path,
    now: datetime,
) -> ValidEnrollment:
    """Check every field and compute the schedule, touching no database."""
    return check_enrollment(request, clinic, Plans(templates_dir), now=now)


def enroll(
    session: Session,
    clinic: Clinic,
    request: EnrollmentInput | EnrollmentRequest,
    *,
    templates_dir: Path,
    now: datetime,
    actor: str,
) -> EnrollmentResult:
    """Validate, refuse duplicates, then write patient, treatment and messages.
    InvalidEnrollment names every bad field; DuplicateEnrollment the enrollment there."""
    valid = validate_enrollment(clinic, request, templates_dir=templates_dir, now=now)
    return enroll_checked(session, clinic, valid, now=now, actor=actor)


def enroll_checked(
    session: Session, clinic: Clinic, valid: ValidEnrollment, *, now: datetime, actor: str
) -> EnrollmentResult:
    """`enroll` for a request already checked at `now` (the form's confirmed preview)."""
    _serialize_per_phone(session, clinic, valid.phone)
    patient, stop_received_at = _patient_to_enroll(session, clinic, valid, now=now, actor=actor)
    warnings = same_name_enrollments(session, clinic, valid)
    treatment = Treatment(
        patient_id=patient.id,
        kind=valid.plan.name,
        treated_at=valid.request.treated_at,
        practitioner=valid.request.practitioner,
        enrolled_by=actor,
    )
    session.add(treatment)
    session.flush()
    messages = _scheduled_messages(clinic, patient, treatment, valid)
    session.add_all(messages)
    record_created(session, messages, at=now, actor=actor)
    detail: dict[str, object] = {
        "patient_id": patient.id,
        "plan": valid.plan.name,
        "messages": len(messages),
    }
    if stop_received_at is not None:
        # The same as any opt-out: nothing pending goes out until the number texts START.
        cancel_pending_for_patient(
            session, patient.id, at=now, reason=OPT_OUT_BEFORE_ENROLLMENT_REASON, actor=actor
        )
        detail["opted_out"] = OPT_OUT_BEFORE_ENROLLMENT
    if warnings:
        detail["same_name_as"] = [warning.treatment_id for warning in warnings]
    record_audit(
        session,
        at=now,
        actor=actor,
        action="enroll",
        clinic_id=clinic.id,
        target_type="treatment",
        target_id=treatment.id,
        detail=detail,
    )
    return EnrollmentResult(patient, treatment, messages, stop_received_at, warnings)


def _patient_to_enroll(
    session: Session, clinic: Clinic, valid: ValidEnrollment, *, now: datetime, actor: str
) -> tuple[Patient, datetime | None]:
    """The existing patient, or a new one (opted out if the number's last keyword was STOP,
    with that STOP's time); refuses a duplicate enrollment."""
    patient, existing = find_duplicate(session, clinic, valid)
    if existing is not None:
        raise DuplicateEnrollment(
            existing.id,
            f"already enrolled: treatment #{existing.id} ({existing.kind}) for this patient "
            "on that day",
        )
    if patient is not None:
        return patient, None
    patient = _new_patient(clinic, valid, now=now, actor=actor)
    stop_received_at = standing_opt_out(session, clinic.id, valid.phone)
    if stop_received_at is not None:
        patient.opted_out_at = stop_received_at
        patient.opt_out_source = OPT_OUT_BEFORE_ENROLLMENT
    session.add(patient)
    session.flush()
    return patient, stop_received_at


def standing_opt_out(session: Session, clinic_id: int, phone: str) -> datetime | None:
    """When `phone` texted the clinic a STOP that no later START undid, or None.

    Carriers honour the number's last keyword whoever it belongs to, so a STOP from a
    number that matched no patient (or another patient on it) still holds."""
    return standing_opt_outs(session, clinic_id, [phone]).get(phone)


def standing_opt_outs(
    session: Session, clinic_id: int, phones: Sequence[str]
) -> dict[str, datetime]:
    """`standing_opt_out` for many numbers at once: those whose last keyword was STOP."""
    last: dict[str, tuple[str, datetime]] = {}
    for start in range(0, len(phones), _IN_LIST_CHUNK):
        rows = session.execute(
            select(InboundMessage.from_address, InboundMessage.intent, InboundMessage.received_at)
            .where(
                InboundMessage.clinic_id == clinic_id,
                InboundMessage.from_address.in_(phones[start : start + _IN_LIST_CHUNK]),
                InboundMessage.intent.in_(KEYWORD_INTENTS),
            )
            .order_by(InboundMessage.received_at, InboundMessage.id)
        )
        for phone, intent, received_at in rows:
            last[phone] = (intent, received_at)
    return {phone: at for phone, (intent, at) in last.items() if intent == Intent.OPT_OUT.value}


def _serialize_per_phone(session: Session, clinic: Clinic, phone: str) -> None:
    """Two enrollments of one number at once (a double-clicked form, a retried API call)
    must not both pass the duplicate check. SQLite's BEGIN IMMEDIATE already serializes
    writers; PostgreSQL takes a lock for this clinic and number until commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"enroll:{clinic.id}:{phone}"},
        )


def _new_patient(clinic: Clinic, valid: ValidEnrollment, *, now: datetime, actor: str) -> Patient:
    request = valid.request
    return Patient(
        clinic_id=clinic.id,
        first_name=request.first_name,
        last_name=request.last_name,
        phone=valid.phone,
        email=valid.email,
        channel=ChannelPreference(request.channel),
        language=Language(request.language),
        consent_at=now,
        consent_method=request.consent_method,
        consent_recorded_by=actor,
    )


def _scheduled_messages(
    clinic: Clinic, patient: Patient, treatment: Treatment, valid: ValidEnrollment
) -> list[ScheduledMessage]:
    channels = ChannelPreference(valid.request.channel).channels()
    return [
        ScheduledMessage(
            clinic_id=clinic.id,
            patient_id=patient.id,
            treatment_id=treatment.id,
            kind=MessageKind.PLAN,
            step=send.step,
            channel=Channel(channel),
            send_at=send.send_at,
            next_attempt_at=send.send_at,
            expires_at=send.expires_at,
            status=MessageStatus.EXPIRED if send.expired else MessageStatus.SCHEDULED,
        )
        for send in valid.sends
        for channel in channels
    ]
