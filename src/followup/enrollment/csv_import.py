"""Bulk import of treatments from a booking system's CSV file, in short transactions.

1. Every row is read and checked (`csv_rows`, the rules of every other way in), with no
   database at all; each refused row is reported with its line and the fields at fault.
2. Duplicates are looked up in batches: a row already enrolled (`find_duplicate`'s rule)
   or repeated in the file is refused; a row whose patient's name is enrolled for that
   treatment and day under another number is kept, with a warning.
3. Unless it is a check only, the good rows are written in batches of BATCH_ROWS, each in
   a transaction of its own that looks for duplicates once more (the same patient may have
   been enrolled meanwhile). A row is written whole or not at all.

Why batches: SQLite lets one transaction write at a time, and a 50,000-row import written
in one transaction kept every reply from patients waiting for half a minute. A connection
that waits for SQLite's lock polls for it, at most 100 ms apart, so on SQLite the import
also stays out of the database for a little longer than that between two transactions:
whoever was waiting (a patient's reply, in this process or another) gets in. PostgreSQL
writers of different rows do not wait for each other, and the import does not pause.

If an import stops part-way (the database went away, the server is shutting down), the
batches already written stay and the report says how many; importing the same file again
refuses those as already enrolled and writes the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followup.core.audit import record_audit
from followup.enrollment.bulk import enrollment_key, find_existing, insert_enrollments
from followup.enrollment.csv_rows import Progress, Row, RowProblem, check_rows, row_name
from followup.enrollment.duplicates import NameKey, PossibleDuplicate, enrollments_by_name, name_key
from followup.enrollment.validation import Plans, ValidEnrollment
from followup.models import Clinic

log = logging.getLogger(__name__)

BATCH_ROWS = 200  # rows written per transaction: a fraction of a second on SQLite
LOOKUP_ROWS = 1000  # rows whose duplicates are looked up per (read-only) transaction
SQLITE_TURN_SECONDS = 0.15  # SQLite's busy handler polls at most every 100 ms
_T = TypeVar("_T")
Candidate = tuple[int, ValidEnrollment]


class ImportStopped(Exception):
    """Raised by a progress callback to stop an import between two batches."""


@dataclass
class ImportReport:
    rows: int = 0
    valid: list[Candidate] = field(default_factory=list)  # checked, not duplicates
    problems: list[RowProblem] = field(default_factory=list)  # refused rows, by line
    warnings: list[RowProblem] = field(default_factory=list)  # kept rows to look at
    imported: int = 0
    dry_run: bool = True
    stopped: str | None = None  # why the import ended before its last batch

    @property
    def accepted(self) -> int:
        """Rows that passed the check (a check only: rows that would be imported)."""
        return len(self.valid)


def check_csv(
    sessions: sessionmaker[Session],
    clinic: Clinic,
    rows: list[Row],
    *,
    templates_dir: Path,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row (from `csv_rows.read_rows`) and look for duplicates; write nothing."""
    valid, problems = check_rows(rows, clinic, Plans(templates_dir), now=now, progress=progress)
    report = ImportReport(rows=len(rows), problems=problems)
    _sort_out_duplicates(sessions, clinic, valid, report)
    report.problems.sort(key=lambda problem: problem.line)
    report.warnings.sort(key=lambda problem: problem.line)
    return report


