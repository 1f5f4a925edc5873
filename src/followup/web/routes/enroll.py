"""Enroll a patient from the dashboard: fill the form, see the schedule, confirm.

The first POST checks every field (the rules of every way in, enrollment.validation) and
previews the schedule with what enrolling would run into (a likely duplicate, the same
name on another number, a number that texted STOP); nothing is written. The preview
carries a signed digest of the checked inputs and of that schedule. Confirm checks and
computes again and enrolls only if both digests still match: when a field was changed
after the preview, or time has passed so that the schedule is no longer the one shown (a
step now too late), it shows the new preview and asks again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from followup.core.runtime import Runtime
from followup.enrollment.duplicates import PossibleDuplicate, same_name_enrollments
from followup.enrollment.enroll import (
    DuplicateEnrollment,
    EnrollmentInput,
    InvalidEnrollment,
    ValidEnrollment,
    enroll_checked,
    find_duplicate,
    standing_opt_out,
)
from followup.enrollment.validation import Plans, check_enrollment
from followup.messages.plans import PlannedSend
from followup.models import ChannelPreference, Clinic, Language, Patient, Treatment
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import flash, redirect, render

router = staff_pages()
actions = staff_actions()
# Every field may be typed; only the type is fixed here. What a value must be is
# enrollment.validation's business, so a bad one is an error beside its field.
FIELDS = (
    "first_name", "last_name", "phone", "email", "channel", "language", "treatment",
    "treated_at", "practitioner", "consent",
)  # fmt: skip


class EnrollForm(BaseModel):
    """The form's values as typed, so a page with errors keeps them."""

    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    channel: str = "sms"
    language: str = "en"
    treatment: str = "microneedling"
    treated_at: str = ""  # datetime-local, clinic wall time
    practitioner: str = ""
    consent: str = ""  # "yes" when ticked
    step: str = Field("preview", max_length=10)  # "preview" or "confirm"
    preview_digest: str = Field("", max_length=200)  # from the preview being confirmed

    def as_input(self) -> EnrollmentInput:
        return EnrollmentInput(
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            email=self.email or None,
            channel=self.channel,
            language=self.language,
            treatment=self.treatment,
            treated_at=self.treated_at,
            practitioner=self.practitioner or None,
            consent_given=self.consent == "yes",
        )


def _page(
    request: Request,
    runtime: Runtime,
    clinic: Clinic,
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
        "fields": FIELDS,
        "plans": Plans(runtime.templates_dir).names(),
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
    return _page(request, runtime, clinic, form)


@actions.post("/enroll")
def enroll_submit(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    form: Annotated[EnrollForm, Form()],
) -> Response:
    clinic = staff_clinic(session, staff)
    now = runtime.clock.now()
    try:
        valid = check_enrollment(form.as_input(), clinic, Plans(runtime.templates_dir), now=now)
    except InvalidEnrollment as exc:
        return _page(request, runtime, clinic, form, errors=exc.by_field(), status_code=422)
    preview = _preview(session, clinic, valid)
    digest = _digest(runtime, clinic, valid, preview)
    if form.step != "confirm" or not _same_digest(form.preview_digest, digest):
        changed = _what_changed(form.preview_digest, digest) if form.step == "confirm" else None
        return _page(
            request,
            runtime,
            clinic,
            form,
            status_code=409 if changed else 200,
            preview=preview,
            preview_digest=digest,
            changed=changed,
        )
    try:
        result = enroll_checked(session, clinic, valid, now=now, actor=staff.email)
    except DuplicateEnrollment as exc:
        return _page(
            request,
            runtime,
            clinic,
            form,
            errors={"duplicate": str(exc)},
            status_code=409,
            duplicate_id=exc.treatment_id,
        )
    name = result.patient.full_name
    if result.stop_received_at is not None:
        flash(request, f"{name} is enrolled, but opted out: this number texted STOP.", "error")
    else:
        flash(request, f"{name} is enrolled: {len(result.messages)} messages.")
    return redirect(f"/patients/{result.patient.id}")


@dataclass(frozen=True)
class Preview:
    """The schedule, and what enrolling would run into: the patient already on file (a
    likely duplicate if `duplicate`), the same name on another number, or a number whose
    STOP would make the new patient start opted out."""

    sends: list[PlannedSend]
    existing_patient: Patient | None
    duplicate: Treatment | None
    same_name: list[PossibleDuplicate]
    stop_received_at: datetime | None


def _preview(session: DbSession, clinic: Clinic, valid: ValidEnrollment) -> Preview:
    patient, existing = find_duplicate(session, clinic, valid)
    return Preview(
        sends=valid.sends,
        existing_patient=patient,
        duplicate=existing,
        same_name=same_name_enrollments(session, clinic, valid),
        stop_received_at=None if patient else standing_opt_out(session, clinic.id, valid.phone),
    )


def _digest(runtime: Runtime, clinic: Clinic, valid: ValidEnrollment, preview: Preview) -> str:
    """Two signatures, "inputs.schedule": of the checked inputs, and of the schedule with
    the warnings shown beside it. A late step's exact time is left out (it goes as soon as
    allowed, which moves with the clock), but whether it is late or too late is in."""
    request = valid.request
    inputs = [
        clinic.id, request.first_name, request.last_name, valid.phone, valid.email,
        request.channel.value, request.language.value, valid.plan.name,
        request.treated_at.astimezone(UTC).isoformat(), request.practitioner,
        request.consent_method,
    ]  # fmt: skip
    schedule = [
        [send.step, send.expired, send.late, None if send.late else send.send_at.isoformat()]
        for send in valid.sends
    ]
    warnings = [
        preview.existing_patient.id if preview.existing_patient else None,
        preview.duplicate.id if preview.duplicate else None,
        sorted(match.treatment_id for match in preview.same_name),
        preview.stop_received_at.isoformat() if preview.stop_received_at else None,
    ]
    key = runtime.settings.signing_key().encode()
    return ".".join(
        hmac.new(
            key, json.dumps(["enroll-preview", part], default=str).encode(), hashlib.sha256
        ).hexdigest()[:32]
        for part in (inputs, [schedule, warnings])
    )


def _same_digest(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


def _what_changed(sent: str, expected: str) -> str:
    sent_inputs, _, _ = sent.partition(".")
    if hmac.compare_digest(sent_inputs.encode(), expected.partition(".")[0].encode()):
        return "schedule"
    return "inputs"
