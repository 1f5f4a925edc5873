"""Enroll a patient from the dashboard: fill the form, see the schedule, confirm.

The first POST only validates and previews (nothing is written) and warns about a likely
duplicate; the second POST (step=confirm) enrolls through the same use case as the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from followup.enrollment.enroll import (
    DuplicateEnrollment,
    EnrollmentError,
    EnrollmentRequest,
    enroll,
    find_duplicate,
    parse_language,
    standing_opt_out,
    validate_enrollment,
)
from followup.messages.plans import available_plans
from followup.models import ChannelPreference, Clinic, Language
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import flash, redirect, render

router = staff_pages()
actions = staff_actions()


class EnrollForm(BaseModel):
    """The form's values as typed, so a page with an error keeps them."""

    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    channel: str = Field("sms", max_length=10)
    language: str = Field("en", max_length=10)
    treatment: str = Field("microneedling", max_length=64)
    treated_at: str = Field("", max_length=40)  # datetime-local, clinic wall time
    practitioner: str = Field("", max_length=200)
    consent: str = Field("", max_length=10)  # "yes" when ticked
    step: str = Field("preview", max_length=10)  # "preview" or "confirm"


def _page(
    request: Request,
    clinic: Clinic,
    plans: list[str],
    form: EnrollForm,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    **extra: object,
) -> Response:
    context = {
        "clinic": clinic,
        "form": form,
        "errors": errors or {},
        "plans": plans,
        "channels": list(ChannelPreference),
        "languages": list(Language),
        **extra,
    }
    return render(request, "enroll.html", context, status_code=status_code)


@router.get("/enroll")
def enroll_form(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    phone: str = Query("", max_length=40),
) -> Response:
    """`phone` prefills the number (the unknown-numbers page links here with it)."""
    clinic = staff_clinic(session, staff)
    now_local = runtime.clock.now().astimezone(ZoneInfo(clinic.timezone))
    form = EnrollForm(treated_at=now_local.strftime("%Y-%m-%dT%H:%M"), phone=phone)
    return _page(request, clinic, available_plans(runtime.templates_dir), form)


def _request_from(form: EnrollForm, tz: str) -> EnrollmentRequest:
    try:
        treated_at = datetime.fromisoformat(form.treated_at).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise EnrollmentError("treated_at", "give the treatment date and time") from None
    if form.channel not in {c.value for c in ChannelPreference}:
        raise EnrollmentError("channel", "choose SMS, email or both")
    if form.consent != "yes":
        raise EnrollmentError("consent", "the patient must agree to receive messages")
    return EnrollmentRequest(
        first_name=form.first_name,
        last_name=form.last_name,
        phone=form.phone,
        email=form.email or None,
        channel=ChannelPreference(form.channel),
        language=parse_language(form.language),
        treatment=form.treatment,
        treated_at=treated_at,
        practitioner=form.practitioner.strip() or None,
    )


def _preview(
    request: Request,
    session: DbSession,
    clinic: Clinic,
    runtime: RuntimeDep,
    form: EnrollForm,
    enrollment: EnrollmentRequest,
) -> Response:
    """The schedule, and what enrolling would run into: a likely duplicate, or a number
    whose STOP would make the new patient start opted out."""
    valid = validate_enrollment(
        clinic, enrollment, templates_dir=runtime.templates_dir, now=runtime.clock.now()
    )
    patient, existing = find_duplicate(session, clinic, valid)
    stop_received_at = None if patient else standing_opt_out(session, clinic.id, valid.phone)
    return _page(
        request,
        clinic,
        available_plans(runtime.templates_dir),
        form,
        preview=valid.sends,
        existing_patient=patient,
        duplicate=existing,
        stop_received_at=stop_received_at,
    )


@actions.post("/enroll")
def enroll_submit(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    form: Annotated[EnrollForm, Form()],
) -> Response:
    clinic = staff_clinic(session, staff)
    plans = available_plans(runtime.templates_dir)
    now = runtime.clock.now()
    try:
        enrollment = _request_from(form, clinic.timezone)
        if form.step != "confirm":
            return _preview(request, session, clinic, runtime, form, enrollment)
        result = enroll(
            session,
            clinic,
            enrollment,
            templates_dir=runtime.templates_dir,
            now=now,
            actor=staff.email,
        )
    except DuplicateEnrollment as exc:
        return _page(
            request,
            clinic,
            plans,
            form,
            errors={"duplicate": str(exc)},
            status_code=409,
            duplicate_id=exc.treatment_id,
        )
    except EnrollmentError as exc:
        return _page(request, clinic, plans, form, errors={exc.field: str(exc)}, status_code=422)
    name = result.patient.full_name
    if result.stop_received_at is not None:
        flash(request, f"{name} is enrolled, but opted out: this number texted STOP.", "error")
    else:
        flash(request, f"{name} is enrolled: {len(result.messages)} messages.")
    return redirect(f"/patients/{result.patient.id}")
