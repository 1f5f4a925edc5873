"""A patient's conversation: what the clinic sent (in the words kept when it went), what the
patient answered, what the service answered by itself and what staff wrote, in time order
and in the clinic's zone; where the context of an escalation comes from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.delivery.outbox import queue_message, transition
from followup.enrollment.enroll import EnrollmentResult
from followup.escalations.lifecycle import add_note, open_escalation, reply_to_patient
from followup.models import (
    Channel,
    Clinic,
    EscalationPriority,
    InboundMessage,
    MessageKind,
    MessageStatus,
    ScheduledMessage,
    StaffUser,
)
from followup.reporting.conversation import BubbleKind, Side, conversation
from followup.reporting.treatment_context import treatment_context
from tests.factories import make_clinic, make_enrollment, make_staff

EDMONTON = ZoneInfo("America/Edmonton")
DAY1_WORDS = "Bow River: Hi Maya! Red, tight, sensitive skin like mild sunburn is normal."
WORSE_ANSWER = "Bow River: thank you for telling us. Our team will contact you within 2 hours."


def _sent(session: Session, message: ScheduledMessage, at: datetime, words: str | None) -> None:
    """As the dispatcher leaves a message the provider took and the carrier delivered."""
    message.sent_at = at
    message.body = words
    transition(session, message, MessageStatus.SENDING, at=at)
    transition(session, message, MessageStatus.DELIVERED, at=at)


def _reply(
    session: Session, result: EnrollmentResult, body: str | None, at: datetime, **values: object
) -> InboundMessage:
    reply = InboundMessage(
        provider_sid=f"SM{at.timestamp():.0f}{body}",
        clinic_id=result.patient.clinic_id,
        patient_id=result.patient.id,
        treatment_id=result.treatment.id,
        channel=Channel.SMS,
        from_address=result.patient.phone,
        to_address="+14035550199",
        body=body,
        intent=str(values.pop("intent", "worse")),
        received_at=at,
        **values,
    )
    session.add(reply)
    session.flush()
    return reply


@pytest.fixture
def story(
    session: Session, clock: FixedClock
) -> tuple[Clinic, StaffUser, EnrollmentResult, dict[str, datetime]]:
    """Day 1 went out, the patient answered WORSE with a photo and got the automatic
    answer, a nurse noted and texted; an on-call alert went out too."""
    with session.begin():
        clinic = make_clinic(session)
        nurse = make_staff(session, clinic, email="ada@clinic.example")
        nurse.name = "Nurse Ada"
        result = make_enrollment(session, clinic, now=clock.now())
        day1, day3 = result.messages[0], result.messages[1]
        times = {
            "day1": day1.send_at,
            "reply": day1.send_at + timedelta(hours=3),
            "note": day1.send_at + timedelta(hours=3, minutes=5),
            "text": day1.send_at + timedelta(hours=3, minutes=6),
        }
        _sent(session, day1, times["day1"], DAY1_WORDS)
        reply = _reply(
            session, result, "WORSE, it's swollen", times["reply"], reply_body=WORSE_ANSWER,
            media=[{"url": "https://api.twilio.com/m/1", "content_type": "image/jpeg"},
                   {"url": "http://elsewhere.example/x", "content_type": "image/png"}],
        )  # fmt: skip
        escalation = open_escalation(
            session, clinic=clinic, patient=result.patient, treatment=result.treatment,
            inbound=reply, priority=EscalationPriority.NORMAL, reason="check-in: worse",
            now=times["reply"],
        )  # fmt: skip
        add_note(session, escalation, nurse, "Calling her back.", times["note"])
        reply_to_patient(session, escalation, nurse, "Maya, please send a photo.", times["text"])
        assert day3.status is MessageStatus.SCHEDULED  # still waiting: not in the conversation
    return clinic, nurse, result, times


def test_conversation_in_time_order_with_the_kept_words(
    session: Session,
    templates_dir: Path,
    story: tuple[Clinic, StaffUser, EnrollmentResult, dict[str, datetime]],
) -> None:
    _, _, result, times = story

    bubbles = conversation(session, result.patient, EDMONTON, templates_dir)

    assert [(b.side, b.kind, b.label, b.text) for b in bubbles] == [
        (Side.CLINIC, BubbleKind.PLAN, "Day 1 message", DAY1_WORDS),
        (Side.PATIENT, BubbleKind.REPLY, "Reply", "WORSE, it's swollen"),
        (Side.CLINIC, BubbleKind.AUTOMATIC, "Automatic answer", WORSE_ANSWER),
        (Side.STAFF, BubbleKind.NOTE, "Nurse Ada", "Calling her back."),
        (Side.CLINIC, BubbleKind.STAFF_TEXT, "Nurse Ada", "Maya, please send a photo."),
    ]
    day1, reply, answer, note, text = bubbles
    assert day1.at == times["day1"].astimezone(EDMONTON)
    assert (day1.at.tzinfo, day1.at.hour) == (EDMONTON, 10)  # 10:00 at the clinic (MDT)
    assert day1.status is MessageStatus.DELIVERED
    assert text.status is MessageStatus.SCHEDULED  # queued: its status shows on the bubble
    assert answer.status is None  # given in the webhook's answer: no delivery report
    assert reply.escalation_id is not None
    assert note.escalation_id == reply.escalation_id
    assert [(p.url, p.content_type) for p in reply.photos] == [
        ("https://api.twilio.com/m/1", "image/jpeg"),
        (None, "image/png"),  # not https: not offered to the browser
    ]
    assert len({b.key for b in bubbles}) == len(bubbles)


def test_staff_alerts_and_other_clinics_never_show(
    session: Session,
    clock: FixedClock,
    templates_dir: Path,
    story: tuple[Clinic, StaffUser, EnrollmentResult, dict[str, datetime]],
) -> None:
    clinic, _, result, times = story
    with session.begin():
        queue_message(
            session, clinic_id=clinic.id, kind=MessageKind.STAFF_ALERT, channel=Channel.SMS,
            body="Urgent escalation: see the dashboard", at=times["reply"], actor="system",
            patient_id=result.patient.id, recipient="+14035550111",
        )  # fmt: skip
        other = make_clinic(session, name="Elsewhere", sender_number="+14035550177")
        stranger = make_enrollment(session, other, now=clock.now())
        _reply(session, stranger, "hello from elsewhere", times["reply"], intent="other")

    texts = [b.text for b in conversation(session, result.patient, EDMONTON, templates_dir)]

    assert "Urgent escalation: see the dashboard" not in texts
    assert "hello from elsewhere" not in texts


def test_missing_words_say_why(
    session: Session,
    clock: FixedClock,
    templates_dir: Path,
    story: tuple[Clinic, StaffUser, EnrollmentResult, dict[str, datetime]],
) -> None:
    _, _, result, times = story
    with session.begin():
        day1, day3, day7 = result.messages[:3]
        day1.body, day1.body_purged_at = None, datetime(2027, 4, 12, 18, 0, tzinfo=UTC)
        _sent(session, day3, times["day1"] + timedelta(days=2), None)  # before copies were kept
        transition(session, day7, MessageStatus.FAILED, at=times["text"], detail="21614")
        day7.error_message = "not a mobile number"

    plan = [
        b
        for b in conversation(session, result.patient, EDMONTON, templates_dir)
        if b.kind is BubbleKind.PLAN
    ]

    assert [(b.label, b.text) for b in plan] == [
        ("Day 1 message", None),
        ("Day 3 message", None),
        ("Day 7 message", None),
    ]
    assert "removed on Apr 12, 2027, after the clinic's retention period" in (plan[0].missing or "")
    assert "not kept" in (plan[1].missing or "")
    assert plan[2].error == "not a mobile number"
    assert "Not sent" in (plan[2].missing or "")


def test_treatment_context_names_the_plan_the_day_and_the_last_step_sent(
    session: Session,
    templates_dir: Path,
    story: tuple[Clinic, StaffUser, EnrollmentResult, dict[str, datetime]],
) -> None:
    _, _, result, times = story

    context = treatment_context(
        session, result.patient.id, result.treatment.id, times["reply"], EDMONTON, templates_dir
    )

    assert context is not None
    assert context.title == "Microneedling"  # the plan's title, not the slug
    assert context.day == 1
    assert context.last_step is not None
    assert context.last_step.label == "Day 1 message"
    assert context.last_step.channel is Channel.SMS
    assert context.last_step.sent_at == times["day1"].astimezone(EDMONTON)
    before = treatment_context(
        session, result.patient.id, None, times["day1"] - timedelta(minutes=1), EDMONTON,
        templates_dir,
    )  # fmt: skip
    assert before is not None
    assert (before.day, before.last_step) == (1, None)
