"""One set of rules for every way a patient is enrolled: the dashboard form, the CSV
import, the API and the CLI all hand what they were given to `check_enrollment`, which
names every bad field at once (`InvalidEnrollment.errors`) or returns the cleaned request
with its schedule. Pure: no database, no clock (`now` is an argument).

What a value must be to be stored and sent safely, whoever typed it:
- text (names, practitioner, consent method) has no control characters (NUL cannot even
  be stored by PostgreSQL; an escape sequence would reach a terminal or a log) and no
  bidirectional overrides (they make a name read differently from what it is), and is no
  longer than its column;
- the phone is a mobile number (phonenumbers), the email an address (email-validator);
- channel and language are members of their enums; the treatment is a plan we have;
- the treatment time is between 2000-01-01 and now: anything else is a typo, and far-off
  years overflow when converted between time zones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from followup.admin.clinics import send_rules
from followup.core.phones import InvalidPhone, normalize_phone
from followup.messages.plans import (
    Plan,
    PlanError,
    PlannedSend,
    available_plans,
    load_plan,
    plan_sends,
)
from followup.models import ChannelPreference, Clinic, Language, Patient, Treatment

# Clocks on a tablet and a server disagree a little; a treatment "in the future" by less
# than this is taken as now.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_TREATMENT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_OFFSET = timedelta(hours=14)  # no place on Earth is further from UTC


def _column_length(column: Any) -> int:
    length: int = column.type.length
    return length


# What each field may hold, in characters: the column's size where it is stored as typed.
MAX_LENGTHS: dict[str, int] = {
    "first_name": _column_length(Patient.__table__.c.first_name),
    "last_name": _column_length(Patient.__table__.c.last_name),
    "phone": 32,  # as typed, with spaces and dashes; stored as E.164
    "email": _column_length(Patient.__table__.c.email),
    "treatment": _column_length(Treatment.__table__.c.kind),
    "treated_at": 40,
    "timezone": 64,
    "practitioner": _column_length(Treatment.__table__.c.practitioner),
    "consent_method": _column_length(Patient.__table__.c.consent_method),
}
# C0 and C1 controls (NUL, escape, tab, line breaks), Unicode line and paragraph
# separators, bidirectional embeddings, overrides and isolates, invisible spaces that
# would make "Maya" and "Ma<ZWSP>ya" two patients (zero-width space, word joiner,
# byte-order mark; the joiners some scripts need stay), lone surrogates (not encodable
# as UTF-8) and the two noncharacters of the basic plane.
_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069"
    "\ud800-\udfff\ufeff\ufffe\uffff]"
)
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_E = TypeVar("_E", bound=StrEnum)


class EnrollmentError(ValueError):
    """Enrollment input that can't be accepted. `field` names the (first) culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidEnrollment(EnrollmentError):
    """Every field that is wrong, in the order of the form."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].field, "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)

    def by_field(self) -> dict[str, str]:
        """The first message for each field (what a form shows beside it)."""
        found: dict[str, str] = {}
        for error in self.errors:
            found.setdefault(error.field, error.message)
        return found


@dataclass(frozen=True)
class EnrollmentRequest:
    """An enrollment in typed values: what code builds, and what the checks hand back."""

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
class EnrollmentInput:
    """An enrollment as a person or a booking system gave it, nothing checked yet.

    `treated_at` is ISO 8601 text (a date alone means the start of that day) or an aware
    datetime; without an offset it is wall-clock time in `timezone` (an IANA name or an
    offset like -07:00), else in the clinic's zone. `consent_given` is the form's box."""

    first_name: str
    phone: str
    treatment: str
    treated_at: str | datetime
    last_name: str = ""
    email: str | None = None
    channel: str = ChannelPreference.SMS.value
    language: str = Language.EN.value
    practitioner: str | None = None
    consent_method: str = "in_clinic"
    timezone: str = ""
    consent_given: bool = True

    @classmethod
    def of(cls, request: EnrollmentRequest) -> EnrollmentInput:
        """A typed request, to be checked like any other input."""
        return cls(
            first_name=request.first_name,
            last_name=request.last_name,
            phone=request.phone,
            email=request.email,
            treatment=request.treatment,
            treated_at=request.treated_at,
            channel=str(request.channel),
            language=str(request.language),
            practitioner=request.practitioner,
            consent_method=request.consent_method,
        )


@dataclass(frozen=True)
class ValidEnrollment:
    request: EnrollmentRequest  # cleaned: trimmed, NFC, enums, an aware treated_at
    phone: str  # E.164
    email: str | None
    plan: Plan
    sends: list[PlannedSend]


class Plans:
    """The plans under a templates folder, each plan.toml read once per instance (unknown
    names remembered too): one per request, or one for a whole CSV file."""

    def __init__(self, templates_dir: Path) -> None:
        self._templates_dir = templates_dir
        self._known: dict[str, Plan | None] = {}

    def get(self, name: str) -> Plan | None:
        if name not in self._known:
            try:
                self._known[name] = load_plan(self._templates_dir, name)
            except PlanError:
                self._known[name] = None
        return self._known[name]

    def names(self) -> list[str]:
        return available_plans(self._templates_dir)


def check_enrollment(
    given: EnrollmentInput | EnrollmentRequest, clinic: Clinic, plans: Plans, *, now: datetime
) -> ValidEnrollment:
    """Every rule at once: the cleaned request and its schedule, or InvalidEnrollment
    naming each bad field."""
    raw = EnrollmentInput.of(given) if isinstance(given, EnrollmentRequest) else given
    check = _Check()
    first_name = check.text("first_name", raw.first_name, required=True)
    last_name = check.text("last_name", raw.last_name)
    phone = check.field("phone", _phone, raw.phone, clinic.country)
    email = check.field("email", _email, raw.email or "")
    channel = check.field("channel", _choice, ChannelPreference, raw.channel)
    language = check.field("language", _choice, Language, raw.language)
    plan = check.field("treatment", _plan, raw.treatment, plans)
    clinic_tz = send_rules(clinic).tz
    zone = check.field("timezone", _zone, raw.timezone, clinic_tz)
    treated_at = check.field("treated_at", _treated_at, raw, zone or clinic_tz, now)
    practitioner = check.text("practitioner", raw.practitioner or "")
    consent_method = check.text("consent_method", raw.consent_method, required=True)
    if channel not in (None, ChannelPreference.SMS) and not email and "email" not in check:
        check.add("email", f"needed to send by {channel}")
    if not raw.consent_given:
        check.add("consent", "the patient must agree to receive messages")
    sends = check.field("treatment", _sends, plan, treated_at, clinic, now) if plan else []
    if check.errors:
        raise InvalidEnrollment(check.errors)
    request = EnrollmentRequest(
        first_name=first_name,
        last_name=last_name,
        phone=raw.phone,
        email=email or None,
        treatment=plan.name,
        treated_at=treated_at,
        channel=channel,
        language=language,
        practitioner=practitioner or None,
        consent_method=consent_method or "in_clinic",
    )
    return ValidEnrollment(request, phone, email or None, plan, sends)


class _Check:
    """Collects field errors instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def __contains__(self, field: str) -> bool:
        return any(error.field == field for error in self.errors)

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def field(self, name: str, rule: Callable[..., Any], *args: Any) -> Any:
        """`rule(*args)`, or None with the error noted if it raises EnrollmentError."""
        try:
            return rule(*args)
        except EnrollmentError as exc:
            self.add(exc.field or name, str(exc))
            return None

    def text(self, name: str, value: str, *, required: bool = False) -> str:
        """The cleaned text, or "" with the error noted."""
        cleaned = self.field(name, clean_text, name, value, required)
        return cleaned if isinstance(cleaned, str) else ""


