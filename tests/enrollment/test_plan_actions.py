"""Staff actions on a plan, below the web layer: what each refuses and what it leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.delivery.outbox import transition
from followup.enrollment.enroll import EnrollmentResult
from followup.enrollment.plan_actions import (
    PatientActionError,
    cancel_message,
    pause_plan,
    record_opt_out,
    resend_message,
    resume_plan,
)
from followup.models import AuditEvent, MessageEvent, MessageStatus, Role, StaffUser
from tests.factories import make_clinic, make_enrollment, make_staff


def _world(session: Session, clock: FixedClock) -> tuple[StaffUser, EnrollmentResult]:
    clinic = make_clinic(session)
    staff = make_staff(session, clinic, role=Role.STAFF)
    return staff, make_enrollment(session, clinic, now=clock.now())


def test_pause_holds_waiting_steps_and_resume_releases_them(
    session: Session, clock: FixedClock
) -> None:
    staff, enrolled = _world(session, clock)
    assert pause_plan(session, enrolled.treatment, staff, clock.now()) == 3
    assert {m.status for m in enrolled.messages} == {MessageStatus.PAUSED}
    with pytest.raises(PatientActionError, match="already paused"):
        pause_plan(session, enrolled.treatment, staff, clock.now())
    assert resume_plan(session, enrolled.treatment, staff, clock.now()) == 3
    assert {m.status for m in enrolled.messages} == {MessageStatus.SCHEDULED}


def test_a_step_whose_time_passed_while_paused_expires_instead_of_going_late(
    session: Session, clock: FixedClock
) -> None:
    staff, enrolled = _world(session, clock)
    pause_plan(session, enrolled.treatment, staff, clock.now())
    later = clock.advance(timedelta(days=4))  # day 1's useful window is over
    resume_plan(session, enrolled.treatment, staff, later)
    day1 = next(m for m in enrolled.messages if m.step == "day1")
    assert day1.status is MessageStatus.EXPIRED
    assert all(m.next_attempt_at >= later for m in enrolled.messages if m.step != "day1")


def test_cancel_refuses_a_message_already_sent(session: Session, clock: FixedClock) -> None:
    staff, enrolled = _world(session, clock)
    message = enrolled.messages[0]
    transition(session, message, MessageStatus.SENT, at=clock.now())
    with pytest.raises(PatientActionError, match="sent message can't be cancelled"):
        cancel_message(session, message, staff, clock.now())


def test_resend_after_opt_out_is_refused(session: Session, clock: FixedClock) -> None:
    staff, enrolled = _world(session, clock)
    message = enrolled.messages[0]
    transition(session, message, MessageStatus.FAILED, at=clock.now())
    record_opt_out(session, enrolled.patient, staff, clock.now())
    with pytest.raises(PatientActionError, match="opted out"):
        resend_message(session, message, enrolled.patient, staff, clock.now())


def test_every_action_leaves_an_event_and_an_audit_record(
    session: Session, clock: FixedClock
) -> None:
    staff, enrolled = _world(session, clock)
    message = enrolled.messages[-1]
    cancel_message(session, message, staff, clock.now())
    session.flush()
    events = session.scalars(select(MessageEvent).where(MessageEvent.message_id == message.id))
    assert [e.to_status for e in events][-1] is MessageStatus.CANCELLED
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "message.cancel")).one()
    assert audit.actor == staff.email
    assert audit.target_id == message.id
