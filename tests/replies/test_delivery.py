"""Replies and the delivery worker together, with the console transport: after STOP a due
plan message is not sent; a WORSE reply's staff alerts do go out to the on-call contacts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import Clinic
from followup.worker import Worker
from tests.factories import make_enrollment
from tests.replies.support import PATIENT_PHONE, Replies, make_replies, make_world

OTHER_PHONE = "+14035550102"


def _sent(replies: Replies) -> list[dict[str, object]]:
    outbox = replies.runtime.settings.effective_outbox_file
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines() if line.strip()]


def _recipients(replies: Replies) -> list[object]:
    return [entry.get("to") for entry in _sent(replies)]


def test_after_stop_a_due_plan_message_is_not_sent(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        world = make_world(session, clock)
        clinic = session.get(Clinic, world.clinic_id)
        assert clinic is not None
        make_enrollment(session, clinic, now=clock.now(), first_name="Ana", phone=OTHER_PHONE)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    replies.text("STOP")
    clock.advance(timedelta(days=2))  # day 1 is long due
    Worker(replies.runtime).run_once()
    recipients = _recipients(replies)
    assert OTHER_PHONE in recipients  # the worker did send what was due...
    assert PATIENT_PHONE not in recipients  # ...but nothing to the patient who said STOP


def test_worse_reaches_the_on_call_contacts(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        make_world(session, clock)
    replies = make_replies(engine, session_factory, clock, tmp_path)
    replies.text("much worse today")
    Worker(replies.runtime).run_once()
    recipients = _recipients(replies)
    assert "+14035550111" in recipients
    assert "nurse@clinic.example" in recipients
    assert "+14035550112" not in recipients  # urgent-only contact
