"""Expired `sending` leases are settled, never resent blindly, never dropped silently."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.db import transaction
from followup.delivery.claim import claim_due
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.send import Dispatcher
from followup.delivery.transports.base import NullTransport
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.models import Channel, MessageStatus, ScheduledMessage
from followup.testing.twilio_double import TwilioDouble
from tests.delivery.support import (
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
)


def _transport(double: TwilioDouble, timeout: float = 5) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=timeout
    )


def _claimed_by_dead_worker(
    session: Session,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    channel: Channel = Channel.SMS,
) -> int:
    """A due message claimed by a worker that then died (its lease: 60 s)."""
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, email="alex@example.org")
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    now = clock.now()
    message = make_message(session, clinic, patient, treatment, send_at=now, channel=channel)
    session.commit()
    with transaction(sessions) as claiming:
        claim_due(claiming, owner="dead-worker", now=clock.now(), limit=10, lease_seconds=60)
    return message.id


def _status(session: Session, message_id: int) -> ScheduledMessage:
    session.expire_all()
    return session.get_one(ScheduledMessage, message_id)


def _send_as_dead_worker_did(dispatcher: Dispatcher, session: Session, message_id: int) -> str:
    """Hand the provider exactly what the dead worker would have sent; return the SID."""
    message = session.get_one(ScheduledMessage, message_id)
    [job] = dispatcher.builder.build(session, [message], dispatcher.clock.now())
    session.rollback()
    return dispatcher.transports.sms.send_sms(dispatcher.outgoing_sms(job)).provider_id


def test_lease_not_yet_expired_is_left_alone(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    clock.advance(timedelta(seconds=59))
    dispatcher = make_dispatcher(session_factory, clock, templates_dir)
    assert sum(recover_stale_claims(dispatcher).values()) == 0
    assert _status(session, message_id).status is MessageStatus.SENDING


def test_recorded_provider_id_means_sent(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    session.get_one(ScheduledMessage, message_id).provider_id = "SM" + "b" * 32
    session.commit()
    clock.advance(timedelta(seconds=61))
    counts = recover_stale_claims(make_dispatcher(session_factory, clock, templates_dir))
    assert counts == {"sent": 1}
    assert _status(session, message_id).status is MessageStatus.SENT


def test_provider_lists_the_message_so_it_is_sent_with_that_id(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=_transport(double))
    sid = _send_as_dead_worker_did(dispatcher, session, message_id)
    clock.advance(timedelta(seconds=61))

    assert recover_stale_claims(dispatcher) == {"sent": 1}
    message = _status(session, message_id)
    assert (message.status, message.provider_id) == (MessageStatus.SENT, sid)
    session.rollback()
    dispatcher.dispatch_due()
    assert len(double.accepted) == 1


def test_provider_never_got_it_so_it_is_queued_again_and_sent_once(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    clock.advance(timedelta(seconds=61))
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=_transport(double))

    assert recover_stale_claims(dispatcher) == {"requeued": 1}
    assert _status(session, message_id).status is MessageStatus.RETRY
    session.rollback()
    dispatcher.dispatch_due()
    message = _status(session, message_id)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    assert len(double.accepted) == 1


def test_email_cannot_be_looked_up_so_it_needs_review(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock, Channel.EMAIL)
    clock.advance(timedelta(seconds=61))
    counts = recover_stale_claims(make_dispatcher(session_factory, clock, templates_dir))
    assert counts == {"needs_review": 1}
    message = _status(session, message_id)
    assert message.status is MessageStatus.NEEDS_REVIEW
    assert message.lease_owner is None


def test_transport_that_cannot_tell_leaves_it_for_review(
    session: Session, session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    clock.advance(timedelta(seconds=61))
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=NullTransport())
    assert recover_stale_claims(dispatcher) == {"needs_review": 1}
    assert _status(session, message_id).status is MessageStatus.NEEDS_REVIEW


def test_provider_unreachable_during_recovery_defers_the_decision(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
) -> None:
    message_id = _claimed_by_dead_worker(session, session_factory, clock)
    clock.advance(timedelta(seconds=61))
    double.set_down(True)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, sms=_transport(double))
    assert recover_stale_claims(dispatcher) == {"deferred": 1}
    assert _status(session, message_id).status is MessageStatus.SENDING
    double.set_down(False)
    session.rollback()
    assert recover_stale_claims(dispatcher) == {"requeued": 1}


def test_timeout_after_the_provider_took_it_is_not_resent(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    message_id = make_message(session, clinic, patient, treatment, send_at=clock.now()).id
    session.commit()
    double.hold_answers()  # accepts the message, answers only after our timeout
    dispatcher = make_dispatcher(
        session_factory, clock, templates_dir, sms=_transport(double, timeout=0.3)
    )

    try:
        assert dispatcher.dispatch_due()["unclear"] == 1
    finally:
        double.release_answers()
    message = _status(session, message_id)
    assert message.status is MessageStatus.SENDING  # not retried blindly
    assert message.body is not None  # the words it may have taken, kept for review
    may_have_gone = message.body
    session.rollback()
    assert double.wait_for_accepted(1)  # the request our timeout gave up on has landed
    assert dispatcher.dispatch_due()["sent"] == 0
    clock.advance(timedelta(seconds=61))
    assert recover_stale_claims(dispatcher) == {"sent": 1}
    assert len(double.accepted) == 1
    assert _status(session, message_id).provider_id == double.accepted[0].sid
    assert _status(session, message_id).body == may_have_gone == double.accepted[0].body
