"""What must hold even when something around the reply is wrong: a broken template or
clinic lexicon never loses a STOP or an escalation, and logs never hold a reply's words
or a whole phone number."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import Escalation, MessageKind, Patient, ScheduledMessage
from tests.factories import TEMPLATES_DIR
from tests.replies.support import PATIENT_PHONE, World, make_replies, make_world


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FixedClock) -> World:
    with session_factory() as session, session.begin():
        return make_world(session, clock)


@pytest.fixture
def broken_templates(tmp_path: Path) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(TEMPLATES_DIR, copy)
    (copy / "_replies" / "opt_out.sms.en.txt").unlink()
    (copy / "_alerts" / "escalation.sms.en.txt").write_text("{{ no_such_variable }}")
    return copy


def test_stop_is_honoured_when_its_reply_template_is_missing(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
    broken_templates: Path,
) -> None:
    replies = make_replies(engine, session_factory, clock, tmp_path, templates_dir=broken_templates)
    response = replies.text("STOP")
    assert response.status_code == 200
    assert "<Message>" not in response.text
    with session_factory() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        assert patient.opted_out_at is not None


def test_staff_are_alerted_when_the_alert_template_is_broken(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
    broken_templates: Path,
) -> None:
    replies = make_replies(engine, session_factory, clock, tmp_path, templates_dir=broken_templates)
    assert replies.text("worse").status_code == 200
    with session_factory() as session:
        escalation = session.scalars(select(Escalation)).one()
        alerts = session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.STAFF_ALERT)
        ).all()
        assert len(alerts) == 2
        assert all(f"#{escalation.id}" in (alert.body or "") for alert in alerts)


def test_a_broken_clinic_lexicon_falls_back_to_the_packaged_one(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
) -> None:
    lexicon = tmp_path / "clinic-lexicon.toml"
    lexicon.write_text("this is [not toml")
    replies = make_replies(engine, session_factory, clock, tmp_path, lexicon_path=lexicon)
    assert "unsubscribed" in replies.text("STOP").text


def test_a_clinic_lexicon_extends_the_words_we_understand(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
) -> None:
    lexicon = tmp_path / "clinic-lexicon.toml"
    lexicon.write_text('[urgent.symptoms]\nbruising = ["purple bruise*"]\n')
    replies = make_replies(engine, session_factory, clock, tmp_path, lexicon_path=lexicon)
    response = replies.text("big purple bruises on my cheek")
    assert "<Message>If you have trouble breathing" in response.text


def test_logs_hold_no_reply_words_and_no_whole_phone_number(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    replies = make_replies(engine, session_factory, clock, tmp_path)
    caplog.set_level(logging.DEBUG, logger="followup")
    for body in ("my cheek has yellow pus", "Zanzibar question", "STOP"):
        replies.text(body)
    replies.text("hello from a stranger", sender="+14035550177")
    logged = caplog.text
    assert "inbound sms" in logged
    for secret in ("yellow pus", "Zanzibar", "stranger", PATIENT_PHONE, "4035550177"):
        assert secret not in logged
