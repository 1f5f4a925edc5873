"""CSV import: every row checked first, bad rows reported by line, good rows imported whole."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.enrollment.bulk import enrollment_key, find_existing, patient_key
from followup.enrollment.csv_import import (
    BATCH_ROWS,
    ImportReport,
    ImportStopped,
    check_csv,
    import_csv,
)
from followup.enrollment.csv_rows import ImportFileError, Progress, read_rows, row_input
from followup.enrollment.enroll import (
    EnrollmentRequest,
    enroll,
    find_duplicate,
    validate_enrollment,
)
from followup.models import (
    AuditEvent,
    ChannelPreference,
    Clinic,
    Language,
    MessageEvent,
    Patient,
    ScheduledMessage,
    Treatment,
)
from tests.enrollment.import_support import BAD_KINDS, build_csv, good_row
from tests.factories import TEMPLATES_DIR, make_clinic, make_enrollment

# What the report says for each kind of bad row: (field, words in the reason).
EXPECTED_REASON = {
    "phone": ("phone", "not a valid phone number"),
    "treatment": ("treatment", "tattoo-removal"),
    "future": ("treated_at", "in the future"),
    "timezone": ("timezone", ""),
    "duplicate_in_file": ("duplicate", "in this file"),
    "duplicate_in_db": ("duplicate", "already enrolled"),
}


def _count(session: Session, column: object) -> int:
    return session.scalar(select(func.count(column))) or 0  # type: ignore[arg-type]


def _clinic_with_one_enrollment(session: Session, clock: FixedClock) -> tuple[Clinic, list[str]]:
    """A clinic where patient P9999 is already enrolled; returns the CSV row for it."""
    with session.begin():
        clinic = make_clinic(session)
        row = good_row(9999, clock.now())
        make_enrollment(
            session,
            clinic,
            now=clock.now(),
            first_name=row[0],
            phone=row[2],
            treatment=row[3],
            treated_at=_clinic_time(row[4]),
        )
    return clinic, row


def _clinic_time(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("America/Edmonton"))


def test_five_percent_bad_rows_of_every_kind_import_exactly_the_good_ones(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic, in_db = _clinic_with_one_enrollment(session, clock)
    csv_file = build_csv(rows=240, bad_every=20, now=clock.now(), in_db=in_db)  # 12 bad = 5%
    assert set(csv_file.bad_lines.values()) == set(BAD_KINDS)

    report = import_csv(
        session_factory,
        clinic,
        read_rows(csv_file.text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
    )

    assert report.rows == 240
    assert report.imported == len(csv_file.good_lines) == 228
    assert [line for line, _ in report.valid] == csv_file.good_lines
    assert {p.line: p.field for p in report.problems} == {
        line: EXPECTED_REASON[kind][0] for line, kind in csv_file.bad_lines.items()
    }
    for problem in report.problems:
        assert EXPECTED_REASON[csv_file.bad_lines[problem.line]][1] in problem.reason
    # One patient and one treatment per good row, plus the one enrolled before.
    assert _count(session, Patient.id) == 229
    assert _count(session, Treatment.id) == 229
    imported_messages = _count(session, ScheduledMessage.id) - 3
    assert imported_messages == sum(len(v.sends) for _, v in report.valid)
    assert _count(session, MessageEvent.id) == _count(session, ScheduledMessage.id)


def test_dry_run_reports_but_writes_nothing(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic, in_db = _clinic_with_one_enrollment(session, clock)
    csv_file = build_csv(rows=40, bad_every=10, now=clock.now(), in_db=in_db)
    report = import_csv(
        session_factory,
        clinic,
        read_rows(csv_file.text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
        dry_run=True,
    )
    assert report.imported == 0
    assert len(report.valid) == 36
    assert len(report.problems) == 4
    assert _count(session, Treatment.id) == 1


def test_imported_rows_look_like_form_enrollments(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic, _ = _clinic_with_one_enrollment(session, clock)
    text = (
        "first_name,phone,treatment,treated_at,channel,email\n"
        "Ana,403-555-7000,microneedling,2026-03-06 15:00,both,ana@example.com\n"
    )
    import_csv(
        session_factory,
        clinic,
        read_rows(text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
    )
    request = EnrollmentRequest(
        first_name="Ana",
        phone="403-555-7000",
        treatment="microneedling",
        treated_at=_clinic_time("2026-03-06 15:00"),
        channel=ChannelPreference.BOTH,
        email="ana@example.com",
    )
    expected = validate_enrollment(clinic, request, templates_dir=TEMPLATES_DIR, now=clock.now())
    patient = session.scalars(select(Patient).where(Patient.first_name == "Ana")).one()
    rows = session.execute(
        select(ScheduledMessage.step, ScheduledMessage.channel, ScheduledMessage.send_at)
        .where(ScheduledMessage.patient_id == patient.id)
        .order_by(ScheduledMessage.send_at, ScheduledMessage.channel)
    ).all()
    assert [(r.step, r.send_at) for r in rows[::2]] == [(s.step, s.send_at) for s in expected.sends]
    assert {r.channel.value for r in rows} == {"sms", "email"}
    assert patient.email == "ana@example.com"
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import"))


def test_language_column_takes_spanish_and_names_an_unknown_one(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic, _ = _clinic_with_one_enrollment(session, clock)
    text = (
        "first_name,phone,treatment,treated_at,language\n"
        "Lucia,403-555-7001,microneedling,2026-03-06 15:00,es\n"
        "Hans,403-555-7002,microneedling,2026-03-06 15:00,de\n"
    )
    report = import_csv(
        session_factory,
        clinic,
        read_rows(text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
    )
    assert [(p.line, p.field) for p in report.problems] == [(3, "language")]
    assert "'de' is not a language we write messages in (use one of: en, fr, es)" in (
        report.problems[0].reason
    )
    lucia = session.scalars(select(Patient).where(Patient.first_name == "Lucia")).one()
    assert lucia.language is Language.ES


def test_bulk_duplicate_rule_agrees_with_find_duplicate(
    session: Session, clock: FixedClock
) -> None:
    clinic, in_db = _clinic_with_one_enrollment(session, clock)
    cells = dict(
        zip(["first_name", "last_name", "phone", "treatment", "treated_at"], in_db, strict=False)
    )
    probes = [
        cells,
        {**cells, "first_name": cells["first_name"].upper()},  # same patient, other case
        {**cells, "treated_at": cells["treated_at"][:10] + " 23:30"},  # same local day
        {**cells, "treatment": "chemical-peel"},  # other treatment
        {**cells, "phone": "403-555-8888"},  # other patient
    ]
    for probe in probes:
        valid = validate_enrollment(
            clinic, row_input(probe), templates_dir=TEMPLATES_DIR, now=clock.now()
        )
        patient, treatment = find_duplicate(session, clinic, valid)
        existing = find_existing(session, clinic, [valid])
        assert existing.patients.get(patient_key(valid)) == (patient.id if patient else None)
        assert existing.treatments.get(enrollment_key(clinic, valid)) == (
            treatment.id if treatment else None
        )


@pytest.mark.parametrize(
    ("cell", "ok"),
    [
        ("-07:00", True),
        ("America/Edmonton", True),
        ("UTC+01:00", True),
        ("+25:00", False),
        ("Mars/Base", False),
        ("-07:61", False),
    ],
)
def test_timezone_column(
    cell: str, ok: bool, session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
    text = (
        "first_name,phone,treatment,treated_at,timezone\n"
        f"Ana,403-555-7000,microneedling,2026-03-06 15:00,{cell}\n"
    )
    report = check_csv(
        session_factory, clinic, read_rows(text), templates_dir=TEMPLATES_DIR, now=clock.now()
    )
    assert (len(report.valid) == 1) is ok
    if not ok:
        assert report.problems[0].field == "timezone"


def test_offset_disagreeing_with_the_zone_is_a_bad_tz(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
    text = (
        "first_name,phone,treatment,treated_at,timezone\n"
        "Ana,403-555-7000,microneedling,2026-03-06T15:00-05:00,America/Edmonton\n"
    )
    report = check_csv(
        session_factory, clinic, read_rows(text), templates_dir=TEMPLATES_DIR, now=clock.now()
    )
    assert [(p.line, p.field) for p in report.problems] == [(2, "timezone")]


def test_line_numbers_count_quoted_line_breaks(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
    text = (
        "first_name,last_name,phone,treatment,treated_at\n"
        'Ana,"Two\nLines",403-555-7000,microneedling,2026-03-06 15:00\n'
        "Bo,X,12,microneedling,2026-03-06 15:00\n"
    )
    report = check_csv(
        session_factory, clinic, read_rows(text), templates_dir=TEMPLATES_DIR, now=clock.now()
    )
    # A line break is not a name: the row is refused, and the next row is still line 4.
    assert [(p.line, p.field) for p in report.problems] == [(2, "last_name"), (4, "phone")]


def test_a_file_without_required_columns_is_refused() -> None:
    with pytest.raises(ImportFileError, match="treated_at"):
        read_rows("first_name,phone,treatment\n")


def test_a_cell_the_reader_gives_up_on_refuses_the_file_with_its_line() -> None:
    text = 'first_name,phone,treatment,treated_at\nAna,1,m,2026-03-06\nBo,"unclosed,2,m,x\n'
    with pytest.raises(ImportFileError, match="line 3"):
        read_rows(text + "x" * 140_000)


def test_an_import_stopped_between_batches_keeps_whole_batches_and_a_rerun_adds_the_rest(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic, in_db = _clinic_with_one_enrollment(session, clock)
    rows = read_rows(
        build_csv(rows=2 * BATCH_ROWS + 50, bad_every=10_000, now=clock.now(), in_db=in_db).text
    )

    def stop_after_the_first_batch(stage: str, done: int, total: int) -> None:
        if stage == "importing" and done >= BATCH_ROWS:
            raise ImportStopped("asked to stop")

    def run(progress: Progress | None = None) -> ImportReport:
        return import_csv(
            session_factory,
            clinic,
            rows,
            templates_dir=TEMPLATES_DIR,
            now=clock.now(),
            actor="test",
            progress=progress,
        )

    first = run(stop_after_the_first_batch)
    assert first.stopped == "asked to stop"
    assert first.imported == BATCH_ROWS
    with session_factory() as check:
        assert _count(check, Treatment.id) == 1 + BATCH_ROWS
        assert _count(check, ScheduledMessage.id) == _count(check, MessageEvent.id)
    again = run()
    assert again.imported == BATCH_ROWS + 50
    assert {p.field for p in again.problems} == {"duplicate"}
    assert len(again.problems) == BATCH_ROWS
    with session_factory() as check:
        assert _count(check, Treatment.id) == 1 + 2 * BATCH_ROWS + 50


def test_check_warns_of_the_same_name_on_another_number_and_imports_the_row(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
        request = EnrollmentRequest(
            first_name="Maya",
            last_name="Rossi",
            phone="+14035550101",
            treatment="microneedling",
            treated_at=_clinic_time("2026-03-06 09:00"),
        )
        enroll(session, clinic, request, templates_dir=TEMPLATES_DIR, now=clock.now(), actor="t")
    text = (
        "first_name,last_name,phone,treatment,treated_at\n"
        "maya,ROSSI,403-555-7001,microneedling,2026-03-06 15:00\n"  # line 2: as in the db
        "Ana,Lee,403-555-7002,microneedling,2026-03-06 15:00\n"
        "ANA,lee,403-555-7003,microneedling,2026-03-06 16:00\n"  # line 4: as line 3
        "Ana,Lee,403-555-7004,microneedling,2026-03-05 16:00\n"  # another day
        "Bo,,403-555-7005,microneedling,2026-03-06 15:00\n"
        "Bo,,403-555-7006,microneedling,2026-03-06 15:00\n"  # no last name: no warning
    )
    report = import_csv(
        session_factory,
        clinic,
        read_rows(text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
    )
    assert [(w.line, w.field) for w in report.warnings] == [
        (2, "possible duplicate"),
        (4, "possible duplicate"),
    ]
    assert "(403) 555-0101" in report.warnings[0].reason
    assert "line 3" in report.warnings[1].reason
    assert report.imported == 6
    assert report.problems == []
