"""Prepared statements: the same rows through psycopg's cursor as through SQLAlchemy."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.core.prepared import Prepared, full_row
from followup.models import (
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    ScheduledMessage,
)
from tests.factories import make_clinic, make_enrollment

_INBOUND: Table = InboundMessage.__table__  # type: ignore[assignment]
_ESCALATION: Table = Escalation.__table__  # type: ignore[assignment]
INSERT_INBOUND = Prepared(_INBOUND.insert().returning(_INBOUND.c.id))
NEWEST_INBOUND = Prepared(
    select(_INBOUND.c.id, _INBOUND.c.media, _INBOUND.c.matched, _INBOUND.c.urgent)
    .where(_INBOUND.c.from_address == bindparam("sender"))
    .order_by(_INBOUND.c.id.desc())
    .limit(1)
)
INSERT_ESCALATION = Prepared(_ESCALATION.insert().returning(_ESCALATION.c.id))


def _inbound(sid: str, clock: FixedClock, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "provider_sid": sid,
        "channel": "sms",
        "from_address": "+14035550101",
        "to_address": "+14035550199",
        "body": "better",
        "intent": "better",
        "received_at": clock.now(),
    }
    values.update(extra)
    return full_row(_INBOUND, values)


def test_full_row_fills_every_column_but_the_generated_key(clock: FixedClock) -> None:
    row = _inbound("SM1", clock)
    assert "id" not in row
    assert set(row) == {column.key for column in _INBOUND.columns} - {"id"}
    # Python-side defaults, as the ORM would fill them; nothing given is NULL.
    assert row["media"] == []
    assert row["matched"] == []
    assert row["urgent"] is False
    assert row["patient_id"] is None
    assert row["reply_body"] is None


def test_rows_json_and_a_literal_limit_read_back_alike(engine: Engine, clock: FixedClock) -> None:
    media = [{"url": "https://api.twilio.com/m/1", "content_type": "image/jpeg"}]
    with engine.begin() as conn:
        first = INSERT_INBOUND.scalar(conn, _inbound("SM1", clock))
        second = INSERT_INBOUND.scalar(
            conn, _inbound("SM2", clock, media=media, matched=["urgent:fever"], urgent=True)
        )
        newest = NEWEST_INBOUND.first(conn, {"sender": "+14035550101"})
    assert isinstance(first, int)
    assert second == first + 1
    assert newest is not None
    assert tuple(newest) == (second, media, ["urgent:fever"], True)
    with Session(engine) as session:  # what the ORM reads is what was written
        stored = session.get(InboundMessage, second)
        assert stored is not None
        assert stored.media == media
        assert stored.received_at == clock.now()


def test_enums_are_stored_by_value_not_by_name(engine: Engine, clock: FixedClock) -> None:
    with Session(engine) as session, session.begin():
        clinic = make_clinic(session)
        patient_id = make_enrollment(session, clinic, now=clock.now()).patient.id
        clinic_id = clinic.id
    values = {
        "clinic_id": clinic_id,
        "patient_id": patient_id,
        "priority": EscalationPriority.URGENT,
        "status": EscalationStatus.OPEN,
        "reason": "red flag: fever",
        "opened_at": clock.now(),
    }
    with engine.begin() as conn:
        escalation_id = INSERT_ESCALATION.scalar(conn, full_row(_ESCALATION, values))
    with Session(engine) as session:
        stored = session.get(Escalation, escalation_id)
        assert stored is not None
        assert stored.priority is EscalationPriority.URGENT
        assert stored.status is EscalationStatus.OPEN
        assert stored.notify_count == 0


def test_a_failed_statement_rolls_the_whole_transaction_back(
    engine: Engine, clock: FixedClock
) -> None:
    errors: tuple[type[BaseException], ...] = (IntegrityError, psycopg.IntegrityError)

    def insert_twice() -> None:
        with engine.begin() as conn:
            INSERT_INBOUND.scalar(conn, _inbound("SM1", clock))
            INSERT_INBOUND.scalar(conn, _inbound("SM1", clock))  # the SID is unique

    with pytest.raises(errors):
        insert_twice()
    with engine.connect() as conn:
        assert NEWEST_INBOUND.first(conn, {"sender": "+14035550101"}) is None
        # The connection went back to the pool usable: the next transaction works.
    with engine.begin() as conn:
        assert INSERT_INBOUND.scalar(conn, _inbound("SM1", clock)) is not None


def test_full_row_leaves_server_defaults_to_the_database() -> None:
    messages: Table = ScheduledMessage.__table__  # type: ignore[assignment]
    row = full_row(messages, {"body": "hello"})
    assert "created_at" not in row  # server_default now(): an explicit NULL would defeat it
    assert "id" not in row
    assert row["body"] == "hello"
    assert row["attempts"] == 0
