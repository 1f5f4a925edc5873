"""Is this enrollment already there? One rule refuses, one only warns.

- Refused (`find_duplicate`): the same patient - the clinic, the E.164 number and the
  first name, case aside - already enrolled for the same treatment on the same
  clinic-local day. Enrolling again would make a second schedule.
- Warned (`same_name_enrollments`): someone with the same first and last name is enrolled
  for the same treatment that day under another number. Often the same person with a new
  number or a typo, sometimes two people: staff decide, so enrolling still goes ahead.
  Without a last name there is nothing to go on (two Mayas on one day are common).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from followup.admin.clinics import send_rules
from followup.core.phones import display_phone
from followup.enrollment.validation import ValidEnrollment
from followup.messages.plans import to_local
from followup.models import Clinic, Patient, Treatment

NameKey = tuple[str, str, str, date]  # first and last name folded, plan name, local day
_DAYS_PER_QUERY = 100


@dataclass(frozen=True)
class PossibleDuplicate:
    """An enrollment that may be the same patient's, under another number."""

    treatment_id: int
    patient_id: int
    phone: str

    def message(self, subject: str = "A patient") -> str:
        return (
            f"{subject} with the same name is enrolled for this treatment on that day under "
            f"another number, {display_phone(self.phone)} (treatment #{self.treatment_id}): "
            "the same person?"
        )


def find_duplicate(
    session: Session, clinic: Clinic, valid: ValidEnrollment
) -> tuple[Patient | None, Treatment | None]:
    """The patient this request names, and an existing enrollment for the same treatment day."""
    patient = session.scalar(
        select(Patient)
        .where(
            Patient.clinic_id == clinic.id,
            Patient.phone == valid.phone,
            func.lower(Patient.first_name) == valid.request.first_name.lower(),
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


def name_key(clinic: Clinic, valid: ValidEnrollment) -> NameKey | None:
    """What `same_name_enrollments` compares, or None without a last name."""
    request = valid.request
    if not request.last_name:
        return None
    day = to_local(request.treated_at, send_rules(clinic).tz).date()
    return (request.first_name.casefold(), request.last_name.casefold(), valid.plan.name, day)


def same_name_enrollments(
    session: Session, clinic: Clinic, valid: ValidEnrollment
) -> list[PossibleDuplicate]:
    """Enrollments of someone with this name, treatment and day under another number."""
    key = name_key(clinic, valid)
    if key is None:
        return []
    found = enrollments_by_name(session, clinic, [key[3]], [valid.plan.name])
    return [match for match in found.get(key, []) if match.phone != valid.phone]


def enrollments_by_name(
    session: Session, clinic: Clinic, days: Iterable[date], kinds: Iterable[str]
) -> dict[NameKey, list[PossibleDuplicate]]:
    """Every enrollment (with a last name) of `kinds` on the clinic-local `days`, by name key.

    Names are folded in Python: SQLite's lower() knows only ASCII, so the database is asked
    for the days and the names are compared here."""
    tz = send_rules(clinic).tz
    wanted_kinds = sorted(set(kinds))
    found: dict[NameKey, list[PossibleDuplicate]] = {}
    spans = _spans(sorted(set(days)))
    for start in range(0, len(spans), _DAYS_PER_QUERY):
        windows = [
            and_(
                Treatment.treated_at >= _midnight(first, tz),
                Treatment.treated_at < _midnight(last + timedelta(days=1), tz),
            )
            for first, last in spans[start : start + _DAYS_PER_QUERY]
        ]
        rows = session.execute(
            select(
                Treatment.id,
                Treatment.kind,
                Treatment.treated_at,
                Patient.id,
                Patient.first_name,
                Patient.last_name,
                Patient.phone,
            )
            .join(Patient, Patient.id == Treatment.patient_id)
            .where(
                Patient.clinic_id == clinic.id,
                Patient.last_name != "",
                Treatment.kind.in_(wanted_kinds),
                or_(*windows),
            )
            .order_by(Treatment.id)
        )
        for tid, kind, treated_at, pid, first, last, phone in rows:
            key = (first.casefold(), last.casefold(), kind, to_local(treated_at, tz).date())
            found.setdefault(key, []).append(PossibleDuplicate(tid, pid, phone))
    return found


def _spans(days: Sequence[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: a month of treatments is one range."""
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)
