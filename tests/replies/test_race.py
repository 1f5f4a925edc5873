"""Twilio may deliver the same message twice at once (a retry racing a slow first answer).
The unique MessageSid makes the second transaction wait for the first, then back off:
one stored reply, one escalation, one auto-reply."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.messages.automatic import reply_texts
from followup.models import Escalation, InboundMessage, MessageKind, ScheduledMessage
from followup.replies import default_lexicon
from followup.replies.receive import InboundOutcome, ReplyDeps, receive_sms
from followup.replies.sms import parse_twilio_form
from tests.factories import TEMPLATES_DIR
from tests.replies.support import make_world, twilio_params


def _deps() -> ReplyDeps:
    return ReplyDeps(default_lexicon(), reply_texts(TEMPLATES_DIR), TEMPLATES_DIR)


def _wait_until_blocked(engine: Engine, thread: threading.Thread) -> None:
    """On PostgreSQL, until the second transaction waits on the first one's row lock."""
    if engine.dialect.name != "postgresql":
        return  # SQLite's BEGIN IMMEDIATE makes the second writer wait from the start
    deadline = time.monotonic() + 10
    with engine.connect() as conn:
        while time.monotonic() < deadline and thread.is_alive():
            waiting = conn.execute(
                text(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                    "and datname = current_database()"
                )
            ).scalar()
            if waiting:
                return
            conn.rollback()
            threading.Event().wait(0.01)
    raise AssertionError("the second delivery never waited for the first")


def test_concurrent_duplicate_delivery_has_one_effect(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    with session_factory() as session, session.begin():
        make_world(session, clock)
    sms = parse_twilio_form(twilio_params("worse, lots of pus"))
    second: list[InboundOutcome] = []

    def deliver_again() -> None:
        with session_factory() as other, other.begin():
            second.append(receive_sms(other.connection(), _deps(), sms, clock.now()))

    with session_factory() as first_session, first_session.begin():
        first = receive_sms(first_session.connection(), _deps(), sms, clock.now())
        racer = threading.Thread(target=deliver_again)
        racer.start()
        _wait_until_blocked(engine, racer)
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert first.duplicate is False
    assert first.reply_text is not None
    assert second == [InboundOutcome(None, None, None, duplicate=True)]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert session.scalar(select(func.count()).select_from(Escalation)) == 1
        alerts = session.scalar(
            select(func.count())
            .select_from(ScheduledMessage)
            .where(ScheduledMessage.kind == MessageKind.STAFF_ALERT)
        )
        assert alerts == 3
