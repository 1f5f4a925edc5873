"""Enrolling a patient writes patient, treatment and schedule together, or nothing at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.enrollment.enroll import DuplicateEnrollment, EnrollmentError
from followup.models import (
    AuditEvent,
    ChannelPreference,
    Clinic,
    MessageEvent,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from tests.factories import make_clinic, make_enrollment


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_enroll_writes_patient_treatment_and_three_steps(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    # 2026-03-07 14:00 in Edmonton; day 1 is after the spring-forward on 2026-03-08.
    treated_at = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    result = make_enrollment(session, clinic, now=clock.now(), treated_at=treated_at)
    session.commit()

    sends = [(m.step, m.channel.value, m.send_at) for m in result.messages]
    assert sends == [
        ("day1", "sms", datetime(2026, 3, 8, 16, 0, tzinfo=UTC)),
        ("day3", "sms", datetime(2026, 3, 10, 16, 0, tzinfo=UTC)),
        ("day7", "sms", datetime(2026, 3, 14, 16, 0, tzinfo=UTC)),
    ]
    assert all(m.status is MessageStatus.SCHEDULED for m in result.messages)
    assert all(m.next_attempt_at == m.send_at for m in result.messages)
    assert result.patient.phone == "+14035550101"
    assert _count(session, MessageEvent) == 3
    assert session.scalar(select(AuditEvent.action)) == "enroll"


def test_times_come_back_timezone_aware_utc(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    make_enrollment(session, clinic, now=clock.now())
    session.commit()
    session.expire_all()
    message = session.scalars(select(ScheduledMessage)).first()
    assert message is not None
    assert message.send_at.tzinfo is not None
    assert message.send_at.utcoffset() == timedelta(0)


def test_both_channels_make_a_row_per_channel(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    result = make_enrollment(
        session, clinic, now=clock.now(), email="maya@example.com", channel=ChannelPreference.BOTH
    )
    assert sorted((m.step, m.channel.value) for m in result.messages) == [
        ("day1", "email"), ("day1", "sms"), ("day3", "email"), ("day3", "sms"),
        ("day7", "email"), ("day7", "sms"),
    ]  # fmt: skip


def test_late_enrollment_sends_what_is_still_useful_and_expires_the_rest(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    # Treated four days ago (Tue 14:00 local; now is Sat 14:00): day 1 is past its use
    # (day 3 has come), day 3 is late but still useful (day 7 hasn't), so it goes now.
    now = clock.now()
    result = make_enrollment(session, clinic, now=now, treated_at=now - timedelta(days=4))
    by_step = {m.step: m for m in result.messages}
    assert by_step["day1"].status is MessageStatus.EXPIRED
    assert by_step["day3"].status is MessageStatus.SCHEDULED
    assert by_step["day3"].send_at == now
    assert by_step["day7"].status is MessageStatus.SCHEDULED
    assert by_step["day7"].send_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def test_same_patient_same_treatment_day_is_refused(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    first = make_enrollment(session, clinic, now=clock.now())
    session.commit()
    with pytest.raises(DuplicateEnrollment) as caught:
        make_enrollment(
            session, clinic, now=clock.now(), treated_at=clock.now() - timedelta(minutes=30)
        )
    assert caught.value.treatment_id == first.treatment.id
    session.rollback()
    assert _count(session, Treatment) == 1
    assert _count(session, ScheduledMessage) == 3


def test_returning_patient_gets_a_new_treatment_not_a_new_patient(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    make_enrollment(session, clinic, now=clock.now(), treated_at=clock.now() - timedelta(days=40))
    make_enrollment(session, clinic, now=clock.now())
    session.commit()
    assert _count(session, Patient) == 1
    assert _count(session, Treatment) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 403 555 01"}, "phone"),
        ({"phone": "+44 20 7946 0958"}, "phone"),  # a London landline: cannot take SMS
        ({"treatment": "tattoo-removal"}, "treatment"),
        ({"first_name": "  "}, "first_name"),
        ({"channel": ChannelPreference.EMAIL}, "email"),
        ({"email": "not-an-address", "channel": ChannelPreference.BOTH}, "email"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    session: Session, clock: FixedClock, overrides: dict[str, object], field: str
) -> None:
    clinic = make_clinic(session)
    session.commit()
    with pytest.raises(EnrollmentError) as caught:
        make_enrollment(session, clinic, now=clock.now(), **overrides)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value)
    session.rollback()
    assert _count(session, Patient) == 0
    assert _count(session, ScheduledMessage) == 0


def test_treatment_in_the_future_is_refused(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    with pytest.raises(EnrollmentError, match="future"):
        make_enrollment(
            session, clinic, now=clock.now(), treated_at=clock.now() + timedelta(hours=2)
        )


def test_local_number_uses_the_clinic_country(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    result = make_enrollment(session, clinic, now=clock.now(), phone="(587) 555-0199")
    assert result.patient.phone == "+15875550199"


def test_two_enrollments_of_one_number_at_once_make_one_schedule(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """Two transactions race: the second waits for the first, then sees the duplicate."""
    with session_factory.begin() as session:
        clinic_id = make_clinic(session).id
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def enroll_once(minutes_ago: int) -> None:
        with session_factory() as session:
            start.wait()
            try:
                with session.begin():
                    clinic = session.get(Clinic, clinic_id)
                    assert clinic is not None
                    make_enrollment(
                        session,
                        clinic,
                        now=clock.now(),
                        treated_at=clock.now() - timedelta(minutes=minutes_ago),
                    )
                outcomes.append("enrolled")
            except DuplicateEnrollment:
                outcomes.append("duplicate")

    threads = [threading.Thread(target=enroll_once, args=(m,)) for m in (30, 40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["duplicate", "enrolled"]
    with session_factory() as session:
        assert _count(session, Patient) == 1
        assert _count(session, ScheduledMessage) == 3
