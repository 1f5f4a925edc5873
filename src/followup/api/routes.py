"""The /api/v1 endpoints. Every query is scoped to the calling token's clinic: another
clinic's patient answers 404, exactly like one that doesn't exist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from followup.api.auth import Caller, CallerDep, RuntimeDep, SessionDep
from followup.api.idempotency import remember, request_fingerprint, stored_response
from followup.api.problems import ApiProblem, FieldProblem, Problem
from followup.api.schemas import (
    EnrollmentIn,
    EnrollmentOut,
    EscalationOut,
    MessageOut,
    OptOutOut,
    PatientOut,
    WarningOut,
)
from followup.core.audit import record_audit
from followup.delivery.outbox import cancel_pending_for_patient
from followup.enrollment.enroll import DuplicateEnrollment, InvalidEnrollment, enroll
from followup.models import Escalation, EscalationStatus, Patient, ScheduledMessage

MAX_ID = 2**31 - 1  # the id columns are 32-bit on PostgreSQL
PatientId = Annotated[int, Path(ge=1, le=MAX_ID, description="The patient's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID); a retry with the same key and body "
        "returns the first answer instead of enrolling again.",
    ),
]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


COMMON: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing, unknown or revoked token."),
    422: _problem("The request is not valid; `errors` names every field refused."),
    429: _problem("Rate limit for this token exceeded; see Retry-After."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No such patient in this clinic.")}

router = APIRouter(responses=COMMON)


def _patient(session: SessionDep, caller: Caller, patient_id: int) -> Patient:
    patient = session.scalar(
        select(Patient)
        .where(Patient.id == patient_id, Patient.clinic_id == caller.clinic.id)
        .options(selectinload(Patient.treatments))
    )
    if patient is None:
        raise ApiProblem(404, "not-found", "Not found", f"no patient {patient_id}", field="id")
    return patient


def _audit(session: SessionDep, caller: Caller, runtime: RuntimeDep, action: str, pid: int) -> None:
    record_audit(
        session,
        at=runtime.clock.now(),
        actor=caller.actor,
        action=action,
        clinic_id=caller.clinic.id,
        target_type="patient",
        target_id=pid,
    )


@router.post(
    "/enrollments",
    status_code=201,
    response_model=EnrollmentOut,
    responses={
        409: _problem("Already enrolled for this treatment on that day."),
    },
)
def create_enrollment(
    payload: EnrollmentIn,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Enroll a patient: the same checks and duplicate rule as the dashboard form. Someone
    with the same name enrolled for this treatment that day under another number is not
    refused: the answer carries a `possible-duplicate` warning."""
    fingerprint = request_fingerprint("POST", "/enrollments", payload.model_dump(mode="json"))
    if idempotency_key is not None:
        replay = stored_response(session, caller.clinic.id, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    body = _enroll(session, caller, runtime, payload)
    if idempotency_key is not None:
        remember(session, caller.clinic.id, idempotency_key, fingerprint, 201, body)
    try:
        session.commit()
    except IntegrityError:
        # Two requests raced; the other committed first. With a key, answer as it did.
        session.rollback()
        replay = None
        if idempotency_key is not None:
            replay = stored_response(session, caller.clinic.id, idempotency_key, fingerprint)
        if replay is None:
            raise ApiProblem(
                409,
                "concurrent-enrollment",
                "Enrolled by a concurrent request",
                "the same enrollment was being made at the same moment; send an "
                "Idempotency-Key to retry safely",
            ) from None
        return replay
    location = f"/api/v1/patients/{body['patient_id']}"
    return JSONResponse(body, status_code=201, headers={"Location": location})


def _enroll(
    session: SessionDep, caller: Caller, runtime: RuntimeDep, payload: EnrollmentIn
) -> dict[str, Any]:
    try:
        result = enroll(
            session,
            caller.clinic,
            payload.as_input(),
            templates_dir=runtime.templates_dir,
            now=runtime.clock.now(),
            actor=caller.actor,
        )
    except DuplicateEnrollment as exc:
        raise ApiProblem(
            409,
            "duplicate-enrollment",
            "Already enrolled",
            f"{exc}; send an Idempotency-Key to retry safely",
            field=f"body.{exc.field}",
            existing_treatment_id=exc.treatment_id,
        ) from None
    except InvalidEnrollment as exc:
        raise ApiProblem(
            422,
            "invalid-enrollment",
            "Enrollment refused",
            str(exc),
            field=f"body.{exc.field}",
            errors=[FieldProblem(field=f"body.{e.field}", message=e.message) for e in exc.errors],
        ) from None
    out = EnrollmentOut(
        patient_id=result.patient.id,
        treatment_id=result.treatment.id,
        treatment=result.treatment.kind,
        treated_at=result.treatment.treated_at,
        messages=[MessageOut.model_validate(m) for m in result.messages],
        warnings=[
            WarningOut(
                type="possible-duplicate",
                detail=warning.message(),
                existing_treatment_id=warning.treatment_id,
                existing_patient_id=warning.patient_id,
            )
            for warning in result.warnings
        ],
    )
    return out.model_dump(mode="json")


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=NOT_FOUND)
def get_patient(
    patient_id: PatientId, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> PatientOut:
    """A patient with their treatments."""
    patient = _patient(session, caller, patient_id)
    _audit(session, caller, runtime, "patient.view", patient.id)
    return PatientOut.model_validate(patient)


@router.get("/patients/{patient_id}/messages", response_model=list[MessageOut], responses=NOT_FOUND)
def get_patient_messages(
    patient_id: PatientId, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> list[MessageOut]:
    """Every message to this patient, planned or sent, oldest first (no bodies)."""
    patient = _patient(session, caller, patient_id)
    _audit(session, caller, runtime, "patient.messages", patient.id)
    messages = session.scalars(
        select(ScheduledMessage)
        .where(ScheduledMessage.patient_id == patient.id)
        .order_by(ScheduledMessage.send_at, ScheduledMessage.id)
    )
    return [MessageOut.model_validate(m) for m in messages]


@router.post("/patients/{patient_id}/opt-out", response_model=OptOutOut, responses=NOT_FOUND)
def opt_out(
    patient_id: PatientId, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> OptOutOut:
    """Stop all messages to this patient (e.g. they withdrew at the front desk). Repeating it
    is harmless: the first opt-out time is kept."""
    patient = _patient(session, caller, patient_id)
    now = runtime.clock.now()
    if patient.opted_out_at is None:
        patient.opted_out_at = now
        patient.opt_out_source = "api"
    cancelled = cancel_pending_for_patient(
        session, patient.id, at=now, reason="opted out via API", actor=caller.actor
    )
    _audit(session, caller, runtime, "patient.opt_out", patient.id)
    return OptOutOut(
        patient_id=patient.id, opted_out_at=patient.opted_out_at, cancelled_messages=cancelled
    )


@router.get("/escalations", response_model=list[EscalationOut])
def list_escalations(
    session: SessionDep,
    caller: CallerDep,
    status: EscalationStatus = Query(EscalationStatus.OPEN),
    limit: int = Query(100, ge=1, le=500),
) -> list[EscalationOut]:
    """Escalations in one status, most urgent and oldest first."""
    rows = session.scalars(
        select(Escalation)
        .where(Escalation.clinic_id == caller.clinic.id, Escalation.status == status)
        .order_by(Escalation.priority, Escalation.opened_at, Escalation.id)
        .limit(limit)
    )
    return [EscalationOut.model_validate(e) for e in rows]
