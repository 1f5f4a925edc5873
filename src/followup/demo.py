"""A demo clinic for `make run`: a staff login and patients at different stages of their plan,
so every dashboard page has something to show: delivered messages, one failed, an urgent
escalation waiting, a question in the inbox, a resolved case with notes, an on-call contact.

History is written through the same use cases as real traffic (enroll, outbox transitions,
the escalation lifecycle), as if each patient had been enrolled right after treatment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.admin.clinics import create_clinic, create_staff, send_rules
from followup.core.links import LinkSigner
from followup.delivery.compose import outgoing_email, outgoing_sms
from followup.delivery.context import JobBuilder
from followup.delivery.outbox import transition
from followup.delivery.outcomes import keep_copy
from followup.delivery.send import sent_copy
from followup.enrollment.enroll import EnrollmentRequest, EnrollmentResult, enroll
from followup.enrollment.plan_actions import reschedule_message
from followup.escalations import lifecycle as escalations
from followup.messages.automatic import reply_texts
from followup.messages.rendering import MessageRenderer
from followup.models import (
    Channel,
    ChannelPreference,
    CheckinAnswer,
    Clinic,
    EscalationPriority,
    InboundMessage,
    Language,
    MessageStatus,
    OnCallContact,
    Role,
    ScheduledMessage,
    StaffUser,
)

DEMO_SLUG = "bow-river"
DEMO_EMAIL = "nurse@bowriver.example"
DEMO_PASSWORD = "followup-demo"  # noqa: S105 - printed by `make run`; demo database only
DEMO_SENDER = "+14035550199"
ACTOR = "demo"

_DEMO_PATIENTS = [
    # first, last, phone, email, channel, language, days since treatment
    ("Maya", "Chen", "+14035550101", "maya@example.com", ChannelPreference.BOTH, Language.EN, 0),
    ("Liam", "Tremblay", "+15875550102", None, ChannelPreference.SMS, Language.FR, 2),
    ("Ava", "Singh", "+14035550103", "ava@example.com", ChannelPreference.SMS, Language.EN, 4),
    ("Noah", "Wilson", "+17805550104", None, ChannelPreference.SMS, Language.EN, 6),
    ("Zoe", "Martin", "+14035550105", "zoe@example.com", ChannelPreference.EMAIL, Language.EN, 8),
    ("Omar", "Haddad", "+14035550106", None, ChannelPreference.SMS, Language.EN, 3),
    (
        "Sofía",
        "Ramírez",
        "+14035550107",
        "sofia@example.com",
        ChannelPreference.BOTH,
        Language.ES,
        1,
    ),
]


@dataclass(frozen=True)
class DemoLogin:
    """What `make run` prints: the login, and how to play a patient texting the clinic."""

    email: str
    password: str
    created: bool
    clinic_slug: str = DEMO_SLUG
    clinic_number: str = DEMO_SENDER
    patient_phone: str = "+14035550106"  # Omar: texts, day 3, nothing open yet


def seed_demo(
    session: Session, *, templates_dir: Path, now: datetime, signer: LinkSigner | None = None
) -> DemoLogin:
    """Create the demo clinic once; later runs find it and change nothing. With `signer`
    (the app's own), the emails that "went out" keep their words too (they carry signed
    links); SMS always do."""
    if session.scalar(select(Clinic.id).where(Clinic.slug == DEMO_SLUG)) is not None:
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=False)
    clinic, nurse = _clinic_and_staff(session)
    words = _Words(templates_dir, signer)
    enrolled = _enroll_patients(session, clinic, words, now)
    _story_later_today(session, enrolled["Omar"], nurse, now)
    answers = reply_texts(templates_dir)
    _story_urgent(session, clinic, enrolled["Ava"], now, answers.reply("urgent", "en", clinic))
    _story_inbox(session, clinic, enrolled["Liam"], now)
    worse = answers.reply("worse", "en", clinic)
    _story_resolved(session, clinic, enrolled["Zoe"], nurse, now, worse)
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=True)


def _clinic_and_staff(session: Session) -> tuple[Clinic, StaffUser]:
    clinic = create_clinic(
        session,
        name="Bow River Skin Clinic",
        slug=DEMO_SLUG,
        timezone="America/Edmonton",
        contact_phone="+14035550134",
        sender_number=DEMO_SENDER,
        contact_email="care@bowriver.example",
        country="CA",
    )
    nurse = create_staff(
        session,
        clinic,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        role=Role.ADMIN,
        name="Demo Nurse",
    )
    create_staff(
        session,
        clinic,
        email="frontdesk@bowriver.example",
        password=DEMO_PASSWORD,
        role=Role.STAFF,
        name="Front Desk",
    )
    session.add(
        OnCallContact(
            clinic_id=clinic.id,
            name="Dr. Okafor (on call)",
            phone="+14035550177",
            email="oncall@bowriver.example",
            urgent_only=False,
            active=True,
        )
    )
    return clinic, nurse


class _Words:
    """Keeps on a demo message the words the dispatcher would have sent (and kept)."""

    def __init__(self, templates_dir: Path, signer: LinkSigner | None) -> None:
        self.templates_dir = templates_dir
        self.builder = JobBuilder(templates_dir, signer)
        self.renderer = MessageRenderer(templates_dir)
        self.emails = signer is not None

    def keep(self, session: Session, message: ScheduledMessage, at: datetime) -> None:
        [job] = self.builder.build(session, [message], at)
        if job.channel is Channel.SMS:
            sms = outgoing_sms(
                self.renderer, job, messaging_service_sid=None, status_callback_url=None
            )
            keep_copy(message, sent_copy(sms))
        elif self.emails:
            keep_copy(message, sent_copy(outgoing_email(self.renderer, job, email_from=ACTOR)))


def _enroll_patients(
    session: Session, clinic: Clinic, words: _Words, now: datetime
) -> dict[str, EnrollmentResult]:
    enrolled = {}
    for first, last, phone, email, channel, language, days_ago in _DEMO_PATIENTS:
        treated_at = now - timedelta(days=days_ago, hours=2)
        request = EnrollmentRequest(
            first_name=first,
            last_name=last,
            phone=phone,
            email=email,
            channel=channel,
            language=language,
            treatment="microneedling",
            treated_at=treated_at,
            practitioner="Dr. Okafor",
        )
        # Enrolled right after the treatment, as the clinic would have done.
        enrolled[first] = enroll(
            session,
            clinic,
            request,
            templates_dir=words.templates_dir,
            now=treated_at + timedelta(minutes=20),
            actor=ACTOR,
        )
        _deliver_past_messages(
            session,
            enrolled[first],
            now,
            words,
            fail_last=first == "Noah",
            hold_last=first == "Omar",
        )
    return enrolled


def _deliver_past_messages(
    session: Session,
    result: EnrollmentResult,
    now: datetime,
    words: _Words,
    *,
    fail_last: bool = False,
    hold_last: bool = False,
) -> None:
    """Steps whose time has come went out and were delivered; with `fail_last`, the latest
    one bounced instead (the phone was off for days), so Today has a failure to show."""
    due = [m for m in result.messages if m.status is MessageStatus.SCHEDULED and m.send_at <= now]
    if hold_last:
        due = due[:-1]
    for index, message in enumerate(due):
        sent_at = message.send_at + timedelta(seconds=5)
        message.attempts = 1
        message.sent_at = sent_at
        message.provider_id = f"SMdemo{result.treatment.id:04d}{index:02d}"
        words.keep(session, message, message.send_at)
        transition(session, message, MessageStatus.SENDING, at=message.send_at, actor=ACTOR)
        transition(session, message, MessageStatus.SENT, at=sent_at, actor=ACTOR)
        reported = sent_at + timedelta(seconds=4)
        if fail_last and index == len(due) - 1:
            message.error_code = "30003"
            message.error_message = "Unreachable destination handset"
            transition(
                session,
                message,
                MessageStatus.UNDELIVERED,
                at=reported,
                detail="carrier report",
                error_code="30003",
                actor="twilio",
            )
        elif message.channel is Channel.SMS:  # email has no delivery report: stays sent
            message.delivered_at = reported
            transition(
                session,
                message,
                MessageStatus.DELIVERED,
                at=reported,
                detail="carrier report",
                actor="twilio",
            )


def _story_later_today(
    session: Session, result: EnrollmentResult, nurse: StaffUser, now: datetime
) -> None:
    """The patient asked for today's message after work: staff moved it to this evening."""
    waiting = [m for m in result.messages if m.status is MessageStatus.SCHEDULED]
    if waiting:
        rules = send_rules(session.get_one(Clinic, nurse.clinic_id))
        reschedule_message(session, waiting[0], now + timedelta(hours=2), nurse, now, rules)


