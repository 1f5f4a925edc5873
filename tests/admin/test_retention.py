"""Retention: bodies and reply texts go after the retention period; the counts stay."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.admin.retention import PurgeCount, RetentionError, daily_purge, purge
from followup.core.clock import FixedClock
from followup.delivery.outbox import queue_message, transition
from followup.models import (
    AuditEvent,
    Channel,
    Clinic,
    InboundMessage,
    MessageKind,
    MessageStatus,
    ScheduledMessage,
)
from followup.reporting.reports import build_report
from tests.factories import make_clinic, make_enrollment


def _history(session: Session, clinic: Clinic, now: datetime, age_days: int, n: int) -> None:
    at = now - timedelta(days=age_days)
    result = make_enrollment(
        session, clinic, now=at, phone=f"+140355509{n:02d}", treated_at=at - timedelta(hours=1)
    )
    sent = queue_message(
        session, clinic_id=clinic.id, kind=MessageKind.STAFF_REPLY, channel=Channel.SMS,
        body="Please call us about the redness", at=at, actor="nurse", patient_id=result.patient.id,
    )  # fmt: skip
    transition(session, sent, MessageStatus.SENT, at=at)
    sent.sent_at = at
    queue_message(  # still waiting to go: kept whatever its age
        session, clinic_id=clinic.id, kind=MessageKind.AUTO_REPLY, channel=Channel.SMS,
        body="queued", at=at, actor="system", patient_id=result.patient.id,
    )  # fmt: skip
    session.add(
        InboundMessage(
            provider_sid=f"SM{clinic.id}-{n}", clinic_id=clinic.id, patient_id=result.patient.id,
            treatment_id=result.treatment.id, channel=Channel.SMS, from_address="+14035550900",
            to_address="+14035550199", body="worse, I have a fever", intent="worse", urgent=True,
            matched=["fever"], received_at=at + timedelta(hours=2),
        )
    )  # fmt: skip


@pytest.fixture
def clinics(session: Session, clock: FixedClock) -> tuple[Clinic, Clinic]:
    with session.begin():
        default = make_clinic(session)
        strict = make_clinic(
            session, name="Strict", contact_phone="+14035550177", sender_number=None
        )
        strict.retention_days = 30
        for n, (clinic, age) in enumerate(
            [(default, 100), (default, 10), (strict, 45), (strict, 10)]
        ):
            _history(session, clinic, clock.now(), age, n)
    return default, strict


def _bodies(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count(ScheduledMessage.body))) or 0,
        session.scalar(select(func.count(InboundMessage.body))) or 0,
    )


def test_dry_run_counts_and_changes_nothing(
    session: Session, clock: FixedClock, clinics: tuple[Clinic, Clinic]
) -> None:
    before = _bodies(session)
    session.rollback()
    with session.begin():
        counts = purge(session, older_than_days=90, now=clock.now())
    assert {c.clinic: (c.message_bodies, c.inbound_texts) for c in counts} == {
        "bow-river-skin-clinic": (1, 1),  # 100 days old; the 10-day-old one stays
        "strict": (1, 1),  # the clinic's 30 days win over the default 90
    }
    assert _bodies(session) == before


def test_execute_clears_texts_but_keeps_the_counts(
    session: Session, clock: FixedClock, clinics: tuple[Clinic, Clinic]
) -> None:
    default, _ = clinics
    since = clock.now() - timedelta(days=200)
    report_before = build_report(session, default, since, clock.now()).as_dict()
    session.rollback()
    with session.begin():
        purge(session, older_than_days=90, now=clock.now(), execute=True)
    old = session.scalars(
        select(InboundMessage).where(InboundMessage.body_purged_at.is_not(None))
    ).all()
    assert len(old) == 2
    assert all(m.body is None and m.matched == [] and m.intent == "worse" for m in old)
    queued = session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.status == MessageStatus.SCHEDULED,
                                       ScheduledMessage.body.is_not(None))
    ).all()  # fmt: skip
    assert len(queued) == 4  # pending messages keep their bodies
    assert _bodies(session) == (6, 2)
    assert build_report(session, default, since, clock.now()).as_dict() == report_before
    session.rollback()
    with session.begin():
        again = purge(session, older_than_days=90, now=clock.now(), execute=True)
    assert all(c.message_bodies == c.inbound_texts == 0 for c in again)


def test_retention_must_be_positive(session: Session, clock: FixedClock) -> None:
    with pytest.raises(RetentionError):
        purge(session, older_than_days=0, now=clock.now())


def _purge_audits(session: Session) -> list[tuple[str, int | None]]:
    return [
        (actor, clinic_id)
        for actor, clinic_id in session.execute(
            select(AuditEvent.actor, AuditEvent.clinic_id)
            .where(AuditEvent.action == "retention.purge")
            .order_by(AuditEvent.id)
        )
    ]


def test_the_daily_purge_runs_once_a_day_whichever_worker_asks(
    session: Session, clock: FixedClock, clinics: tuple[Clinic, Clinic]
) -> None:
    default, strict = clinics
    session.rollback()
    with session.begin():
        first = daily_purge(session, now=clock.now(), default_days=90, runner="worker-a")
    with session.begin():
        second = daily_purge(
            session, now=clock.now() + timedelta(hours=2), default_days=90, runner="worker-b"
        )
    assert first is not None
    assert {c.clinic: c.message_bodies for c in first} == {default.slug: 1, strict.slug: 1}
    assert second is None  # the same UTC day: already done
    assert _purge_audits(session) == [("worker-a", default.id), ("worker-a", strict.id)]
    session.rollback()
    with session.begin():
        next_day = daily_purge(
            session, now=clock.now() + timedelta(days=1), default_days=90, runner="worker-b"
        )
    assert next_day is not None
    assert all(c.message_bodies == c.inbound_texts == 0 for c in next_day)  # idempotent


def test_without_a_default_only_clinics_with_their_own_period_are_purged(
    session: Session, clock: FixedClock, clinics: tuple[Clinic, Clinic]
) -> None:
    _, strict = clinics
    session.rollback()
    with session.begin():
        counts = daily_purge(session, now=clock.now(), default_days=None, runner="worker-a")
    assert counts is not None
    assert [(c.clinic, c.retention_days, c.from_clinic_setting) for c in counts] == [
        (strict.slug, 30, True)
    ]


def test_two_workers_racing_for_the_days_purge_run_it_once(
    session_factory: sessionmaker[Session], clock: FixedClock, clinics: tuple[Clinic, Clinic]
) -> None:
    start = threading.Barrier(2)
    results: dict[str, list[PurgeCount] | None] = {}

    def worker(name: str) -> None:
        start.wait(timeout=30)
        with session_factory.begin() as own:
            results[name] = daily_purge(own, now=clock.now(), default_days=90, runner=name)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(result is None for result in results.values()) == [False, True]
    with session_factory() as check:
        assert len(_purge_audits(check)) == 2  # one purge: two clinics, audited once each


def test_purge_removes_the_kept_words_of_sent_plan_messages_and_says_when(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
        at = clock.now() - timedelta(days=100)
        result = make_enrollment(session, clinic, now=at, treated_at=at - timedelta(hours=1))
        day1 = result.messages[0]
        day1.subject, day1.body, day1.sent_at = None, "Bow River: Hi Maya! Redness is normal.", at
        transition(session, day1, MessageStatus.DELIVERED, at=at)
        message_id = day1.id
    with session.begin():
        purge(session, older_than_days=90, now=clock.now(), execute=True)
    session.expire_all()
    purged = session.get_one(ScheduledMessage, message_id)
    assert (purged.body, purged.subject) == (None, None)
    assert purged.body_purged_at == clock.now()
    assert purged.status is MessageStatus.DELIVERED  # the row and its counts stay
