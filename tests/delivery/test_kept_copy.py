"""What was sent stays what was sent: the words a transport took are kept on the message,
never rewritten by a later template edit, and sent again as they were on a resend."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.outbox import queue_message, transition
from followup.delivery.transports.smtp_email import SmtpEmailTransport
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.enrollment.plan_actions import resend_message
from followup.models import (
    Channel,
    Clinic,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
)
from followup.testing.smtp_server import LoopbackSmtpServer
from followup.testing.twilio_double import TwilioDouble
from tests.delivery.support import (
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
)
from tests.factories import make_staff

ADDRESS = "alex@example.org"


@dataclass(frozen=True)
class Kept:
    status: MessageStatus
    subject: str | None
    body: str | None


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtpServer]:
    with LoopbackSmtpServer.start() as server:
        yield server


@pytest.fixture
def own_templates(templates_dir: Path, tmp_path: Path) -> Path:
    """A copy of the message templates this test may edit."""
    copy = tmp_path / "messages"
    shutil.copytree(templates_dir, copy)
    return copy


def _due(
    session: Session,
    clock: FixedClock,
    *,
    channel: Channel = Channel.SMS,
    phone: str = "+14035551234",
    first_name: str = "Alex",
) -> int:
    clinic = make_clinic(session, slug=f"bow-{phone[-4:]}", sender=f"+1403555{phone[-4:]}")
    patient = make_patient(session, clinic, phone=phone, email=ADDRESS, first_name=first_name)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    message = make_message(
        session, clinic, patient, treatment, send_at=clock.now(), channel=channel
    )
    session.commit()
    return message.id


def _kept(session: Session, message_id: int) -> Kept:
    """The message's status and kept words, read in a transaction of their own."""
    session.expire_all()
    message = session.get_one(ScheduledMessage, message_id)
    kept = Kept(message.status, message.subject, message.body)
    session.rollback()  # SQLite: a reader's open transaction would hold up the dispatcher
    return kept


def test_plan_sms_keeps_exactly_the_body_twilio_was_given(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    message_id = _due(session, clock)

    make_dispatcher(session_factory, clock, templates_dir, sms=twilio).dispatch_due()

    [accepted] = double.accepted
    kept = _kept(session, message_id)
    assert kept.status is MessageStatus.SENT
    assert kept.body == accepted.body
    assert (kept.body or "").startswith("Bow Valley Skin: Redness like a mild sunburn")
    assert kept.subject is None


def test_plan_email_keeps_the_subject_and_text_the_smtp_server_received(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    smtp: LoopbackSmtpServer,
) -> None:
    message_id = _due(session, clock, channel=Channel.EMAIL)
    transport = SmtpEmailTransport(smtp.host, smtp.port)

    make_dispatcher(session_factory, clock, templates_dir, email=transport).dispatch_due()

    [received] = smtp.messages
    kept = _kept(session, message_id)
    assert kept.subject == received.message["Subject"]
    assert kept.subject == "Day 1 after your microneedling: what to expect"
    plain = received.message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == kept.body  # CRLF on the wire
    assert "Hi Alex," in (kept.body or "")


def test_ready_written_email_keeps_the_subject_it_went_with(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    smtp: LoopbackSmtpServer,
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, email=ADDRESS)
    message = queue_message(
        session, clinic_id=clinic.id, kind=MessageKind.STAFF_REPLY, channel=Channel.EMAIL,
        body="Please call us today.", at=clock.now(), actor="nurse@example.com",
        patient_id=patient.id,
    )  # fmt: skip
    session.commit()
    transport = SmtpEmailTransport(smtp.host, smtp.port)

    make_dispatcher(session_factory, clock, templates_dir, email=transport).dispatch_due()

    [received] = smtp.messages
    kept = _kept(session, message.id)
    assert (kept.subject, kept.body) == ("A message from your clinic", "Please call us today.")
    assert received.message["Subject"] == kept.subject


def test_a_template_edit_after_sending_changes_neither_the_kept_words_nor_a_resend(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    own_templates: Path,
    double: TwilioDouble,
    twilio: TwilioSmsTransport,
) -> None:
    first_id = _due(session, clock)
    make_dispatcher(session_factory, clock, own_templates, sms=twilio).dispatch_due()
    sent_words = _kept(session, first_id).body
    template = own_templates / "microneedling" / "day1.sms.en.txt"
    template.write_text(
        template.read_text().replace("Redness like a mild sunburn", "Hello again! Redness")
    )
    # The carrier could not deliver it; staff send it again after the edit.
    with session.begin():
        message = session.get_one(ScheduledMessage, first_id)
        transition(session, message, MessageStatus.UNDELIVERED, at=clock.now(), actor="twilio")
        staff = make_staff(session, session.get_one(Clinic, message.clinic_id))
        patient = session.get_one(Patient, message.patient_id)
        resend_message(session, message, patient, staff, clock.now())
    second_id = _due(session, clock, phone="+14035555678", first_name="Sam")

    make_dispatcher(session_factory, clock, own_templates, sms=twilio).dispatch_due()

    first, *later = double.accepted
    [resent] = [m for m in later if m.to == first.to]
    [new] = [m for m in later if m.to != first.to]
    assert resent.body == first.body == sent_words  # the words the patient was first sent
    assert _kept(session, first_id).body == sent_words
    assert "Hello again!" in new.body  # the edit does apply to what is sent from now on
    assert _kept(session, second_id).body == new.body
