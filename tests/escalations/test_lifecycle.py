"""The escalation lifecycle the dashboard calls, and the SLA reminders the worker runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.escalations.lifecycle import (
    EscalationError,
    PatientOptedOut,
    StaffActionError,
    acknowledge,
    add_note,
    assign,
    escalation_sla_sweep,
    open_escalation,
    reply_to_patient,
    resolve,
    sla_sweep,
)
from followup.models import (
    AuditEvent,
    Channel,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    MessageEvent,
    MessageKind,
    MessageStatus,
    OnCallContact,
    ScheduledMessage,
    StaffUser,
)
from tests.factories import make_clinic, make_staff
from tests.replies.support import World, load, make_runtime, make_world


def _open(
    session: Session, world: World, clock: FixedClock, priority: EscalationPriority
) -> Escalation:
    clinic, patient, treatment = load(session, world)
    return open_escalation(
        session,
        clinic=clinic,
        patient=patient,
        treatment=treatment,
        inbound=None,
        priority=priority,
        reason="patient answered worse",
        now=clock.now(),
    )


def _alerts(session: Session, escalation: Escalation) -> list[ScheduledMessage]:
    return list(
        session.scalars(
            select(ScheduledMessage).where(
                ScheduledMessage.escalation_id == escalation.id,
                ScheduledMessage.kind == MessageKind.STAFF_ALERT,
            )
        )
    )


def _actions(session: Session, escalation: Escalation) -> list[tuple[str, str]]:
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "escalation", AuditEvent.target_id == escalation.id)
        .order_by(AuditEvent.id)
    )
    return [(event.action, event.actor) for event in events]


def test_urgent_escalation_alerts_every_active_contact(
    session: Session, world: World, clock: FixedClock
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.URGENT)
    alerts = _alerts(session, escalation)
    assert sorted((a.channel, a.recipient) for a in alerts) == [
        (Channel.EMAIL, "nurse@clinic.example"),
        (Channel.SMS, "+14035550111"),
        (Channel.SMS, "+14035550112"),
    ]
    assert all(a.next_attempt_at == clock.now() for a in alerts)
    assert all("URGENT" in (a.body or "") for a in alerts)
    assert next(a.subject or "" for a in alerts if a.channel is Channel.EMAIL).startswith("URGENT")
    assert escalation.notify_count == 1
    assert escalation.last_notified_at == clock.now()
    assert _actions(session, escalation) == [("escalation.open", "system")]


def test_every_alert_is_logged_created_in_the_outbox(
    session: Session, world: World, clock: FixedClock
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    clock.advance(timedelta(hours=3))
    assert sla_sweep(session, clock.now()) == 1  # the reminder is queued the same way
    alerts = _alerts(session, escalation)
    events = session.scalars(
        select(MessageEvent).where(MessageEvent.message_id.in_([a.id for a in alerts]))
    ).all()
    assert len(alerts) == 4
    assert escalation.notify_count == 2
    assert sorted(event.message_id for event in events) == sorted(a.id for a in alerts)
    assert {(e.from_status, e.to_status, e.detail, e.actor) for e in events} == {
        (None, MessageStatus.SCHEDULED, "created", "system")
    }
    assert all(a.status is MessageStatus.SCHEDULED and a.created_by == "system" for a in alerts)
    assert all(a.attempts == 0 and a.send_at == a.next_attempt_at for a in alerts)


def test_inbox_item_pages_nobody(session: Session, world: World, clock: FixedClock) -> None:
    escalation = _open(session, world, clock, EscalationPriority.INBOX)
    assert _alerts(session, escalation) == []
    assert escalation.notify_count == 0


def test_clinic_without_on_call_contacts_alerts_its_own_email(
    session: Session, world: World, clock: FixedClock
) -> None:
    for contact in session.scalars(select(OnCallContact)):
        contact.active = False
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    assert [(a.channel, a.recipient) for a in _alerts(session, escalation)] == [
        (Channel.EMAIL, "front@clinic.example")
    ]


def test_acknowledge_records_who_and_cancels_unsent_alerts(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    clock.advance(timedelta(minutes=3))
    acknowledge(session, escalation, nurse, clock.now())
    assert escalation.status is EscalationStatus.ACKNOWLEDGED
    assert escalation.acknowledged_by_id == nurse.id
    assert escalation.acknowledged_at == clock.now()
    assert {a.status for a in _alerts(session, escalation)} == {MessageStatus.CANCELLED}
    with pytest.raises(EscalationError, match="already acknowledged"):
        acknowledge(session, escalation, nurse, clock.now())
    assert _actions(session, escalation)[-1] == ("escalation.acknowledge", nurse.email)


def test_assign_to_a_colleague_and_back_to_nobody(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    clinic, _, _ = load(session, world)
    doctor = make_staff(session, clinic, email="doctor@example.com")
    assign(session, escalation, doctor, nurse, clock.now())
    assert escalation.assigned_to_id == doctor.id
    assign(session, escalation, None, nurse, clock.now())
    assert escalation.assigned_to_id is None
    other = make_staff(
        session, make_clinic(session, name="Elsewhere", sender_number=None), email="x@example.com"
    )
    with pytest.raises(EscalationError, match="this clinic"):
        assign(session, escalation, other, nurse, clock.now())
    assert [a for a, _ in _actions(session, escalation)].count("escalation.assign") == 2


def test_note_is_stored_and_audited_and_empty_notes_refused(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    note = add_note(session, escalation, nurse, "  Called, left a voicemail. ", clock.now())
    assert note.body == "Called, left a voicemail."
    assert note.patient_id == escalation.patient_id
    with pytest.raises(EscalationError, match="empty"):
        add_note(session, escalation, nurse, "   ", clock.now())
    assert _actions(session, escalation)[-1] == ("escalation.note", nurse.email)


def test_reply_to_patient_queues_an_sms_and_acknowledges(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    message = reply_to_patient(session, escalation, nurse, "Please send a photo.", clock.now())
    assert message.kind is MessageKind.STAFF_REPLY
    assert message.channel is Channel.SMS
    assert message.patient_id == escalation.patient_id
    assert message.recipient is None  # the patient's own number, read at send time
    assert message.status is MessageStatus.SCHEDULED
    assert message.created_by == nurse.email
    assert escalation.status is EscalationStatus.ACKNOWLEDGED
    with pytest.raises(StaffActionError, match="longer than"):
        reply_to_patient(session, escalation, nurse, "x" * 1601, clock.now())


def test_reply_is_refused_once_the_patient_opted_out(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    _, patient, _ = load(session, world)
    patient.opted_out_at = clock.now()
    with pytest.raises(PatientOptedOut, match="call them"):
        reply_to_patient(session, escalation, nurse, "Hello", clock.now())


def test_resolve_once_with_an_outcome(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.URGENT)
    with pytest.raises(EscalationError, match="outcome is empty"):
        resolve(session, escalation, nurse, "", clock.now())
    resolve(session, escalation, nurse, "Seen in clinic, antibiotics.", clock.now())
    assert escalation.status is EscalationStatus.RESOLVED
    assert escalation.resolved_by_id == nurse.id
    assert escalation.acknowledged_by_id == nurse.id  # resolving implies it was seen
    with pytest.raises(EscalationError, match="already resolved"):
        resolve(session, escalation, nurse, "again", clock.now())
    with pytest.raises(EscalationError, match="already resolved"):
        acknowledge(session, escalation, nurse, clock.now())


def test_staff_of_another_clinic_cannot_touch_it(
    session: Session, world: World, clock: FixedClock
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.NORMAL)
    outsider = make_staff(
        session, make_clinic(session, name="Elsewhere", sender_number=None), email="o@example.com"
    )
    for action in (
        lambda: acknowledge(session, escalation, outsider, clock.now()),
        lambda: add_note(session, escalation, outsider, "hi", clock.now()),
        lambda: resolve(session, escalation, outsider, "done", clock.now()),
    ):
        with pytest.raises(EscalationError, match="another clinic"):
            action()


def test_urgent_reminder_after_fifteen_minutes_not_before(
    session: Session, world: World, clock: FixedClock
) -> None:
    escalation = _open(session, world, clock, EscalationPriority.URGENT)
    assert sla_sweep(session, clock.advance(timedelta(minutes=14, seconds=59))) == 0
    assert sla_sweep(session, clock.advance(timedelta(seconds=1))) == 1
    assert escalation.notify_count == 2
    assert sla_sweep(session, clock.now()) == 0  # the next one is 15 minutes later
    assert sla_sweep(session, clock.advance(timedelta(minutes=15))) == 1
    alerts = _alerts(session, escalation)
    assert len(alerts) == 9  # the first alert and two reminders, x three addresses
    assert sum("REMINDER" in (a.body or "") for a in alerts) == 4  # the SMS ones
    assert ("escalation.remind", "system") in _actions(session, escalation)


def test_normal_reminder_follows_the_clinic_setting(
    session: Session, world: World, clock: FixedClock
) -> None:
    clinic, _, _ = load(session, world)
    clinic.normal_sla_minutes = 30
    _open(session, world, clock, EscalationPriority.NORMAL)
    assert sla_sweep(session, clock.advance(timedelta(minutes=29))) == 0
    assert sla_sweep(session, clock.advance(timedelta(minutes=1))) == 1


def test_no_reminders_once_acknowledged_nor_for_the_inbox(
    session: Session, world: World, clock: FixedClock, nurse: StaffUser
) -> None:
    taken = _open(session, world, clock, EscalationPriority.URGENT)
    _open(session, world, clock, EscalationPriority.INBOX)
    acknowledge(session, taken, nurse, clock.now())
    assert sla_sweep(session, clock.advance(timedelta(hours=5))) == 0


def test_reminders_stop_after_the_limit(session: Session, world: World, clock: FixedClock) -> None:
    escalation = _open(session, world, clock, EscalationPriority.URGENT)
    sent = sum(sla_sweep(session, clock.advance(timedelta(minutes=15))) for _ in range(20))
    # README: re-alerted at most five times; the first alert plus five reminders.
    assert sent == 5
    assert escalation.notify_count == 6


def test_worker_job_uses_the_runtime_clock_and_commits(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        world = make_world(session, clock)
        _open(session, world, clock, EscalationPriority.URGENT)
    runtime = make_runtime(engine, session_factory, clock, tmp_path)
    assert escalation_sla_sweep(runtime) == 0
    clock.advance(timedelta(minutes=15))
    assert escalation_sla_sweep(runtime) == 1
    with session_factory() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.notify_count == 2
        reminder = next(a for a in _alerts(session, escalation) if "REMINDER" in (a.body or ""))
        assert "https://followup.example.org/escalations/" in (reminder.body or "")