def import_csv(
    sessions: sessionmaker[Session],
    clinic: Clinic,
    rows: list[Row],
    *,
    templates_dir: Path,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row (from `csv_rows.read_rows`), then (unless `dry_run`) write the good
    ones in batches. Bad rows are reported, never written."""
    report = check_csv(
        sessions, clinic, rows, templates_dir=templates_dir, now=now, progress=progress
    )
    report.dry_run = dry_run
    if not dry_run and report.valid:
        _write(sessions, clinic, report, now=now, actor=actor, progress=progress)
        report.problems.sort(key=lambda problem: problem.line)
    with sessions.begin() as session:
        record_audit(
            session,
            at=now,
            actor=actor,
            action="import.check" if dry_run else "import",
            clinic_id=clinic.id,
            detail={
                "rows": report.rows,
                "imported": report.imported,
                "rejected": len(report.problems),
                "warnings": len(report.warnings),
            }
            | ({"stopped": report.stopped} if report.stopped else {}),
        )
    log.info(
        "csv import clinic=%s rows=%d imported=%d refused=%d dry_run=%s stopped=%s",
        clinic.id, report.rows, report.imported, len(report.problems), dry_run,
        report.stopped or "-",
    )  # fmt: skip
    return report


def _sort_out_duplicates(
    sessions: sessionmaker[Session], clinic: Clinic, valid: list[Candidate], report: ImportReport
) -> None:
    """Refuse rows already enrolled, then repeats within the file (the database reason
    first: "duplicate of line 7" is no help if line 7 was refused too); warn of the same
    name on another number."""
    first_line: dict[tuple[object, ...], int] = {}
    first_by_name: dict[NameKey, tuple[int, str]] = {}
    for batch in _batches(valid, LOOKUP_ROWS):
        valids = [v for _, v in batch]
        with _transaction(sessions) as session:
            existing = find_existing(session, clinic, valids)
            keys = {line: name_key(clinic, v) for line, v in batch}
            days = {key[3] for key in keys.values() if key}
            by_name = enrollments_by_name(session, clinic, days, {v.plan.name for v in valids})
        for line, candidate in batch:
            key = enrollment_key(clinic, candidate)
            treatment_id = existing.treatments.get(key)
            if treatment_id is not None:
                reason = f"already enrolled: treatment #{treatment_id} for this patient on that day"
                report.problems.append(RowProblem(line, "duplicate", reason, _name(candidate)))
            elif key in first_line:
                reason = f"duplicate of line {first_line[key]} in this file"
                report.problems.append(RowProblem(line, "duplicate", reason, _name(candidate)))
            else:
                first_line[key] = line
                report.valid.append((line, candidate))
                name = keys[line]
                if name is not None:
                    others = [m for m in by_name.get(name, []) if m.phone != candidate.phone]
                    _warn_same_name(report, line, candidate, name, others, first_by_name)


def _warn_same_name(
    report: ImportReport,
    line: int,
    candidate: ValidEnrollment,
    name: NameKey,
    in_database: list[PossibleDuplicate],
    first_by_name: dict[NameKey, tuple[int, str]],
) -> None:
    earlier = first_by_name.setdefault(name, (line, candidate.phone))
    if in_database:
        message = in_database[0].message()
        report.warnings.append(RowProblem(line, "possible duplicate", message, _name(candidate)))
    elif earlier[1] != candidate.phone:
        reason = (
            f"the same name, treatment and day as line {earlier[0]}, with another number:"
            " the same person?"
        )
        report.warnings.append(RowProblem(line, "possible duplicate", reason, _name(candidate)))


def _write(
    sessions: sessionmaker[Session],
    clinic: Clinic,
    report: ImportReport,
    *,
    now: datetime,
    actor: str,
    progress: Progress | None,
) -> None:
    total, done = len(report.valid), 0
    try:
        if progress is not None:
            progress("importing", 0, total)
        for batch in _batches(report.valid, BATCH_ROWS):
            with _transaction(sessions) as session:
                report.imported += _write_batch(session, clinic, batch, report, now, actor)
            done += len(batch)
            if progress is not None:
                progress("importing", done, total)
    except ImportStopped as exc:
        report.stopped = str(exc) or "stopped"
    except SQLAlchemyError as exc:
        log.exception("csv import clinic=%s: a batch failed after %d rows", clinic.id, done)
        report.stopped = f"the database refused a batch after {done} rows ({type(exc).__name__})"


def _write_batch(
    session: Session,
    clinic: Clinic,
    batch: Sequence[Candidate],
    report: ImportReport,
    now: datetime,
    actor: str,
) -> int:
    """Write one batch in the session's transaction; returns how many rows were written."""
    existing = find_existing(session, clinic, [valid for _, valid in batch])
    fresh: list[ValidEnrollment] = []
    for line, valid in batch:
        treatment_id = existing.treatments.get(enrollment_key(clinic, valid))
        if treatment_id is None:
            fresh.append(valid)
        else:  # enrolled since the check, by someone else or an earlier import
            reason = f"already enrolled: treatment #{treatment_id} for this patient on that day"
            report.problems.append(RowProblem(line, "duplicate", reason, _name(valid)))
    insert_enrollments(session, clinic, fresh, existing, now=now, actor=actor)
    return len(fresh)


@contextmanager
def _transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One batch's transaction; on SQLite, followed by a turn out of the database for
    whoever waits for its write lock (see the module docstring)."""
    with sessions() as session:
        with session.begin():
            yield session
        sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        time.sleep(SQLITE_TURN_SECONDS)


def _name(valid: ValidEnrollment) -> str:
    return row_name(valid.request.first_name, valid.request.last_name)


def _batches(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