def clean_text(field: str, value: str, required: bool = False) -> str:
    """`value` trimmed and in NFC, or EnrollmentError: empty when required, too long, or
    holding characters that must not be stored (see the module docstring)."""
    limit = MAX_LENGTHS[field]
    if len(value) > 4 * limit:  # refuse before normalising a huge string
        raise EnrollmentError(field, f"at most {limit} characters")
    bad = _FORBIDDEN.search(value)
    if bad:
        raise EnrollmentError(field, f"must not contain control characters (U+{ord(bad[0]):04X})")
    cleaned = unicodedata.normalize("NFC", value.strip())
    if len(cleaned) > limit:
        raise EnrollmentError(field, f"at most {limit} characters")
    if required and not cleaned:
        raise EnrollmentError(field, "must not be empty")
    return cleaned


def printable(value: str, limit: int = 60) -> str:
    """`value` for a page or a report, whatever it holds: what must not be stored is shown
    as U+FFFD, and a long value is cut short."""
    cut = value[:limit] + ("…" if len(value) > limit else "")
    return _FORBIDDEN.sub("\ufffd", cut)


def shown(value: str, limit: int = 40) -> str:
    """A value quoted in a message: repr (controls visible), cut short."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")


def _phone(raw: str, country: str) -> str:
    text = clean_text("phone", raw, required=True)
    try:
        return normalize_phone(text, country)
    except InvalidPhone as exc:
        raise EnrollmentError("phone", str(exc)) from None


def _email(raw: str) -> str:
    text = clean_text("email", raw)
    if not text:
        return ""
    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise EnrollmentError(
            "email", f"{shown(text)} is not a valid email address: {exc}"
        ) from None


_CHOICE_NOUNS = {
    Language: "a language we write messages in",
    ChannelPreference: "a way we send messages",
}


def _choice(kind: type[_E], raw: str) -> _E:
    text = raw.strip().lower()
    for member in kind:
        if member.value == text:
            return member
    allowed = ", ".join(member.value for member in kind)
    noun = _CHOICE_NOUNS.get(kind, "a choice we know")
    raise EnrollmentError("", f"{shown(raw)} is not {noun} (use one of: {allowed})")


def _plan(raw: str, plans: Plans) -> Plan:
    name = clean_text("treatment", raw, required=True)
    plan = plans.get(name)
    if plan is None:
        known = ", ".join(plans.names()) or "none"
        raise EnrollmentError("treatment", f"no plan for treatment {shown(name)} (known: {known})")
    return plan


def _zone(raw: str, clinic_tz: ZoneInfo) -> tzinfo:
    """The row's zone: an IANA name or a UTC offset; the clinic's when empty."""
    text = clean_text("timezone", raw)
    if not text:
        return clinic_tz
    offset = _OFFSET.match(text.upper())
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > MAX_OFFSET or int(minutes or 0) >= 60:
            raise EnrollmentError("timezone", f"{shown(text)} is not a real UTC offset")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise EnrollmentError(
            "timezone", f"unknown time zone {shown(text)} (use e.g. America/Edmonton or -07:00)"
        ) from None


def _treated_at(raw: EnrollmentInput, zone: tzinfo, now: datetime) -> datetime:
    """An aware instant between EARLIEST_TREATMENT and now (plus the clocks' tolerance)."""
    value = raw.treated_at
    if isinstance(value, str):
        value = _parse_instant(value, zone, zone_given=bool(raw.timezone.strip()))
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    offset = value.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise EnrollmentError("treated_at", "needs a real UTC offset (within ±14:00)")
    # The year first: comparing or converting year 1 or 9999 across zones can overflow.
    if value.year > now.year + 1 or value > now + FUTURE_TOLERANCE:
        raise EnrollmentError("treated_at", "treatment time is in the future")
    if value.year < EARLIEST_TREATMENT.year or value < EARLIEST_TREATMENT:
        raise EnrollmentError("treated_at", "must be between 2000-01-01 and now")
    return value


def _parse_instant(raw: str, zone: tzinfo, *, zone_given: bool) -> datetime:
    text = clean_text("treated_at", raw, required=True)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise EnrollmentError(
            "treated_at", f"{shown(text)} is not an ISO 8601 date and time (e.g. 2026-03-07 14:30)"
        ) from None
    if _DATE_ONLY.match(text):  # a date alone: the start of that day, never "in the future"
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    if zone_given and parsed.utcoffset() != parsed.replace(tzinfo=zone).utcoffset():
        raise EnrollmentError(
            "timezone", f"the offset in treated_at {shown(text)} disagrees with the timezone"
        )
    return parsed


def _sends(
    plan: Plan, treated_at: datetime | None, clinic: Clinic, now: datetime
) -> list[PlannedSend]:
    if treated_at is None:  # already refused
        return []
    try:
        return plan_sends(plan, treated_at, send_rules(clinic), now)
    except PlanError as exc:
        raise EnrollmentError("treatment", str(exc)) from None
