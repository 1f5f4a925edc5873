"""Clinic settings that admins change from the dashboard: time zone, send time, quiet hours,
escalation SLAs, office hours, the SMS name and retention, on-call contacts and staff
accounts. Each change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.admin.clinics import ClinicError, create_staff, parse_timezone
from followup.admin.retention import RetentionError, set_retention
from followup.admin.sessions import end_all_sessions
from followup.admin.staff_accounts import PASSWORD_MIN_LENGTH
from followup.core.audit import record_staff_audit
from followup.core.phones import InvalidPhone, normalize_phone
from followup.messages.office_hours import DAY_CODES, OfficeHours, OfficeHoursError
from followup.messages.segments import is_gsm7
from followup.models import Clinic, OnCallContact, Role, StaffUser


class SettingsError(ValueError):
    """A settings change that can't be accepted; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ClinicTiming:
    timezone: str
    default_send_time: time
    quiet_start: time
    quiet_end: time
    urgent_sla_minutes: int
    normal_sla_minutes: int


def update_timing(
    session: Session, clinic: Clinic, timing: ClinicTiming, admin: StaffUser, now: datetime
) -> None:
    """Change when messages go out and how fast escalations must be picked up. Messages
    already scheduled keep their times; new enrollments use the new rules."""
    try:
        parse_timezone(timing.timezone)
    except ClinicError as exc:
        raise SettingsError("timezone", str(exc)) from None
    if timing.quiet_start == timing.quiet_end:
        raise SettingsError("quiet_end", "quiet hours must start and end at different times")
    for name, minutes in (
        ("urgent_sla_minutes", timing.urgent_sla_minutes),
        ("normal_sla_minutes", timing.normal_sla_minutes),
    ):
        if not 1 <= minutes <= 7 * 24 * 60:
            raise SettingsError(name, "an SLA is between 1 minute and 7 days")
    if timing.urgent_sla_minutes > timing.normal_sla_minutes:
        raise SettingsError("urgent_sla_minutes", "the urgent SLA can't be longer than normal")
    changed = {
        name: str(value) for name, value in vars(timing).items() if getattr(clinic, name) != value
    }
    for name in changed:
        setattr(clinic, name, getattr(timing, name))
    record_staff_audit(
        session, admin, "settings.timing", ("clinic", clinic.id), now, changed=changed
    )


def office_hours_from_form(days: list[str], opens: time, closes: time) -> OfficeHours:
    """The office hours an admin ticked and typed; SettingsError names what is wrong."""
    unknown = [day for day in days if day not in DAY_CODES]
    if unknown:
        raise SettingsError("office_days", f"not days of the week: {', '.join(unknown)}")
    try:
        return OfficeHours(frozenset(DAY_CODES.index(day) for day in days), opens, closes)
    except OfficeHoursError as exc:
        raise SettingsError(exc.field, str(exc)) from None


def update_office_hours(
    session: Session, clinic: Clinic, hours: OfficeHours, admin: StaffUser, now: datetime
) -> None:
    """Change when staff read patients' texts: the acknowledgement of a reply that needs a
    person tells the patient these hours, from the next reply on."""
    before = OfficeHours.of(clinic)
    # The audit log shows days and times as people write them, not the stored bit set.
    changed = {
        name: shown
        for name, shown, was in (
            ("office_days", _day_codes(hours.days), _day_codes(before.days)),
            ("office_opens_at", hours.opens.strftime("%H:%M"), before.opens.strftime("%H:%M")),
            ("office_closes_at", hours.closes.strftime("%H:%M"), before.closes.strftime("%H:%M")),
        )
        if shown != was
    }
    clinic.office_days = hours.mask
    clinic.office_opens_at = hours.opens
    clinic.office_closes_at = hours.closes
    record_staff_audit(
        session, admin, "settings.office_hours", ("clinic", clinic.id), now, changed=changed
    )


def _day_codes(days: frozenset[int]) -> str:
    return ",".join(DAY_CODES[day] for day in sorted(days))


SMS_NAME_MAX = 40  # the column's length; every character is paid for in every SMS


