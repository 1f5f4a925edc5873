"""One patient: details, consent and opt-out state, the conversation (and a text to the
patient), the timeline, and staff actions on the plan. Every view and every change is
audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from followup.admin.clinics import send_rules
from followup.core.audit import record_audit
from followup.enrollment import plan_actions
from followup.enrollment.plan_actions import PatientActionError
from followup.escalations.errors import StaffActionError
from followup.escalations.staff_texts import text_patient
from followup.models import Patient, ScheduledMessage, StaffUser, Treatment
from followup.reporting.conversation import conversation
from followup.reporting.timeline import build_timeline, staff_directory
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import (
    CurrentStaff,
    DbSession,
    NotFound,
    RuntimeDep,
    staff_clinic,
)
from followup.web.pages import flash, local_time, redirect, render
from followup.web.scoped import clinic_message, clinic_patient

router = staff_pages()
actions = staff_actions()


@router.get("/patients/{patient_id:int}")
def patient_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
) -> Response:
    clinic = staff_clinic(session, staff)
    patient = clinic_patient(session, staff, patient_id)
    treatments = session.scalars(
        select(Treatment).where(Treatment.patient_id == patient.id).order_by(Treatment.treated_at)
    ).all()
    record_audit(
        session,
        at=runtime.clock.now(),
        actor=staff.email,
        action="patient.view",
        clinic_id=clinic.id,
        staff_user_id=staff.id,
        target_type="patient",
        target_id=patient.id,
    )
    zone = ZoneInfo(clinic.timezone)
    staff_names = staff_directory(session, clinic.id)
    return render(
        request,
        "patient.html",
        {
            "clinic": clinic,
            "patient": patient,
            "treatments": treatments,
            "bubbles": conversation(session, patient, zone, runtime.templates_dir, staff_names),
            "timeline": build_timeline(session, clinic.id, patient.id, staff_names.by_id),
            "now": runtime.clock.now(),
        },
    )


def _act(
    request: Request, patient: Patient, action: Callable[[], object], done: str, focus: str
) -> Response:
    """Run one action and go back to the patient, focused on the control used (or the
    element holding it, if the action removed it): `focus` is an id on patient.html."""
    try:
        action()
    except PatientActionError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, done)
    return redirect(f"/patients/{patient.id}", focus=focus)


def _treatment(session: DbSession, patient: Patient, treatment_id: int) -> Treatment:
    treatment = session.get(Treatment, treatment_id)
    if treatment is None or treatment.patient_id != patient.id:
        raise NotFound
    return treatment


def _patient_message(
    session: DbSession, staff: StaffUser, patient: Patient, message_id: int
) -> ScheduledMessage:
    message = clinic_message(session, staff, message_id)
    if message.patient_id != patient.id:
        raise NotFound
    return message


@actions.post("/patients/{patient_id:int}/treatments/{treatment_id:int}/pause")
def pause(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    treatment_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    treatment = _treatment(session, patient, treatment_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.pause_plan(session, treatment, staff, now),
        "Plan paused.",
        f"plan-{treatment.id}",
    )


@actions.post("/patients/{patient_id:int}/treatments/{treatment_id:int}/resume")
def resume(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    treatment_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    treatment = _treatment(session, patient, treatment_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.resume_plan(session, treatment, staff, now),
        "Plan resumed.",
        f"plan-{treatment.id}",
    )


@actions.post("/patients/{patient_id:int}/messages/{message_id:int}/cancel")
def cancel(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    message_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    message = _patient_message(session, staff, patient, message_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.cancel_message(session, message, staff, now),
        "Message cancelled.",
        f"message-{message.id}",
    )


@actions.post("/patients/{patient_id:int}/messages/{message_id:int}/reschedule")
def reschedule(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    message_id: int,
    send_at: Annotated[str, Form()],
) -> Response:
    clinic = staff_clinic(session, staff)
    patient = clinic_patient(session, staff, patient_id)
    message = _patient_message(session, staff, patient, message_id)
    now = runtime.clock.now()
    try:
        when = parse_local(send_at, clinic.timezone)
    except ValueError:
        flash(request, "Give the new time as a date and time.", "error")
        return redirect(f"/patients/{patient.id}", focus=f"when-{message.id}")
    rules = send_rules(clinic)
    try:
        actual = plan_actions.reschedule_message(session, message, when, staff, now, rules)
    except PatientActionError as exc:
        flash(request, str(exc), "error")
    else:
        moved = "" if actual == when else " (moved out of quiet hours)"
        flash(request, f"Message rescheduled to {local_time(actual, clinic.timezone)}{moved}.")
    return redirect(f"/patients/{patient.id}", focus=f"message-{message.id}")


@actions.post("/patients/{patient_id:int}/messages/{message_id:int}/resend")
def resend(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    message_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    message = _patient_message(session, staff, patient, message_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.resend_message(session, message, patient, staff, now),
        "Message queued to send again.",
        f"message-{message.id}",
    )


@actions.post("/patients/{patient_id:int}/consent")
def consent(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.record_consent(session, patient, staff, now),
        "Consent recorded.",
        "record-consent",
    )


@actions.post("/patients/{patient_id:int}/opt-out")
def opt_out(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.record_opt_out(session, patient, staff, now),
        "Opt-out recorded; waiting messages cancelled.",
        "record-consent",
    )


@actions.post("/patients/{patient_id:int}/notes")
def note(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    body: Annotated[str, Form()],
) -> Response:
    patient = clinic_patient(session, staff, patient_id)
    now = runtime.clock.now()
    return _act(
        request,
        patient,
        lambda: plan_actions.add_patient_note(session, patient, staff, body, now),
        "Note added.",
        "patient-note",
    )


@actions.post("/patients/{patient_id:int}/text")
def text(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    patient_id: int,
    body: Annotated[str, Form()],
) -> Response:
    """A text from staff, through the outbox (staff_texts: refused after STOP, audited)."""
    patient = clinic_patient(session, staff, patient_id)
    try:
        text_patient(session, patient, staff, body, runtime.clock.now())
    except StaffActionError as exc:
        flash(request, f"Not sent: {exc}.", "error")
    else:
        flash(request, "Text queued: it goes out by SMS in a few seconds.")
    return redirect(f"/patients/{patient.id}#conversation")


def parse_local(value: str, tz: str) -> datetime:
    """A browser datetime-local value (clinic wall time) as an aware instant."""
    naive = datetime.fromisoformat(value.strip())
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(tz))
