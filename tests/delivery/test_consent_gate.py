"""The consent gate, alone: the row re-read right before a send, judged. An opt-out or a
pause committed first always wins; a lease taken over or nearly spent means no send (the
provider call must end before recovery may ask about it: lease/3 of margin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from followup.core.clock import FixedClock
from followup.delivery.consent import consent_gate
from followup.delivery.context import SendJob
from followup.delivery.outcomes import Released, Withheld
from followup.models import Channel, MessageKind, MessageStatus

NOW = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
LEASE = 60.0  # seconds: a send needs more than 20 s of it left
OWNER = "worker-1"


def _job(kind: MessageKind = MessageKind.PLAN, patient_id: int | None = 7) -> SendJob:
    return SendJob(
        message_id=1, channel=Channel.SMS, kind=kind, attempts=1, to="+14035550101",
        patient_id=patient_id,
    )  # fmt: skip


def _row(
    *,
    status: str = "sending",
    owner: str = OWNER,
    send_at: datetime = NOW,
    lease_left: timedelta | None = timedelta(seconds=LEASE),
    opted_out_at: datetime | None = None,
    paused_at: datetime | None = None,
) -> tuple[Any, ...]:
    expires = None if lease_left is None else NOW + lease_left
    return (status, owner, send_at, expires, opted_out_at, paused_at)


def _judge(row: tuple[Any, ...] | None, job: SendJob | None = None) -> object:
    return consent_gate(job or _job(), row, owner=OWNER, lease_seconds=LEASE, clock=FixedClock(NOW))


def test_a_claimed_message_with_consent_goes() -> None:
    assert _judge(_row()) is None


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (None, "gone"),
        (_row(status=MessageStatus.SENT.value), "taken over"),
        (_row(status=MessageStatus.SCHEDULED.value), "taken over"),
        (_row(owner="worker-2"), "taken over"),
        (_row(lease_left=None), "lease"),
    ],
    ids=["deleted", "already-sent", "given-back", "other-owner", "no-lease"],
)
def test_a_message_no_longer_ours_is_released(row: tuple[Any, ...] | None, why: str) -> None:
    outcome = _judge(row)
    assert isinstance(outcome, Released)
    assert why in outcome.reason


@pytest.mark.parametrize(("left", "goes"), [(20, False), (19, False), (21, True), (0, False)])
def test_a_send_needs_more_than_a_third_of_the_lease_left(left: int, goes: bool) -> None:
    outcome = _judge(_row(lease_left=timedelta(seconds=left)))
    if goes:
        assert outcome is None
    else:
        assert isinstance(outcome, Released)
        assert "lease" in outcome.reason


def test_an_opt_out_withholds_plan_messages_and_staff_texts() -> None:
    opted = NOW - timedelta(minutes=1)
    for kind in (MessageKind.PLAN, MessageKind.STAFF_REPLY):
        outcome = _judge(_row(opted_out_at=opted), _job(kind))
        assert outcome == Withheld(MessageStatus.CANCELLED, outcome.reason)  # type: ignore[union-attr]
        assert "opted out" in outcome.reason  # type: ignore[union-attr]


def test_the_stop_confirmation_queued_with_the_opt_out_still_goes() -> None:
    """Carriers require it; it is queued in the opt-out's own transaction, at its instant."""
    reply = _job(MessageKind.AUTO_REPLY)
    assert _judge(_row(send_at=NOW, opted_out_at=NOW), reply) is None
    assert _judge(_row(send_at=NOW, opted_out_at=NOW - timedelta(seconds=1)), reply) is None
    earlier = _judge(_row(send_at=NOW - timedelta(seconds=1), opted_out_at=NOW), reply)
    assert isinstance(earlier, Withheld)
    assert earlier.status is MessageStatus.CANCELLED


def test_staff_alerts_go_to_staff_whatever_the_patient_said() -> None:
    alert = _job(MessageKind.STAFF_ALERT)
    assert _judge(_row(opted_out_at=NOW, paused_at=NOW), alert) is None
    assert _judge(_row(opted_out_at=NOW), _job(patient_id=None)) is None


def test_a_paused_treatment_holds_its_plan_messages_only() -> None:
    paused = _row(paused_at=NOW - timedelta(minutes=1))
    outcome = _judge(paused)
    assert isinstance(outcome, Withheld)
    assert outcome.status is MessageStatus.PAUSED
    assert "paused" in outcome.reason
    assert _judge(paused, _job(MessageKind.AUTO_REPLY)) is None
    assert _judge(paused, _job(MessageKind.STAFF_REPLY)) is None
