"""Bulk import of yesterday's treatments from a CSV file.

Every row is checked before anything is written, with the same rules as the enrollment
form (`validate_enrollment`, and `find_duplicate`'s duplicate rule answered in bulk). Each
bad row is reported with its line number and reason; the good rows are then written in the
caller's one transaction, so a row is imported whole or not at all.

Columns (header row required, any order): first_name, phone, treatment, treated_at
(required); last_name, email, timezone, channel, language, practitioner, consent.
`treated_at` is ISO 8601 (`2026-03-07 14:30` or a date alone, read as the start of that
day); without an offset it is wall-clock time in the row's `timezone` (an IANA name or an
offset like `-07:00`), else in the clinic's zone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from followup.core.audit import record_audit
from followup.enrollment.bulk import enrollment_key, find_existing, insert_enrollments
from followup.enrollment.enroll import (
    EnrollmentError,
    EnrollmentRequest,
    ValidEnrollment,
    parse_language,
    validate_with_plans,
)
from followup.messages.plans import Plan, PlanError, load_plan
from followup.models import ChannelPreference, Clinic

REQUIRED = ("first_name", "phone", "treatment", "treated_at")
OPTIONAL = ("last_name", "email", "timezone", "channel", "language", "practitioner", "consent")
MAX_ROWS = 50_000
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")

Progress = Callable[[str, int, int], None]  # (stage, done, total)
_E = TypeVar("_E", bound=ChannelPreference)


class ImportFileError(ValueError):
    """The file as a whole can't be read (no header, missing columns, too many rows)."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    valid: list[tuple[int, ValidEnrollment]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    imported: int = 0
    dry_run: bool = True


def read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(first line of the row, cells by column) for each data row; line 1 is the header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (line 1 is the header)")
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFileError(f"unknown column(s): {', '.join(unknown)}")
    reader.fieldnames = header
    line = 2
    for count, row in enumerate(reader, start=1):
        if count > MAX_ROWS:
            raise ImportFileError(f"more than {MAX_ROWS} rows; split the file")
        cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if any(cells.values()):  # spreadsheets leave blank lines at the end
            yield line, cells
        line = reader.line_num + 1


def parse_row(cells: dict[str, str], clinic_tz: ZoneInfo) -> EnrollmentRequest:
    """Turn a row's cells into an EnrollmentRequest; EnrollmentError names a bad cell."""
    zone = _row_zone(cells.get("timezone", ""), clinic_tz)
    return EnrollmentRequest(
        first_name=cells["first_name"],
        last_name=cells.get("last_name", ""),
        phone=cells["phone"],
        email=cells.get("email") or None,
        treatment=cells["treatment"],
        treated_at=_treated_at(cells["treated_at"], zone, explicit=bool(cells.get("timezone"))),
        channel=_choice(ChannelPreference, cells.get("channel") or "sms", "channel"),
        language=parse_language(cells.get("language") or "en"),
        practitioner=cells.get("practitioner") or None,
        consent_method=cells.get("consent") or "in_clinic",
    )


def _row_zone(raw: str, clinic_tz: ZoneInfo) -> tzinfo:
    if not raw:
        return clinic_tz
    offset = _OFFSET.match(raw.upper())
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14) or int(minutes or 0) >= 60:  # no place is ahead of +14
            raise EnrollmentError("timezone", f"{raw!r} is not a real UTC offset")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnrollmentError(
            "timezone", f"unknown time zone {raw!r} (use e.g. America/Edmonton or -07:00)"
        ) from None


def _treated_at(raw: str, zone: tzinfo, *, explicit: bool) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise EnrollmentError(
            "treated_at", f"{raw!r} is not a date-time (use e.g. 2026-03-07 14:30)"
        ) from None
    if len(raw) <= 10:  # a date alone: the start of that day, never "in the future" today
        parsed = datetime.combine(date.fromisoformat(raw[:10]), datetime.min.time())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    if explicit and parsed.utcoffset() != parsed.replace(tzinfo=zone).utcoffset():
        raise EnrollmentError(
            "timezone", f"the offset in treated_at {raw!r} disagrees with the timezone column"
        )
    return parsed


