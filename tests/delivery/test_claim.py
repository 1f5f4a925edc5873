"""The claim (`claim_batch`, the dispatcher's), on SQLite and PostgreSQL: the earliest due
messages up to the batch size, leased to one worker; a message past its useful window is
expired there instead (README: "a message still waiting after its useful window ... is
expired, not sent late"). Every change leaves its event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.delivery.claim import claim_batch
from followup.models import MessageEvent, MessageStatus, ScheduledMessage
from tests.delivery.support import make_clinic, make_message, make_patient, make_treatment

OWNER = "worker-1"


def _claim(session: Session, clock: FixedClock, limit: int) -> tuple[list[int], int]:
    rows, examined = claim_batch(
        session, owner=OWNER, now=clock.now(), limit=limit, lease_seconds=60
    )
    session.commit()
    return [row.id for row in rows], examined


def _events(session: Session, message_id: int) -> list[tuple[object, ...]]:
    query = select(
        MessageEvent.from_status, MessageEvent.to_status, MessageEvent.detail, MessageEvent.actor
    ).where(MessageEvent.message_id == message_id)
    return [tuple(row) for row in session.execute(query.order_by(MessageEvent.id))]


def test_the_earliest_due_messages_are_claimed_up_to_the_batch_size(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    now = clock.now()
    # Inserted latest first, so that id order is not due order.
    ids = [
        make_message(
            session, clinic, patient, treatment, send_at=now - timedelta(minutes=m), step=f"s{m}"
        ).id
        for m in (1, 2, 3, 4, 5)
    ]
    later = make_message(
        session, clinic, patient, treatment, send_at=now + timedelta(seconds=1), step="s0"
    )
    session.commit()

    claimed, examined = _claim(session, clock, limit=3)

    assert claimed == [ids[4], ids[3], ids[2]]  # due order: 5, 4 then 3 minutes ago
    assert examined == 3
    session.expire_all()
    for message_id in claimed:
        message = session.get_one(ScheduledMessage, message_id)
        assert message.status is MessageStatus.SENDING
        assert (message.attempts, message.lease_owner) == (1, OWNER)
        assert message.lease_expires_at == now + timedelta(seconds=60)
        assert message.updated_at == now
        assert _events(session, message_id) == [
            (MessageStatus.SCHEDULED, MessageStatus.SENDING, "attempt 1", OWNER)
        ]
    for message_id in (ids[0], ids[1], later.id):
        assert session.get_one(ScheduledMessage, message_id).status is MessageStatus.SCHEDULED


def test_a_message_at_the_end_of_its_window_is_expired_not_claimed(
    session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=3))
    now = clock.now()
    due = now - timedelta(hours=1)
    stale = make_message(session, clinic, patient, treatment, send_at=due, expires_at=now)
    useful = make_message(
        session, clinic, patient, treatment, send_at=due, expires_at=now + timedelta(seconds=1),
        step="day3",
    )  # fmt: skip
    session.commit()

    claimed, examined = _claim(session, clock, limit=10)

    assert claimed == [useful.id]
    assert examined == 2
    session.expire_all()
    expired = session.get_one(ScheduledMessage, stale.id)
    assert expired.status is MessageStatus.EXPIRED
    assert expired.attempts == 0
    assert expired.updated_at == now
    [(from_status, to_status, _detail, actor)] = _events(session, stale.id)
    assert (from_status, to_status, actor) == (
        MessageStatus.SCHEDULED, MessageStatus.EXPIRED, OWNER,
    )  # fmt: skip


def test_only_expired_messages_claim_nothing(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=3))
    now = clock.now()
    stale = make_message(
        session, clinic, patient, treatment, send_at=now - timedelta(days=2), expires_at=now
    )
    session.commit()
    assert _claim(session, clock, limit=10) == ([], 1)
    session.expire_all()
    assert session.get_one(ScheduledMessage, stale.id).status is MessageStatus.EXPIRED
