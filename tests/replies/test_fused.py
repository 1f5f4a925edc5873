"""The one-statement writes (PostgreSQL) store exactly what the one-transaction path does.

Every reply is handled twice, once per path, for two look-alike patients; the rows each
path wrote are then compared column by column (ids and SIDs aside). The webhook tests run
the same replies through the app on both databases; this pins the two paths together.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.messages.automatic import reply_texts
from followup.models import (
    AuditEvent,
    Clinic,
    Escalation,
    InboundMessage,
    MessageKind,
    ScheduledMessage,
    Treatment,
)
from followup.replies import default_lexicon
from followup.replies.fused import handle_sms
from followup.replies.receive import InboundOutcome, ReplyDeps, parse_twilio_form, receive_sms
from tests.factories import TEMPLATES_DIR, make_enrollment
from tests.replies.support import PATIENT_PHONE, make_world, new_sid, twilio_params

OTHER_PHONE = "+14035550102"
IGNORED = {"id", "provider_sid", "from_address", "patient_id", "treatment_id", "target_id"}
IGNORED |= {"inbound_message_id", "detail"}


@pytest.fixture
def deps() -> ReplyDeps:
    return ReplyDeps(default_lexicon(), reply_texts(TEMPLATES_DIR), TEMPLATES_DIR)


@pytest.fixture
def twins(session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    """Two patients of one clinic, alike but for their phone numbers."""
    with session_factory() as session, session.begin():
        world = make_world(session, clock)
        clinic = session.get(Clinic, world.clinic_id)
        assert clinic is not None
        make_enrollment(session, clinic, now=clock.now(), phone=OTHER_PHONE)


def _both_ways(
    engine: Engine, deps: ReplyDeps, body: str, clock: FixedClock
) -> tuple[InboundOutcome, InboundOutcome]:
    fused = handle_sms(
        engine, deps, parse_twilio_form(twilio_params(body, sid=new_sid())), clock.now()
    )
    sms = parse_twilio_form(twilio_params(body, sid=new_sid(), sender=OTHER_PHONE))
    with engine.begin() as conn:
        plain = receive_sms(conn, deps, sms, clock.now())
    return fused, plain


def _rows(session: Session, table: Any, where: Any) -> list[dict[str, Any]]:
    mapped: Table = table.__table__
    rows = session.execute(select(mapped).where(where).order_by(mapped.c.id)).mappings()
    return [{k: v for k, v in row.items() if k not in IGNORED} for row in rows]


@pytest.mark.usefixtures("twins")
@pytest.mark.parametrize(
    "body",
    ["Better", "same as yesterday", "Can I wear makeup tomorrow?", "HELP", "thanks!!"],
)
def test_one_statement_and_one_transaction_write_the_same_rows(
    engine: Engine,
    session_factory: sessionmaker[Session],
    deps: ReplyDeps,
    clock: FixedClock,
    body: str,
) -> None:
    fused, plain = _both_ways(engine, deps, body, clock)
    assert isinstance(fused, InboundOutcome)
    assert (fused.reply_text, fused.duplicate) == (plain.reply_text, plain.duplicate)
    assert (fused.escalation_id is None) == (plain.escalation_id is None)
    with session_factory() as session:
        messages = _rows(session, InboundMessage, InboundMessage.id.in_([fused.inbound_id]))
        others = _rows(session, InboundMessage, InboundMessage.id.in_([plain.inbound_id]))
        assert messages == others
        assert len(messages) == 1
        escalations = [
            _rows(session, Escalation, Escalation.inbound_message_id == outcome.inbound_id)
            for outcome in (fused, plain)
        ]
        assert escalations[0] == escalations[1]
        audits = [
            _rows(session, AuditEvent, AuditEvent.target_id == outcome.escalation_id)
            for outcome in (fused, plain)
            if outcome.escalation_id is not None
        ]
        assert all(audit == audits[0] for audit in audits)
        checkins = session.execute(
            select(Treatment.checkin_answer, Treatment.checkin_at).order_by(Treatment.id)
        ).all()
        assert checkins[0] == checkins[1]


@pytest.mark.usefixtures("twins")
def test_a_duplicate_delivery_on_the_one_statement_path_has_no_effect(
    engine: Engine, session_factory: sessionmaker[Session], deps: ReplyDeps, clock: FixedClock
) -> None:
    sms = parse_twilio_form(twilio_params("Can I wear makeup tomorrow?", sid=new_sid()))
    first = handle_sms(engine, deps, sms, clock.now())
    again = handle_sms(engine, deps, sms, clock.advance(timedelta(minutes=1)))
    assert first.escalation_id is not None
    assert again == InboundOutcome(None, None, None, duplicate=True)
    with session_factory() as session:
        assert len(_rows(session, Escalation, Escalation.id > 0)) == 1
        assert len(_rows(session, AuditEvent, AuditEvent.action == "escalation.open")) == 1


@pytest.mark.usefixtures("twins")
def test_replies_that_page_staff_take_the_transactional_path_and_alert(
    engine: Engine, session_factory: sessionmaker[Session], deps: ReplyDeps, clock: FixedClock
) -> None:
    sms = parse_twilio_form(twilio_params("worse, and now a fever", sender=PATIENT_PHONE))
    outcome = handle_sms(engine, deps, sms, clock.now())
    assert outcome.escalation_id is not None
    with session_factory() as session:
        escalation = session.get(Escalation, outcome.escalation_id)
        assert escalation is not None
        assert escalation.notify_count == 1
        alerts = session.scalars(
            select(ScheduledMessage.kind).where(ScheduledMessage.escalation_id == escalation.id)
        ).all()
        assert alerts
        assert set(alerts) == {MessageKind.STAFF_ALERT}
