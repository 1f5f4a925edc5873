"""Plan emails through a real SMTP server on loopback (aiosmtpd): 5xx fails, 4xx retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.transports.smtp_email import SmtpEmailTransport
from followup.models import Channel, MessageStatus, ScheduledMessage
from followup.testing.smtp_server import LoopbackSmtpServer
from tests.delivery.support import (
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
)

ADDRESS = "alex@example.org"


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtpServer]:
    with LoopbackSmtpServer.start() as server:
        yield server


def _due_email(session: Session, clock: FixedClock, step: str = "day1") -> int:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, email=ADDRESS)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    message = make_message(
        session, clinic, patient, treatment, send_at=clock.now(), step=step, channel=Channel.EMAIL
    )
    session.commit()
    return message.id


def _message(session: Session, message_id: int) -> ScheduledMessage:
    session.expire_all()
    return session.get_one(ScheduledMessage, message_id)


def test_plan_email_is_multipart_with_one_click_unsubscribe(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    smtp: LoopbackSmtpServer,
) -> None:
    message_id = _due_email(session, clock, step="day7")
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    make_dispatcher(session_factory, clock, templates_dir, email=transport).dispatch_due()

    [received] = smtp.messages
    email = received.message
    assert received.recipients == [ADDRESS]
    assert "microneedling" in email["Subject"].lower()
    assert email["List-Unsubscribe"].startswith("<https://followup.test/u/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Reply-To"] == "desk@bowvalley.test"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Hi Alex," in text
    assert "https://followup.test/r/" in text  # the signed check-in links
    assert "https://followup.test/r/" in html
    assert _message(session, message_id).status is MessageStatus.SENT


def test_smtp_5xx_fails_the_message_permanently(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    smtp: LoopbackSmtpServer,
) -> None:
    message_id = _due_email(session, clock)
    smtp.refuse(ADDRESS, "550 5.1.1 No such user here")
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    make_dispatcher(session_factory, clock, templates_dir, email=transport).dispatch_due()

    message = _message(session, message_id)
    assert (message.status, message.error_code, message.attempts) == (
        MessageStatus.FAILED, "550", 1,
    )  # fmt: skip
    assert "No such user" in (message.error_message or "")


def test_smtp_4xx_is_retried_after_backoff(
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    smtp: LoopbackSmtpServer,
) -> None:
    message_id = _due_email(session, clock)
    smtp.refuse(ADDRESS, "451 4.3.0 Mailbox temporarily unavailable")
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    dispatcher = make_dispatcher(session_factory, clock, templates_dir, email=transport)

    assert dispatcher.dispatch_due()["retry"] == 1
    message = _message(session, message_id)
    assert (message.status, message.error_code) == (MessageStatus.RETRY, "451")
    session.rollback()
    smtp.handler.refusals.clear()
    clock.advance(timedelta(minutes=1))
    assert dispatcher.dispatch_due()["sent"] == 1
    assert _message(session, message_id).attempts == 2
    assert len(smtp.messages) == 1
