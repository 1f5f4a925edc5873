"""Reopening a resolved escalation, how long one took, and the one way staff text a
patient (from an escalation or the patient page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.escalations.errors import PatientOptedOut, StaffActionError
from followup.escalations.lifecycle import (
    EscalationError,
    acknowledge,
    open_escalation,
    reopen,
    resolve,
    sla_sweep,
)
from followup.escalations.staff_texts import text_patient
from followup.escalations.worklists import QueueFilter, escalation_queue, handling_times
from followup.models import (
    AuditEvent,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    MessageKind,
    MessageStatus,
    StaffNote,
    StaffUser,
)
from tests.factories import make_clinic, make_staff
from tests.replies.support import World, load


def _resolved(session: Session, world: World, clock: FixedClock, nurse: StaffUser) -> Escalation:
    clinic, patient, treatment = load(session, world)
    escalation = open_escalation(
        session, clinic=clinic, patient=patient, treatment=treatment, inbound=None,
        priority=EscalationPriority.URGENT, reason="red flag: fever", now=clock.now(),
    )  # fmt: skip
    acknowledge(session, escalation, nurse, clock.now() + timedelta(minutes=7))
    resolve(session, escalation, nurse, "Seen in clinic.", clock.now() + timedelta(hours=2))
    return escalation


def _audit(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_resolved_escalation_tells_how_long_it_took_not_an_age(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _resolved(session, world, clock, nurse)
    clinic, _, _ = load(session, world)
    later = clock.now() + timedelta(days=5)

    [item] = escalation_queue(
        session, clinic, later, QueueFilter(statuses=(EscalationStatus.RESOLVED,))
    )

    assert item.times.to_acknowledge == timedelta(minutes=7)
    assert item.times.to_resolve == timedelta(hours=2)
    assert not item.overdue  # five days later, still not "overdue"
    assert handling_times(escalation) == item.times


def test_reopen_puts_it_back_in_the_queue_and_keeps_the_outcome(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _resolved(session, world, clock, nurse)
    clinic, _, _ = load(session, world)
    at = clock.now() + timedelta(days=1)

    note = reopen(session, escalation, nurse, at, "She texted again: more swelling")

    assert escalation.status is EscalationStatus.ACKNOWLEDGED
    assert (escalation.resolved_at, escalation.resolved_by_id, escalation.outcome) == (
        None, None, None,
    )  # fmt: skip
    assert escalation.acknowledged_at == clock.now() + timedelta(minutes=7)  # still true
    assert note.body == (
        "Reopened: She texted again: more swelling. Earlier outcome: Seen in clinic."
    )
    assert session.get(StaffNote, note.id) is not None
    [item] = escalation_queue(session, clinic, at, QueueFilter())
    assert item.escalation.id == escalation.id
    [audited] = _audit(session, "escalation.reopen")
    assert audited.actor == nurse.email
    assert audited.detail["outcome"] == "Seen in clinic."
    assert sla_sweep(session, at + timedelta(hours=3)) == 0  # a person has it: nobody paged


def test_only_a_resolved_escalation_can_be_reopened(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _resolved(session, world, clock, nurse)
    reopen(session, escalation, nurse, clock.now())
    with pytest.raises(EscalationError, match="only a resolved"):
        reopen(session, escalation, nurse, clock.now())
    outsider = make_staff(
        session, make_clinic(session, name="Elsewhere", sender_number=None), email="o@example.com"
    )
    resolve(session, escalation, nurse, "Done.", clock.now())
    with pytest.raises(EscalationError, match="another clinic"):
        reopen(session, escalation, outsider, clock.now())


def test_text_from_the_patient_page_goes_through_the_outbox_and_is_audited(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    _, patient, _ = load(session, world)

    message = text_patient(session, patient, nurse, "  Your results are in, call us. ", clock.now())

    assert message.kind is MessageKind.STAFF_REPLY
    assert (message.body, message.patient_id, message.escalation_id) == (
        "Your results are in, call us.", patient.id, None,
    )  # fmt: skip
    assert message.status is MessageStatus.SCHEDULED
    assert message.created_by == nurse.email
    [audited] = _audit(session, "patient.text")
    assert (audited.target_type, audited.target_id) == ("patient", patient.id)
    assert audited.detail == {"message_id": message.id}


def test_text_after_stop_is_refused_with_a_clear_message(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    _, patient, _ = load(session, world)
    patient.opted_out_at = clock.now()
    with pytest.raises(PatientOptedOut, match="opted out of texts: call them instead"):
        text_patient(session, patient, nurse, "Hello", clock.now())
    assert _audit(session, "patient.text") == []


def test_texts_that_cannot_go_are_refused(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    _, patient, _ = load(session, world)
    with pytest.raises(StaffActionError, match="empty"):
        text_patient(session, patient, nurse, "   ", clock.now())
    with pytest.raises(StaffActionError, match="longer than 1600"):
        text_patient(session, patient, nurse, "x" * 1601, clock.now())
    outsider = make_staff(
        session, make_clinic(session, name="Elsewhere", sender_number=None), email="o@example.com"
    )
    with pytest.raises(StaffActionError, match="another clinic"):
        text_patient(session, patient, outsider, "Hello", clock.now())