def update_sms_name_and_retention(
    session: Session,
    clinic: Clinic,
    admin: StaffUser,
    now: datetime,
    *,
    sms_name: str,
    retention_days: int | None,
) -> None:
    """What SMS bodies call the clinic (blank: its full name), and how long message and reply
    texts are kept (None: the operator's default, FOLLOWUP_RETENTION_DAYS)."""
    name = " ".join(sms_name.split()) or None
    if name is not None and len(name) > SMS_NAME_MAX:
        raise SettingsError("sms_name", f"the SMS name can be at most {SMS_NAME_MAX} characters")
    if name is not None and not is_gsm7(name):
        # One character outside GSM-7 makes every message UCS-2: 70 characters a segment.
        raise SettingsError("sms_name", "use letters, digits and punctuation a basic phone has")
    before = {"sms_name": clinic.sms_name, "retention_days": clinic.retention_days}
    try:
        set_retention(session, clinic, retention_days)
    except RetentionError as exc:
        raise SettingsError("retention_days", str(exc)) from None
    clinic.sms_name = name
    after = {"sms_name": clinic.sms_name, "retention_days": clinic.retention_days}
    changed = {key: after[key] for key in after if after[key] != before[key]}
    record_staff_audit(
        session, admin, "settings.sms_name_retention", ("clinic", clinic.id), now, changed=changed
    )


def add_on_call(
    session: Session,
    clinic: Clinic,
    admin: StaffUser,
    now: datetime,
    *,
    name: str,
    phone: str | None,
    email: str | None,
    urgent_only: bool,
) -> OnCallContact:
    """Someone who is told about new escalations by SMS and/or email."""
    if not name.strip():
        raise SettingsError("name", "the contact needs a name")
    phone_e164 = None
    if phone and phone.strip():
        try:
            phone_e164 = normalize_phone(phone, clinic.country)
        except InvalidPhone as exc:
            raise SettingsError("phone", str(exc)) from None
    email = email.strip() if email and email.strip() else None
    if email is not None and "@" not in email:
        raise SettingsError("email", f"{email!r} is not an email address")
    if phone_e164 is None and email is None:
        raise SettingsError("phone", "give a phone number, an email address or both")
    contact = OnCallContact(
        clinic_id=clinic.id,
        name=name.strip(),
        phone=phone_e164,
        email=email,
        urgent_only=urgent_only,
        active=True,
    )
    session.add(contact)
    session.flush()
    record_staff_audit(session, admin, "settings.on_call.add", ("on_call_contact", contact.id), now)
    return contact


def set_on_call_active(
    session: Session, contact: OnCallContact, active: bool, admin: StaffUser, now: datetime
) -> None:
    contact.active = active
    record_staff_audit(
        session,
        admin,
        "settings.on_call.active",
        ("on_call_contact", contact.id),
        now,
        active=active,
    )


def add_staff_account(
    session: Session,
    clinic: Clinic,
    admin: StaffUser,
    now: datetime,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
) -> StaffUser:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise SettingsError("password", f"use at least {PASSWORD_MIN_LENGTH} characters")
    try:
        user = create_staff(session, clinic, email=email, password=password, role=role, name=name)
    except ClinicError as exc:
        raise SettingsError("email", str(exc)) from None
    record_staff_audit(
        session, admin, "settings.staff.add", ("staff_user", user.id), now, role=role.value
    )
    return user


def update_staff_account(
    session: Session,
    user: StaffUser,
    admin: StaffUser,
    now: datetime,
    *,
    role: Role,
    active: bool,
) -> None:
    """Change a role or (de)activate an account; a clinic always keeps one active admin.
    Deactivating ends the account's sessions for good (reactivating revives none)."""
    if user.id == admin.id and (role is not Role.ADMIN or not active):
        raise SettingsError("role", "you can't remove your own admin access")
    if (user.role is Role.ADMIN and user.active) and (role is not Role.ADMIN or not active):
        admins = session.scalar(
            select(func.count(StaffUser.id)).where(
                StaffUser.clinic_id == user.clinic_id,
                StaffUser.role == Role.ADMIN,
                StaffUser.active.is_(True),
            )
        )
        if (admins or 0) <= 1:
            raise SettingsError("role", "the clinic needs at least one active admin")
    user.role = role
    user.active = active
    if not active:
        end_all_sessions(session, user)
    record_staff_audit(
        session,
        admin,
        "settings.staff.update",
        ("staff_user", user.id),
        now,
        role=role.value,
        active=active,
    )