def _choice(kind: type[_E], raw: str, name: str) -> _E:
    try:
        return kind(raw.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise EnrollmentError(name, f"{raw!r} is not one of: {allowed}") from None


def check_csv(
    session: Session,
    clinic: Clinic,
    text: str,
    *,
    templates_dir: Path,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate every row; report bad ones; touch nothing."""
    report = ImportReport()
    rows = list(read_rows(text))
    report.rows = len(rows)
    clinic_tz = ZoneInfo(clinic.timezone)
    plans = _plan_cache(templates_dir)
    candidates: list[tuple[int, ValidEnrollment]] = []
    for done, (line, cells) in enumerate(rows, start=1):
        try:
            request = parse_row(cells, clinic_tz)
            valid = validate_with_plans(clinic, request, plans, now=now)
        except EnrollmentError as exc:
            report.problems.append(RowProblem(line, exc.field, str(exc)))
        else:
            candidates.append((line, valid))
        if progress is not None and (done % 250 == 0 or done == len(rows)):
            progress("checking", done, len(rows))
    report.valid = _without_duplicates(session, clinic, candidates, report.problems)
    report.problems.sort(key=lambda problem: problem.line)
    return report


def _plan_cache(templates_dir: Path) -> Callable[[str], Plan]:
    """load_plan, remembered for the length of one import (unknown names too)."""
    known: dict[str, Plan | str] = {}

    def plans(name: str) -> Plan:
        if name not in known:
            try:
                known[name] = load_plan(templates_dir, name)
            except PlanError as exc:
                known[name] = str(exc)
        found = known[name]
        if isinstance(found, str):
            raise PlanError(found)
        return found

    return plans


def _without_duplicates(
    session: Session,
    clinic: Clinic,
    candidates: list[tuple[int, ValidEnrollment]],
    problems: list[RowProblem],
) -> list[tuple[int, ValidEnrollment]]:
    """Drop rows already enrolled in the database, then repeats within the file (the
    database reason first: "duplicate of line 7" is no help if line 7 was refused too)."""
    existing = find_existing(session, clinic, [valid for _, valid in candidates])
    first_line: dict[tuple[object, ...], int] = {}
    kept: list[tuple[int, ValidEnrollment]] = []
    for line, valid in candidates:
        key = enrollment_key(clinic, valid)
        treatment_id = existing.treatments.get(key)
        if treatment_id is not None:
            reason = f"already enrolled: treatment #{treatment_id} for this patient on that day"
            problems.append(RowProblem(line, "duplicate", reason))
        elif key in first_line:
            reason = f"duplicate of line {first_line[key]} in this file"
            problems.append(RowProblem(line, "duplicate", reason))
        else:
            first_line[key] = line
            kept.append((line, valid))
    return kept


def import_csv(
    session: Session,
    clinic: Clinic,
    text: str,
    *,
    templates_dir: Path,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row, then (unless `dry_run`) write the good ones in the caller's
    transaction. Bad rows are reported, never written; the caller commits."""
    report = check_csv(
        session, clinic, text, templates_dir=templates_dir, now=now, progress=progress
    )
    report.dry_run = dry_run
    if dry_run or not report.valid:
        return report
    valids = [valid for _, valid in report.valid]
    if progress is not None:
        progress("importing", 0, len(valids))
    existing = find_existing(session, clinic, valids)
    insert_enrollments(session, clinic, valids, existing, now=now, actor=actor)
    report.imported = len(valids)
    record_audit(
        session,
        at=now,
        actor=actor,
        action="import",
        clinic_id=clinic.id,
        detail={"rows": report.rows, "imported": report.imported, "rejected": len(report.problems)},
    )
    if progress is not None:
        progress("importing", len(valids), len(valids))
    return report
