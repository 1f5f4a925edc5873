"""Clinic settings for admins: time zone, send time, quiet hours, SLAs, office hours, the
SMS name and retention, on-call contacts and staff accounts. The rules live in
followup.admin.clinic_settings; this module translates HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from followup.admin import clinic_settings
from followup.admin.clinic_settings import ClinicTiming, SettingsError
from followup.admin.throttle import blocked_accounts
from followup.messages.office_hours import DAY_CODES, OfficeHours, describe_office_hours
from followup.messages.rendering import LANGUAGES
from followup.models import OnCallContact, Role, StaffUser
from followup.web.access import admin_actions, admin_pages
from followup.web.deps import (
    CurrentStaff,
    DbSession,
    NotFound,
    RuntimeDep,
    staff_clinic,
)
from followup.web.pages import flash, redirect, render
from followup.web.scoped import clinic_staff_member

router = admin_pages()
actions = admin_actions()
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
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep
) -> Response:
    clinic = staff_clinic(session, staff)
    contacts = session.scalars(
        select(OnCallContact).where(OnCallContact.clinic_id == clinic.id).order_by(OnCallContact.id)
    ).all()
    accounts = session.scalars(
        select(StaffUser).where(StaffUser.clinic_id == clinic.id).order_by(StaffUser.email)
    ).all()
    zones = COMMON_ZONES if clinic.timezone in COMMON_ZONES else [clinic.timezone, *COMMON_ZONES]
    hours = OfficeHours.of(clinic)
    return render(
        request,
        "settings.html",
        {
            "clinic": clinic,
            "contacts": contacts,
            "accounts": accounts,
            "zones": zones,
            "roles": list(Role),
            "day_codes": DAY_CODES,
            "office_days": {DAY_CODES[day] for day in hours.days},
            # What patients are told, in each language they may read it in.
            "hours_words": {lang: describe_office_hours(hours, lang) for lang in LANGUAGES},
            "held_back": blocked_accounts(
                session, [a.email for a in accounts], runtime.clock.now()
            ),
            "default_retention_days": runtime.settings.retention_days,
            # Shown, not edited here: without a number of its own, the clinic's texts go
            # through the operator's Messaging Service (FOLLOWUP_TWILIO_MESSAGING_SERVICE_SID).
            "default_service": runtime.settings.twilio_messaging_service_sid,
        },
    )


def _apply(request: Request, action: Callable[[], object], done: str, focus: str) -> Response:
    """Run one change and go back to settings, focused on the section it was made in."""
    try:
        action()
    except SettingsError as exc:
        flash(request, f"Not saved: {exc}", "error")
    else:
        flash(request, done)
    return redirect("/settings", focus=focus)


def _time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise SettingsError("time", f"{value!r} is not a time like 10:00") from None


@actions.post("/settings/clinic")
def save_timing(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
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

    return _apply(request, change, "Clinic settings saved.", "h-timing")


@actions.post("/settings/office-hours")
def save_office_hours(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    office_opens_at: Annotated[str, Form()],
    office_closes_at: Annotated[str, Form()],
    office_days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    clinic = staff_clinic(session, staff)

    def change() -> None:
        hours = clinic_settings.office_hours_from_form(
            office_days or [], _time(office_opens_at), _time(office_closes_at)
        )
        clinic_settings.update_office_hours(session, clinic, hours, staff, runtime.clock.now())

    return _apply(request, change, "Office hours saved.", "h-hours")


def _days(value: str) -> int | None:
    """Blank: the service's default; otherwise a whole number of days."""
    if not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise SettingsError("retention_days", f"{value!r} is not a number of days") from None


@actions.post("/settings/sms-name-retention")
def save_sms_name_and_retention(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    sms_name: Annotated[str, Form()] = "",
    retention_days: Annotated[str, Form()] = "",
) -> Response:
    clinic = staff_clinic(session, staff)
    now = runtime.clock.now()
    return _apply(
        request,
        lambda: clinic_settings.update_sms_name_and_retention(
            session, clinic, staff, now, sms_name=sms_name, retention_days=_days(retention_days)
        ),
        "SMS name and retention saved.",
        "h-sms-retention",
    )


@actions.post("/settings/on-call")
def add_on_call(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
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
        "h-oncall",
    )


@actions.post("/settings/on-call/{contact_id:int}")
def toggle_on_call(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
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
        f"oncall-{contact.id}",
    )


@actions.post("/settings/staff")
def add_staff(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
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
        "h-staff",
    )


@actions.post("/settings/staff/{staff_id:int}")
def update_staff(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
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
        f"role-{member.id}",
    )
