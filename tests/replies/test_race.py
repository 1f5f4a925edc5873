"""Twilio may deliver the same message twice at once (a retry racing a slow first answer).
The unique MessageSid makes the second transaction wait for the first, then back off:
one stored reply, one escalation, one auto-reply."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, event, func, select, text
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


@contextmanager
def sqlite_overlap_seen(engine: Engine, racer: Callable[[], bool]) -> Iterator[threading.Event]:
    """On SQLite, set the event once the racer's transaction has tried to begin while the
    first delivery holds the write lock. The racer's BEGIN IMMEDIATE is first tried without
    waiting: "database is locked" proves the overlap; then it begins as usual, waiting for
    the lock. (The engine's own begin listeners are put back afterwards.)"""
    contended = threading.Event()
    if engine.dialect.name != "sqlite":
        yield contended
        return
    usual = list(engine.dispatch.begin)

    def begin(connection: Connection) -> None:
        if racer():
            _try_without_waiting(connection, contended)
        for listener in usual:
            listener(connection)

    for listener in usual:
        event.remove(engine, "begin", listener)
    event.listen(engine, "begin", begin)
    try:
        yield contended
    finally:
        event.remove(engine, "begin", begin)
        for listener in usual:
            event.listen(engine, "begin", listener)


def _try_without_waiting(connection: Connection, contended: threading.Event) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        contended.set()  # "database is locked": the first delivery holds it
    else:
        cursor.execute("ROLLBACK")  # no overlap: the event stays unset, the test fails
    finally:
        cursor.execute("PRAGMA busy_timeout=30000")


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

    racer = threading.Thread(target=deliver_again)
    with sqlite_overlap_seen(engine, lambda: threading.current_thread() is racer) as overlap:
        with session_factory() as first_session, first_session.begin():
            first = receive_sms(first_session.connection(), _deps(), sms, clock.now())
            racer.start()
            if engine.dialect.name == "postgresql":
                _wait_until_blocked(engine, racer)
            else:
                assert overlap.wait(timeout=30), "the second delivery never overlapped"
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