def _reply(
    session: Session,
    clinic: Clinic,
    result: EnrollmentResult,
    body: str,
    intent: str,
    at: datetime,
    *,
    urgent: bool = False,
    matched: list[str] | None = None,
    answer: str | None = None,
) -> InboundMessage:
    reply = InboundMessage(
        provider_sid=f"SMdemoin{result.patient.id:06d}{int(at.timestamp())}",
        clinic_id=clinic.id,
        patient_id=result.patient.id,
        treatment_id=result.treatment.id,
        channel=Channel.SMS,
        from_address=result.patient.phone,
        to_address=DEMO_SENDER,
        body=body,
        media=[],
        intent=intent,
        urgent=urgent,
        matched=matched or [],
        reply_body=answer,
        received_at=at,
    )
    session.add(reply)
    session.flush()
    return reply


def _story_urgent(
    session: Session, clinic: Clinic, result: EnrollmentResult, now: datetime, answer: str
) -> None:
    at = now - timedelta(minutes=9)
    reply = _reply(
        session,
        clinic,
        result,
        "WORSE - it's swollen and there's pus near my chin",
        "worse",
        at,
        urgent=True,
        matched=["worse", "pus"],
        answer=answer,
    )
    result.treatment.checkin_answer = CheckinAnswer.WORSE
    result.treatment.checkin_at = at
    escalations.open_escalation(
        session,
        clinic=clinic,
        patient=result.patient,
        treatment=result.treatment,
        inbound=reply,
        priority=EscalationPriority.URGENT,
        reason="red flag: pus (possible infection)",
        now=at,
    )


