"""A number that texted STOP before anyone enrolled it stays opted out once enrolled:
carriers honour the number's last keyword, whoever the clinic later files it under."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from followup.cli import _register, app
from followup.core.clock import FixedClock
from followup.core.db import make_engine
from followup.enrollment.csv_import import import_csv
from followup.enrollment.csv_rows import read_rows
from followup.enrollment.enroll import OPT_OUT_BEFORE_ENROLLMENT, EnrollmentResult
from followup.models import (
    PENDING_STATUSES,
    AuditEvent,
    ChannelPreference,
    Clinic,
    MessageEvent,
    MessageStatus,
    Patient,
    ScheduledMessage,
)
from followup.replies.actions import opt_in
from tests.factories import TEMPLATES_DIR, make_clinic, make_enrollment
from tests.web_fixtures import make_unknown_text

PHONE = "+14035550142"


def _keyword(session: Session, clinic: Clinic, intent: str, at: datetime) -> None:
    make_unknown_text(session, clinic, PHONE, intent.upper(), at, intent=intent)


def _pending(session: Session, patient_id: int) -> list[ScheduledMessage]:
    return list(
        session.scalars(
            select(ScheduledMessage).where(
                ScheduledMessage.patient_id == patient_id,
                ScheduledMessage.status.in_(PENDING_STATUSES),
            )
        )
    )


def _enroll(session: Session, clinic: Clinic, now: datetime, **kw: object) -> EnrollmentResult:
    return make_enrollment(session, clinic, now=now, first_name="Nora", phone=PHONE, **kw)  # type: ignore[arg-type]


def test_stop_from_an_unknown_number_makes_the_new_patient_start_opted_out(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    stop_at = clock.now() - timedelta(days=2)
    _keyword(session, clinic, "opt_out", stop_at)
    result = _enroll(session, clinic, clock.now())
    session.commit()

    assert result.stop_received_at == stop_at
    patient = session.get(Patient, result.patient.id)
    assert patient is not None
    assert patient.opted_out_at == stop_at
    assert patient.opt_out_source == OPT_OUT_BEFORE_ENROLLMENT
    assert result.messages
    assert _pending(session, patient.id) == []  # no SMS is due
    assert {m.status for m in result.messages} <= {MessageStatus.CANCELLED, MessageStatus.EXPIRED}
    reasons = session.scalars(
        select(MessageEvent.detail).where(MessageEvent.to_status == MessageStatus.CANCELLED)
    ).all()
    assert reasons
    assert set(reasons) == {f"opt-out ({OPT_OUT_BEFORE_ENROLLMENT})"}
    detail = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "enroll")).one()
    assert detail["opted_out"] == OPT_OUT_BEFORE_ENROLLMENT


def test_opt_out_stops_email_too_as_every_opt_out_does(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    _keyword(session, clinic, "opt_out", clock.now() - timedelta(hours=3))
    result = _enroll(
        session, clinic, clock.now(), email="nora@example.com", channel=ChannelPreference.BOTH
    )
    session.commit()
    assert {m.channel.value for m in result.messages} == {"sms", "email"}
    assert _pending(session, result.patient.id) == []


def test_a_later_start_undoes_the_stop(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    _keyword(session, clinic, "opt_out", clock.now() - timedelta(days=2))
    _keyword(session, clinic, "opt_in", clock.now() - timedelta(days=1))
    result = _enroll(session, clinic, clock.now())
    session.commit()
    assert result.stop_received_at is None
    assert result.patient.opted_out_at is None
    assert len(_pending(session, result.patient.id)) == len(result.messages)


def test_a_stop_after_a_start_holds(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    _keyword(session, clinic, "opt_in", clock.now() - timedelta(days=2))
    _keyword(session, clinic, "opt_out", clock.now() - timedelta(days=1))
    result = _enroll(session, clinic, clock.now())
    session.commit()
    assert result.patient.opted_out_at == clock.now() - timedelta(days=1)


def test_a_stop_to_another_clinic_has_no_effect(session: Session, clock: FixedClock) -> None:
    mine = make_clinic(session)
    theirs = make_clinic(session, name="Other Clinic", sender_number="+14035550177")
    _keyword(session, theirs, "opt_out", clock.now() - timedelta(days=1))
    result = _enroll(session, mine, clock.now())
    session.commit()
    assert result.patient.opted_out_at is None
    assert len(_pending(session, result.patient.id)) == len(result.messages)


def test_start_after_enrollment_brings_the_schedule_back(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    _keyword(session, clinic, "opt_out", clock.now() - timedelta(days=1))
    result = _enroll(session, clinic, clock.now())
    session.commit()
    later = clock.now() + timedelta(minutes=5)
    patient = session.get(Patient, result.patient.id)
    assert patient is not None
    assert opt_in(session, [patient], templates_dir=TEMPLATES_DIR, now=later) > 0
    session.commit()
    assert patient.opted_out_at is None
    assert _pending(session, patient.id)


def test_csv_import_applies_the_same_rule(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    stop_at = clock.now() - timedelta(days=1)
    _keyword(session, clinic, "opt_out", stop_at)
    session.commit()
    text = (
        "first_name,phone,treatment,treated_at\n"
        "Nora,403-555-0142,microneedling,2026-03-07 10:00\n"
        "Ana,403-555-7000,microneedling,2026-03-07 10:00\n"
    )
    report = import_csv(
        session_factory,
        clinic,
        read_rows(text),
        templates_dir=TEMPLATES_DIR,
        now=clock.now(),
        actor="test",
    )
    assert report.imported == 2
    nora = session.scalars(select(Patient).where(Patient.first_name == "Nora")).one()
    ana = session.scalars(select(Patient).where(Patient.first_name == "Ana")).one()
    assert (nora.opted_out_at, nora.opt_out_source) == (stop_at, OPT_OUT_BEFORE_ENROLLMENT)
    assert ana.opted_out_at is None
    assert _pending(session, nora.id) == []
    assert _pending(session, ana.id)
    cancelled = session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.patient_id == nora.id)
    ).all()
    assert all(m.updated_at is not None for m in cancelled)  # so a START revives them
    later = clock.now() + timedelta(minutes=5)
    assert opt_in(session, [nora], templates_dir=TEMPLATES_DIR, now=later) > 0


def test_the_cli_says_the_new_patient_is_opted_out(cli_env: URL, clock: FixedClock) -> None:
    engine = make_engine(cli_env)
    try:
        with Session(engine) as session, session.begin():
            clinic = session.scalars(select(Clinic).where(Clinic.slug == "bow-river")).one()
            _keyword(session, clinic, "opt_out", clock.now())
    finally:
        engine.dispose()
    _register()
    args = ["enroll", "--clinic", "bow-river", "--first-name", "Nora", "--phone", PHONE]
    when = ["--treatment", "microneedling", "--treated-at", "2026-03-07T14:00"]
    result = CliRunner().invoke(app, [*args, *when])
    assert result.exit_code == 0, result.output
    assert "opted out: this number texted STOP" in result.output
