"""Clinic settings for admins: time zone, send time, quiet hours, SLAs, on-call contacts and
staff accounts. The rules live in followup.admin.clinic_settings; this module translates HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from followup.admin import clinic_settings
from followup.admin.clinic_settings import ClinicTiming, SettingsError
from followup.models import OnCallContact, Role, StaffUser
from followup.web.csrf import require_csrf
from followup.web.deps import (
    AdminStaff,
    DbSession,
    NotFound,
    RuntimeDep,
    current_staff,
    staff_clinic,
)
from followup.web.pages import flash, redirect, render
from followup.web.scoped import clinic_staff_member

router = APIRouter()
# The session is checked before the CSRF token, so a signed-out POST answers 401 (not 403).
actions = APIRouter(dependencies=[Depends(current_staff), Depends(require_csrf)])
COMMON_ZONES = [
    "America/St_Johns",
    "America/Halifax",
    "America/Toronto",
    "America/Winnipeg",
    "America/Regina",
    "America/Edmonton",
    "America/Vancouver",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Paris",
    "UTC",
]


@router.get("/settings")
def settings_page(
    request: Request, session: DbSession, staff: AdminStaff, runtime: RuntimeDep
) -> Response:
    clinic = staff_clinic(session, staff)
    contacts = session.scalars(
        select(OnCallContact).where(OnCallContact.clinic_id == clinic.id).order_by(OnCallContact.id)
    ).all()
    accounts = session.scalars(
        select(StaffUser).where(StaffUser.clinic_id == clinic.id).order_by(StaffUser.email)
    ).all()
    zones = COMMON_ZONES if clinic.timezone in COMMON_ZONES else [clinic.timezone, *COMMON_ZONES]
    return render(
        request,
        "settings.html",
        {
            "clinic": clinic,
            "contacts": contacts,
            "accounts": accounts,
            "zones": zones,
            "roles": list(Role),
            # Shown, not edited here: without a number of its own, the clinic's texts go
            # through the operator's Messaging Service (FOLLOWUP_TWILIO_MESSAGING_SERVICE_SID).
            "default_service": runtime.settings.twilio_messaging_service_sid,
        },
    )


def _apply(request: Request, action: Callable[[], object], done: str) -> Response:
    try:
        action()
    except SettingsError as exc:
        flash(request, f"Not saved: {exc}", "error")
    else:
        flash(request, done)
    return redirect("/settings")


def _time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise SettingsError("time", f"{value!r} is not a time like 10:00") from None


@actions.post("/settings/clinic")
def save_timing(
    request: Request,
    session: DbSession,
    staff: AdminStaff,
    runtime: RuntimeDep,
    timezone: Annotated[str, Form()],
    default_send_time: Annotated[str, Form()],
    quiet_start: Annotated[str, Form()],
    quiet_end: Annotated[str, Form()],
    urgent_sla_minutes: Annotated[int, Form()],
    normal_sla_minutes: Annotated[int, Form()],
) -> Response:
    clinic = staff_clinic(session, staff)

    def change() -> None:
        timing = ClinicTiming(
            timezone.strip(),
            _time(default_send_time),
            _time(quiet_start),
            _time(quiet_end),
            urgent_sla_minutes,
            normal_sla_minutes,
        )
        clinic_settings.update_timing(session, clinic, timing, staff, runtime.clock.now())

    return _apply(request, change, "Clinic settings saved.")


@actions.post("/settings/on-call")
def add_on_call(
    request: Request,
    session: DbSession,
    staff: AdminStaff,
    runtime: RuntimeDep,
    name: Annotated[str, Form()],
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    urgent_only: Annotated[str, Form()] = "",
) -> Response:
    clinic = staff_clinic(session, staff)
    now = runtime.clock.now()
    return _apply(
        request,
        lambda: clinic_settings.add_on_call(
            session,
            clinic,
            staff,
            now,
            name=name,
            phone=phone,
            email=email,
            urgent_only=urgent_only == "yes",
        ),
        "On-call contact added.",
    )


@actions.post("/settings/on-call/{contact_id:int}")
def toggle_on_call(
    request: Request,
    session: DbSession,
    staff: AdminStaff,
    runtime: RuntimeDep,
    contact_id: int,
    active: Annotated[str, Form()],
) -> Response:
    contact = session.get(OnCallContact, contact_id)
    if contact is None or contact.clinic_id != staff.clinic_id:
        raise NotFound
    now = runtime.clock.now()
    return _apply(
        request,
        lambda: clinic_settings.set_on_call_active(session, contact, active == "yes", staff, now),
        "On-call contact updated.",
    )


@actions.post("/settings/staff")
def add_staff(
    request: Request,
    session: DbSession,
    staff: AdminStaff,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "staff",
) -> Response:
    clinic = staff_clinic(session, staff)
    now = runtime.clock.now()
    chosen = Role(role) if role in {r.value for r in Role} else Role.STAFF
    return _apply(
        request,
        lambda: clinic_settings.add_staff_account(
            session, clinic, staff, now, email=email, name=name, password=password, role=chosen
        ),
        "Staff account created.",
    )


@actions.post("/settings/staff/{staff_id:int}")
def update_staff(
    request: Request,
    session: DbSession,
    staff: AdminStaff,
    runtime: RuntimeDep,
    staff_id: int,
    role: Annotated[str, Form()],
    active: Annotated[str, Form()] = "",
) -> Response:
    member = clinic_staff_member(session, staff, staff_id)
    now = runtime.clock.now()
    chosen = Role(role) if role in {r.value for r in Role} else Role.STAFF
    return _apply(
        request,
        lambda: clinic_settings.update_staff_account(
            session, member, staff, now, role=chosen, active=active == "yes"
        ),
        "Staff account updated.",
    )
