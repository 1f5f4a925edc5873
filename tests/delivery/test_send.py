"""Claim, render, send and record: the dispatcher against the real Twilio SDK and the loopback
double, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.db import transaction
from followup.core.metrics import INSTRUMENTS
from followup.delivery.outcomes import opt_out_patient
from followup.delivery.send import Dispatcher
from followup.delivery.transports.base import NullTransport, OutgoingSms, SendResult
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.models import Channel, MessageKind, MessageStatus, Patient, ScheduledMessage
from followup.testing.twilio_double import TwilioDouble
from tests.delivery.support import (
    SENDER,
    events_of,
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
    statuses,
)


def _plan_messages(
    session: Session, clock: FixedClock, *, phone: str = "+14035551234", email: str | None = None
) -> list[ScheduledMessage]:
    """One patient treated yesterday: day1 due now, day3 and day7 later."""
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, phone=phone, email=email)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    now = clock.now()
    messages = [
        make_message(session, clinic, patient, treatment, send_at=now, step="day1"),
        make_message(
            session, clinic, patient, treatment, send_at=now + timedelta(days=2), step="day3"
        ),
        make_message(
            session, clinic, patient, treatment, send_at=now + timedelta(days=6), step="day7"
        ),
    ]
    session.commit()
    return messages


def test_due_plan_sms_is_rendered_sent_once_and_logged(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    day1, day3, _ = _plan_messages(session, clock)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)

    counts = dispatcher.dispatch_due()

    assert counts["sent"] == 1
    [accepted] = double.accepted
    assert accepted.to == "+14035551234"
    assert accepted.from_number == SENDER
    assert accepted.body.startswith("Bow Valley Skin: ")
    assert "Call (403) 555-0148" in accepted.body
    assert accepted.status_callback == "https://followup.test/webhooks/twilio/status"
    session.expire_all()
    sent = session.get_one(ScheduledMessage, day1.id)
    assert sent.status is MessageStatus.SENT
    assert sent.provider_id == accepted.sid
    assert sent.attempts == 1
    assert sent.lease_owner is None
    assert events_of(session, day1.id) == [("scheduled", "sending"), ("sending", "sent")]
    assert session.get_one(ScheduledMessage, day3.id).status is MessageStatus.SCHEDULED
    session.rollback()  # SQLite: a reader's open transaction holds the write lock
    assert dispatcher.dispatch_due()["sent"] == 0  # nothing sent twice
    assert len(double.accepted) == 1


def test_message_past_its_useful_window_expires_instead_of_going_late(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    day1, day3, _ = _plan_messages(session, clock)
    clock.advance(timedelta(days=2, hours=1))  # the worker was down for two days
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)

    dispatcher.dispatch_due()

    session.expire_all()
    assert session.get_one(ScheduledMessage, day1.id).status is MessageStatus.EXPIRED
    assert session.get_one(ScheduledMessage, day3.id).status is MessageStatus.SENT
    assert len(double.accepted) == 1  # day 3 only: day-1 advice is stale by now


class _StopDuringClaim(Dispatcher):
    """Commits a STOP after the claim transaction and before any send."""

    patient_id: int

    def _send_all(self, jobs):  # type: ignore[no-untyped-def]
        with transaction(self.sessions) as session:
            opt_out_patient(
                session, self.patient_id, now=self.clock.now(), source="sms_stop", actor="test"
            )
        return super()._send_all(jobs)


def test_stop_committed_while_a_batch_is_claimed_wins(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    clinic = make_clinic(session)
    stopper = make_patient(session, clinic, phone="+14035550001", first_name="Sam")
    other = make_patient(session, clinic, phone="+14035550002", first_name="Kim")
    now = clock.now()
    for patient in (stopper, other):
        treatment = make_treatment(session, patient, now - timedelta(days=1))
        make_message(session, clinic, patient, treatment, send_at=now, step="day1")
        make_message(session, clinic, patient, treatment, send_at=now, step="day3")
        make_message(
            session, clinic, patient, None, send_at=now, kind=MessageKind.STAFF_REPLY, body="Hi"
        )
    session.commit()
    plain = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)
    dispatcher = _StopDuringClaim(
        plain.sessions, plain.transports, plain.builder, clock=clock, options=plain.options
    )
    dispatcher.patient_id = stopper.id

    dispatcher.dispatch_due()

    assert {m.to for m in double.accepted} == {"+14035550002"}
    assert len(double.accepted) == 3
    session.expire_all()
    stopped = session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.patient_id == stopper.id)
    ).all()
    assert {m.status for m in stopped} == {MessageStatus.CANCELLED}
    assert all(m.attempts == 0 for m in stopped)


def test_provider_down_then_up_everything_goes_out_after_backoff(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    clinic = make_clinic(session)
    ids = []
    for i in range(5):
        patient = make_patient(session, clinic, phone=f"+1403555100{i}", first_name=f"P{i}")
        treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
        ids.append(make_message(session, clinic, patient, treatment, send_at=clock.now()).id)
    session.commit()
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)
    double.set_down(True)

    assert dispatcher.dispatch_due()["retry"] == 5
    assert dispatcher.dispatch_due()["retry"] == 0  # backing off: not due yet
    clock.advance(timedelta(seconds=31))
    assert dispatcher.dispatch_due()["retry"] == 5  # second attempt, still down
    double.set_down(False)
    clock.advance(timedelta(seconds=29))
    assert dispatcher.dispatch_due()["sent"] == 0  # second backoff is 30-60 s
    clock.advance(timedelta(seconds=31))
    assert dispatcher.dispatch_due()["sent"] == 5

    assert len(double.accepted) == 5
    assert not double.duplicates()
    session.expire_all()
    for message_id in ids:
        message = session.get_one(ScheduledMessage, message_id)
        assert message.status is MessageStatus.SENT
        assert message.attempts == 3
        assert [to for _, to in events_of(session, message_id)] == [
            "sending", "retry", "sending", "retry", "sending", "sent",
        ]  # fmt: skip


def test_transient_errors_give_up_after_max_attempts(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    day1, _, _ = _plan_messages(session, clock)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)
    double.set_down(True)
    for _ in range(4):
        dispatcher.dispatch_due()
        clock.advance(timedelta(minutes=10))
    session.expire_all()
    message = session.get_one(ScheduledMessage, day1.id)
    assert message.status is MessageStatus.FAILED
    assert message.attempts == 4
    assert message.error_code == "503"


def test_21610_opts_the_patient_out_and_cancels_the_rest_of_the_plan(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    day1, day3, day7 = _plan_messages(session, clock)
    double.fail_for_number("+14035551234", 21610)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio)

    dispatcher.dispatch_due()

    session.expire_all()
    failed = session.get_one(ScheduledMessage, day1.id)
    assert failed.status is MessageStatus.FAILED
    assert failed.error_code == "21610"
    assert "unsubscribed" in (failed.error_message or "")
    patient = session.get_one(Patient, failed.patient_id)
    assert patient.opted_out_at == clock.now()
    assert patient.opt_out_source == "carrier"
    for later in (day3, day7):
        assert session.get_one(ScheduledMessage, later.id).status is MessageStatus.CANCELLED


def test_21211_invalid_number_fails_at_once_with_a_readable_reason(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    day1, _, _ = _plan_messages(session, clock)
    double.fail_for_number("+14035551234", 21211)
    make_dispatcher(session_factory, clock, templates_dir, sms=twilio).dispatch_due()
    session.expire_all()
    failed = session.get_one(ScheduledMessage, day1.id)
    assert (failed.status, failed.error_code, failed.attempts) == (MessageStatus.FAILED, "21211", 1)
    assert failed.error_message == "The phone number is not a valid number"


def test_21614_not_a_mobile_falls_back_to_email(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    from followup.delivery.transports.base import NullTransport

    day1, _, _ = _plan_messages(session, clock, email="alex@example.org")
    double.fail_for_number("+14035551234", 21614)
    email = NullTransport()
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=twilio, email=email)

    dispatcher.dispatch_due()
    dispatcher.dispatch_due()

    session.expire_all()
    assert session.get_one(ScheduledMessage, day1.id).status is MessageStatus.FAILED
    fallback = session.scalars(
        select(ScheduledMessage).where(ScheduledMessage.channel == Channel.EMAIL)
    ).one()
    assert (fallback.step, fallback.status) == ("day1", MessageStatus.SENT)
    assert email.email_count == 1


def test_21614_without_an_email_address_just_fails(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    _plan_messages(session, clock)
    double.fail_for_number("+14035551234", 21614)
    make_dispatcher(session_factory, clock, templates_dir, sms=twilio).dispatch_due()
    session.expire_all()
    assert statuses(session) == {"failed": 1, "scheduled": 2}


def test_staff_alert_goes_to_its_recipient_even_after_the_patient_opted_out(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    patient.opted_out_at = clock.now() - timedelta(hours=1)
    make_message(
        session, clinic, patient, None, send_at=clock.now(), kind=MessageKind.STAFF_ALERT,
        body="Urgent reply waiting", recipient="+14035559999",
    )  # fmt: skip
    make_message(
        session, clinic, patient, None, send_at=clock.now(), kind=MessageKind.AUTO_REPLY,
        body="You are unsubscribed",
    )  # fmt: skip
    make_message(
        session, clinic, patient, None, send_at=clock.now() - timedelta(hours=2),
        kind=MessageKind.AUTO_REPLY, body="Thanks for your reply",
    )  # fmt: skip
    session.commit()
    make_dispatcher(session_factory, clock, templates_dir, sms=twilio).dispatch_due()
    bodies = sorted(m.body for m in double.accepted)
    assert bodies == ["Urgent reply waiting", "You are unsubscribed"]
    assert {m.to for m in double.accepted if m.body.startswith("Urgent")} == {"+14035559999"}


class _StopAfterFirstSend(NullTransport):
    """Asks the dispatcher to stop from inside its first send (like a SIGTERM mid-batch)."""

    dispatcher: Dispatcher

    def send_sms(self, message: OutgoingSms) -> SendResult:
        self.dispatcher.request_stop()
        return super().send_sms(message)


def test_stop_mid_batch_gives_back_what_was_claimed_ahead_and_returns(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
) -> None:
    clinic = make_clinic(session)
    ids = []
    for i in range(3):
        patient = make_patient(session, clinic, phone=f"+1403555200{i}", first_name=f"P{i}")
        treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
        ids.append(make_message(session, clinic, patient, treatment, send_at=clock.now()).id)
    session.commit()
    sms = _StopAfterFirstSend()
    # One message per batch: the next batch may be claimed while the first is being sent.
    dispatcher = make_dispatcher(
        session_factory, clock, templates_dir, sms=sms, batch_size=1, concurrency=1
    )
    sms.dispatcher = dispatcher

    counts = dispatcher.dispatch_due()  # returns: no claiming and releasing in a loop

    assert counts["sent"] == 1
    assert sms.sms_count == 1
    session.expire_all()
    rows = [session.get_one(ScheduledMessage, message_id) for message_id in ids]
    assert [m.status for m in rows].count(MessageStatus.SENT) == 1
    for message in rows:
        if message.status is not MessageStatus.SENT:
            assert message.status is MessageStatus.SCHEDULED
            assert message.attempts == 0
            assert message.lease_owner is None
    dispatcher.close()


def _sample(name: str, **labels: str) -> float:
    """This process's instrument value (they are process-wide: tests compare before/after)."""
    registry = CollectorRegistry()
    for instrument in INSTRUMENTS:
        registry.register(instrument)
    return registry.get_sample_value(name, labels) or 0.0


