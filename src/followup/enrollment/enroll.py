"""Enroll a patient: write the patient, the treatment and its scheduled messages together.

Validation happens before anything is written, so bad input loses nothing and leaves
nothing half-made. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from followup.admin.clinics import send_rules
from followup.core.audit import record_audit
from followup.core.phones import InvalidPhone, normalize_phone
from followup.delivery.outbox import cancel_pending_for_patient, record_created
from followup.messages.plans import Plan, PlanError, PlannedSend, load_plan, plan_sends, to_local
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

# Clocks on a tablet and a server disagree a little; a treatment "in the future" by less
# than this is taken as now.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Patient.opt_out_source of a patient whose number texted STOP before it was enrolled.
OPT_OUT_BEFORE_ENROLLMENT = "sms_before_enrollment"
OPT_OUT_BEFORE_ENROLLMENT_REASON = f"opt-out ({OPT_OUT_BEFORE_ENROLLMENT})"
KEYWORD_INTENTS = (Intent.OPT_OUT.value, Intent.OPT_IN.value)
_IN_LIST_CHUNK = 500  # bound IN lists: SQLite allows 32,766 parameters, PostgreSQL 65,535


class EnrollmentError(ValueError):
    """Enrollment input that can't be accepted. `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DuplicateEnrollment(EnrollmentError):
    """The same patient is already enrolled for this treatment on that day."""

    def __init__(self, treatment_id: int, message: str) -> None:
        super().__init__("treated_at", message)
        self.treatment_id = treatment_id


@dataclass(frozen=True)
class EnrollmentRequest:
    first_name: str
    phone: str
    treatment: str
    treated_at: datetime
    last_name: str = ""
    email: str | None = None
    channel: ChannelPreference = ChannelPreference.SMS
    language: Language = Language.EN
    practitioner: str | None = None
    consent_method: str = "in_clinic"


@dataclass(frozen=True)
class ValidEnrollment:
    request: EnrollmentRequest
    phone: str
    email: str | None
    plan: Plan
    sends: list[PlannedSend]


@dataclass(frozen=True)
class EnrollmentResult:
    patient: Patient
    treatment: Treatment
    messages: list[ScheduledMessage]
    # When the number texted the STOP that made this new patient start opted out.
    stop_received_at: datetime | None = None


def parse_language(raw: str) -> Language:
    """A patient's language as typed in a form, a CSV cell or an option ("ES" is es)."""
    try:
        return Language(raw.strip().lower())
    except ValueError:
        choices = ", ".join(language.value for language in Language)
        raise EnrollmentError(
            "language", f"{raw!r} is not a language we write messages in (use one of: {choices})"
        ) from None


def validate_enrollment(
    clinic: Clinic, request: EnrollmentRequest, *, templates_dir: Path, now: datetime
) -> ValidEnrollment:
    """Check every field and compute the schedule, touching no database."""
    return validate_with_plans(
        clinic, request, lambda name: load_plan(templates_dir, name), now=now
    )


def validate_with_plans(
    clinic: Clinic, request: EnrollmentRequest, plans: Callable[[str], Plan], *, now: datetime
) -> ValidEnrollment:
    """`validate_enrollment` with the plan lookup passed in, so a batch (CSV import) reads
    each plan.toml once instead of once per row. `plans` raises PlanError for unknown names."""
    if not request.first_name.strip():
        raise EnrollmentError("first_name", "first name is empty")
    try:
        phone = normalize_phone(request.phone, clinic.country)
    except InvalidPhone as exc:
        raise EnrollmentError("phone", str(exc)) from None
    email = _valid_email(request.email)
    if ChannelPreference(request.channel) is not ChannelPreference.SMS and email is None:
        raise EnrollmentError("email", f"channel {request.channel} needs an email address")
    if request.treated_at.tzinfo is None:
        raise EnrollmentError("treated_at", "treatment time needs a time zone")
    if request.treated_at > now + FUTURE_TOLERANCE:
        raise EnrollmentError("treated_at", "treatment time is in the future")
    try:
        plan = plans(request.treatment)
    except PlanError as exc:
        raise EnrollmentError("treatment", str(exc)) from None
    sends = plan_sends(plan, request.treated_at, send_rules(clinic), now)
    return ValidEnrollment(request=request, phone=phone, email=email, plan=plan, sends=sends)


def _valid_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return str(validate_email(raw.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise EnrollmentError("email", f"{raw!r} is not a valid email address: {exc}") from None


def find_duplicate(
    session: Session, clinic: Clinic, valid: ValidEnrollment
) -> tuple[Patient | None, Treatment | None]:
    """The patient this request names, and an existing enrollment for the same treatment day."""
    patient = session.scalar(
        select(Patient)
        .where(
            Patient.clinic_id == clinic.id,
            Patient.phone == valid.phone,
            func.lower(Patient.first_name) == valid.request.first_name.strip().lower(),
        )
        .order_by(Patient.id)
        .limit(1)
    )
    if patient is None:
        return None, None
    tz = send_rules(clinic).tz
    treated_on = to_local(valid.request.treated_at, tz).date()
    for treatment in session.scalars(
        select(Treatment).where(
            Treatment.patient_id == patient.id, Treatment.kind == valid.plan.name
        )
    ):
        if to_local(treatment.treated_at, tz).date() == treated_on:
            return patient, treatment
    return patient, None


def enroll(
    session: Session,
    clinic: Clinic,
    request: EnrollmentRequest,
    *,
    templates_dir: Path,
    now: datetime,
    actor: str,
) -> EnrollmentResult:
    """Validate, refuse duplicates, then write patient, treatment and messages."""
    valid = validate_enrollment(clinic, request, templates_dir=templates_dir, now=now)
    _serialize_per_phone(session, clinic, valid.phone)
    patient, stop_received_at = _patient_to_enroll(session, clinic, valid, now=now, actor=actor)
    treatment = Treatment(
        patient_id=patient.id,
        kind=valid.plan.name,
        treated_at=request.treated_at,
        practitioner=request.practitioner,
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
    return EnrollmentResult(patient, treatment, messages, stop_received_at)


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
        first_name=request.first_name.strip(),
        last_name=request.last_name.strip(),
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
