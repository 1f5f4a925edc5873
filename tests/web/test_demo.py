"""The demo clinic of `make run` makes every dashboard page show something real."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.links import LinkSigner
from followup.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from followup.models import (
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    Language,
    MessageStatus,
    Patient,
    ScheduledMessage,
)
from tests.webapp import make_client, sign_in


def test_demo_seeds_every_stage_once(
    session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    with session_factory.begin() as session:
        assert seed_demo(session, templates_dir=templates_dir, now=clock.now()).created
    with session_factory.begin() as session:
        assert not seed_demo(session, templates_dir=templates_dir, now=clock.now()).created
        statuses = dict(
            session.execute(
                select(ScheduledMessage.status, func.count()).group_by(ScheduledMessage.status)
            ).all()
        )
        open_by_priority = dict(
            session.execute(
                select(Escalation.priority, func.count())
                .where(Escalation.status == EscalationStatus.OPEN)
                .group_by(Escalation.priority)
            ).all()
        )
    assert statuses[MessageStatus.DELIVERED] >= 5
    assert statuses[MessageStatus.UNDELIVERED] == 1
    assert statuses[MessageStatus.SCHEDULED] >= 5
    assert open_by_priority == {EscalationPriority.URGENT: 1, EscalationPriority.INBOX: 1}
    with session_factory() as session:
        languages = set(session.scalars(select(Patient.language)))
    assert languages == {Language.EN, Language.FR, Language.ES}


def test_demo_pages_show_meaningful_content(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    tmp_path: Path,
) -> None:
    with session_factory.begin() as session:
        seed_demo(session, templates_dir=templates_dir, now=clock.now())
    client = make_client(engine, session_factory, clock, tmp_path)
    sign_in(client, DEMO_EMAIL, DEMO_PASSWORD)
    today = client.get("/today").text
    for text in ("Ava Singh", "pus", "Liam Tremblay", "Noah Wilson", "undelivered", "Omar Haddad"):
        assert text in today
    assert "Zoe Martin" in client.get("/escalations?status=resolved").text
    ava = client.get("/patients?page=1").text
    assert "delivered" in ava
    assert "Sofía Ramírez" in ava
    settings = client.get("/settings").text
    assert "Dr. Okafor (on call)" in settings
    assert "frontdesk@bowriver.example" in settings
    assert "escalation.resolve" in client.get("/audit").text


def test_demo_says_how_to_play_a_patient_and_its_sent_messages_keep_their_words(
    session_factory: sessionmaker[Session], clock: FixedClock, templates_dir: Path
) -> None:
    signer = LinkSigner("demo-test-secret-" + "x" * 32, "http://127.0.0.1:8000")
    with session_factory.begin() as session:
        login = seed_demo(session, templates_dir=templates_dir, now=clock.now(), signer=signer)
    with session_factory() as session:
        clinic = session.scalars(select(Clinic).where(Clinic.slug == login.clinic_slug)).one()
        player = session.scalars(select(Patient).where(Patient.phone == login.patient_phone)).one()
        open_for_player = session.scalar(
            select(func.count(Escalation.id)).where(Escalation.patient_id == player.id)
        )
        sent = session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.sent_at.is_not(None))
        ).all()
        answered = session.scalars(
            select(InboundMessage.reply_body).where(InboundMessage.urgent.is_(True))
        ).all()
    assert login.clinic_number == clinic.sender_number
    assert open_for_player == 0  # a WORSE from this patient opens a fresh escalation
    assert sent
    assert all(message.body for message in sent)  # SMS and (with the signer) emails
    assert any(m.subject and "microneedling" in m.subject.lower() for m in sent)
    assert ["call 911" in (answer or "") for answer in answered] == [True]