def test_the_dispatcher_times_claims_and_sends_and_counts_provider_errors(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    _plan_messages(session, clock)
    _plan_messages_for_another(session, clock)
    double.fail_for_number("+14035551234", 21211)
    error = {"channel": "sms", "code": "21211", "kind": "permanent"}
    before = {
        "claims": _sample("followup_claim_duration_seconds_count"),
        "sends": _sample("followup_send_duration_seconds_count", channel="sms"),
        "sent": _sample("followup_send_outcomes_total", channel="sms", outcome="sent"),
        "refused": _sample("followup_send_outcomes_total", channel="sms", outcome="permanent"),
        "errors": _sample("followup_provider_errors_total", **error),
    }
    make_dispatcher(session_factory, clock, templates_dir, sms=twilio).dispatch_due()
    assert _sample("followup_claim_duration_seconds_count") >= before["claims"] + 1
    assert _sample("followup_send_duration_seconds_count", channel="sms") == before["sends"] + 2
    assert _sample("followup_send_outcomes_total", channel="sms", outcome="sent") == (
        before["sent"] + 1
    )
    assert _sample("followup_send_outcomes_total", channel="sms", outcome="permanent") == (
        before["refused"] + 1
    )
    assert _sample("followup_provider_errors_total", **error) == before["errors"] + 1


def _plan_messages_for_another(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session, slug="other", sender="+14035550188")
    patient = make_patient(session, clinic, phone="+14035555678")
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    make_message(session, clinic, patient, treatment, send_at=clock.now(), step="day1")
    session.commit()
