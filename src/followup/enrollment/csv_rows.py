"""A booking system's CSV file, read and checked row by row. Pure: no database.

Columns (header row required, any order): first_name, phone, treatment, treated_at
(required); last_name, email, timezone, channel, language, practitioner, consent.
Every row is checked with the rules of every other way in (`validation.check_enrollment`),
so a row is refused for exactly what the form or the API would refuse, field by field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from followup.enrollment.validation import (
    EnrollmentInput,
    FieldError,
    InvalidEnrollment,
    Plans,
    ValidEnrollment,
    check_enrollment,
    printable,
)
from followup.models import Clinic

REQUIRED = ("first_name", "phone", "treatment", "treated_at")
OPTIONAL = ("last_name", "email", "timezone", "channel", "language", "practitioner", "consent")
MAX_ROWS = 50_000
PROGRESS_EVERY = 250  # rows between two progress reports while checking

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Row = tuple[int, dict[str, str]]  # the row's first line in the file, cells by column


class ImportFileError(ValueError):
    """The file as a whole can't be read (no header, missing columns, too many rows, a
    cell the CSV reader gives up on)."""


@dataclass(frozen=True)
class RowProblem:
    """Why one row was refused (or, as a warning, what to look at): one per row."""

    line: int
    field: str  # the column, or several: "phone, treated_at"
    reason: str
    name: str = ""  # the row's first and last name, printable, so a person can find it

    @classmethod
    def of(cls, line: int, errors: Sequence[FieldError], name: str = "") -> RowProblem:
        if len(errors) == 1:
            return cls(line, errors[0].field, errors[0].message, name)
        fields = ", ".join(dict.fromkeys(error.field for error in errors))
        reason = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(line, fields, reason, name)


def row_name(first_name: str, last_name: str) -> str:
    return printable(f"{first_name} {last_name}".strip())


def read_rows(text: str) -> list[Row]:
    """Every data row that has something in it; line 1 is the header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise ImportFileError(f"line 1: the header cannot be read as CSV ({exc})") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (line 1 is the header)")
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise ImportFileError(f"unknown column(s): {shown}")
    reader.fieldnames = header
    rows: list[Row] = []
    line = 2  # where the next row starts (a quoted cell may span lines)
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            # An unclosed quote runs on to the end of the file, past the reader's limit.
            raise ImportFileError(
                f"line {line}: the row cannot be read as CSV ({exc}; an unclosed quote?)"
            ) from None
        if row is None:
            return rows
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(f"more than {MAX_ROWS} rows; split the file")
        cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if any(cells.values()):  # spreadsheets leave blank lines at the end
            rows.append((line, cells))
        line = reader.line_num + 1


def row_input(cells: dict[str, str]) -> EnrollmentInput:
    """A row's cells as the input every way in hands to the checks."""
    return EnrollmentInput(
        first_name=cells["first_name"],
        last_name=cells.get("last_name", ""),
        phone=cells["phone"],
        email=cells.get("email") or None,
        treatment=cells["treatment"],
        treated_at=cells["treated_at"],
        timezone=cells.get("timezone", ""),
        channel=cells.get("channel") or "sms",
        language=cells.get("language") or "en",
        practitioner=cells.get("practitioner") or None,
        consent_method=cells.get("consent") or "in_clinic",
    )


def check_rows(
    rows: list[Row],
    clinic: Clinic,
    plans: Plans,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[list[tuple[int, ValidEnrollment]], list[RowProblem]]:
    """The rows that pass every check, and one problem for each of the others."""
    valid: list[tuple[int, ValidEnrollment]] = []
    problems: list[RowProblem] = []
    for done, (line, cells) in enumerate(rows, start=1):
        try:
            valid.append((line, check_enrollment(row_input(cells), clinic, plans, now=now)))
        except InvalidEnrollment as exc:
            name = row_name(cells.get("first_name", ""), cells.get("last_name", ""))
            problems.append(RowProblem.of(line, exc.errors, name))
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            progress("checking", done, len(rows))
    return valid, problems
