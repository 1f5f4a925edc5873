"""Use cases for setting up a clinic and its staff."""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.passwords import hash_password
from followup.core.phones import normalize_phone
from followup.messages.office_hours import OfficeHours
from followup.messages.plans import SendRules
from followup.models import Clinic, Role, StaffUser

_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
SMS_NAME_MAX = 40


class ClinicError(ValueError):
    """A clinic or staff account that can't be created as asked."""


class UnknownClinic(ClinicError):
    pass


def slugify(name: str) -> str:
    slug = _SLUG_CHARS.sub("-", name.lower()).strip("-")
    if not slug:
        raise ClinicError(f"cannot make a slug from the name {name!r}")
    return slug[:64]


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClinicError(
            f"unknown time zone {name!r} (use an IANA name like America/Edmonton)"
        ) from None


def send_rules(clinic: Clinic) -> SendRules:
    return SendRules(
        tz=ZoneInfo(clinic.timezone),
        default_send_time=clinic.default_send_time,
        quiet_start=clinic.quiet_start,
        quiet_end=clinic.quiet_end,
    )


def create_clinic(
    session: Session,
    *,
    name: str,
    timezone: str,
    contact_phone: str,
    country: str = "CA",
    slug: str | None = None,
    sender_number: str | None = None,
    contact_email: str | None = None,
    default_send_time: time = time(10, 0),
    sms_name: str | None = None,
    office_hours: OfficeHours | None = None,
) -> Clinic:
    if not name.strip():
        raise ClinicError("clinic name is empty")
    if sms_name is not None and not 0 < len(sms_name.strip()) <= SMS_NAME_MAX:
        raise ClinicError(f"the SMS name must have 1 to {SMS_NAME_MAX} characters")
    parse_timezone(timezone)
    country = country.upper()
    slug = slug or slugify(name)
    if session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
        raise ClinicError(f"a clinic with slug {slug!r} already exists")
    clinic = Clinic(
        name=name.strip(),
        sms_name=sms_name.strip() if sms_name else None,
        slug=slug,
        timezone=timezone,
        country=country,
        contact_phone=normalize_phone(contact_phone, country, require_mobile=False),
        sender_number=normalize_phone(sender_number, country, require_mobile=False)
        if sender_number
        else None,
        contact_email=contact_email,
        default_send_time=default_send_time,
    )
    if office_hours is not None:  # else the model's default, Monday to Friday 9 to 5
        clinic.office_days = office_hours.mask
        clinic.office_opens_at = office_hours.opens
        clinic.office_closes_at = office_hours.closes
    session.add(clinic)
    session.flush()
    return clinic


def get_clinic(session: Session, slug: str) -> Clinic:
    clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        raise UnknownClinic(f"no clinic with slug {slug!r}")
    return clinic


def create_staff(
    session: Session,
    clinic: Clinic,
    *,
    email: str,
    password: str,
    role: Role = Role.STAFF,
    name: str = "",
) -> StaffUser:
    email = email.strip().lower()
    if "@" not in email:
        raise ClinicError(f"{email!r} is not an email address")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise ClinicError(f"a staff account for {email} already exists")
    user = StaffUser(
        clinic_id=clinic.id,
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def sms_display_name(clinic: Clinic) -> str:
    """The clinic's name as SMS bodies print it."""
    return clinic.sms_name or clinic.name