def _story_inbox(session: Session, clinic: Clinic, result: EnrollmentResult, now: datetime) -> None:
    at = now - timedelta(minutes=47)
    reply = _reply(session, clinic, result, "Est-ce que je peux me maquiller demain?", "other", at)
    escalations.open_escalation(
        session,
        clinic=clinic,
        patient=result.patient,
        treatment=result.treatment,
        inbound=reply,
        priority=EscalationPriority.INBOX,
        reason="question for the clinic",
        now=at,
    )


def _story_resolved(
    session: Session,
    clinic: Clinic,
    result: EnrollmentResult,
    nurse: StaffUser,
    now: datetime,
    answer: str,
) -> None:
    at = now - timedelta(days=5, hours=3)
    reply = _reply(
        session, clinic, result, "worse, still very red", "worse", at, matched=["worse"],
        answer=answer,
    )  # fmt: skip
    escalation = escalations.open_escalation(
        session,
        clinic=clinic,
        patient=result.patient,
        treatment=result.treatment,
        inbound=reply,
        priority=EscalationPriority.NORMAL,
        reason="check-in: worse",
        now=at,
    )
    escalations.acknowledge(session, escalation, nurse, at + timedelta(minutes=12))
    escalations.add_note(
        session,
        escalation,
        nurse,
        "Called her: redness as expected on day 3, no heat or pus.",
        at + timedelta(minutes=20),
    )
    escalations.resolve(
        session,
        escalation,
        nurse,
        "Normal healing; reassured, cool compresses.",
        at + timedelta(minutes=21),
    )
