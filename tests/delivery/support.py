"""Small factories and wiring shared by the dispatch, worker and status-webhook tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import Clock
from followup.core.links import LinkSigner
from followup.delivery import Dispatcher, DispatchOptions, JobBuilder, RetryPolicy, Transports
from followup.delivery.transports.base import EmailTransport, NullTransport, SmsTransport
from followup.models import (
    Channel,
    ChannelPreference,
    Clinic,
    Language,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)

SENDER = "+14035550100"
PUBLIC_URL = "https://followup.test"
SECRET = "dispatch-tests-secret-key-0123456789abcdef"


def make_clinic(session: Session, *, sender: str | None = SENDER, slug: str = "bow") -> Clinic:
    clinic = Clinic(
        slug=slug,
        name="Bow Valley Skin",
        timezone="America/Edmonton",
        country="CA",
        sender_number=sender,
        contact_phone="+14035550148",
        contact_email="desk@bowvalley.test",
    )
    session.add(clinic)
    session.flush()
    return clinic


def make_patient(
    session: Session,
    clinic: Clinic,
    *,
    phone: str = "+14035551234",
    email: str | None = None,
    first_name: str = "Alex",
    language: Language = Language.EN,
) -> Patient:
    patient = Patient(
        clinic_id=clinic.id,
        first_name=first_name,
        phone=phone,
        email=email,
        channel=ChannelPreference.SMS,
        language=language,
    )
    session.add(patient)
    session.flush()
    return patient


def make_treatment(session: Session, patient: Patient, treated_at: datetime) -> Treatment:
    treatment = Treatment(patient_id=patient.id, kind="microneedling", treated_at=treated_at)
    session.add(treatment)
    session.flush()
    return treatment


def make_message(
    session: Session,
    clinic: Clinic,
    patient: Patient | None,
    treatment: Treatment | None,
    *,
    send_at: datetime,
    step: str | None = "day1",
    channel: Channel = Channel.SMS,
    kind: MessageKind = MessageKind.PLAN,
    expires_at: datetime | None = None,
    body: str | None = None,
    recipient: str | None = None,
    status: MessageStatus = MessageStatus.SCHEDULED,
) -> ScheduledMessage:
    message = ScheduledMessage(
        clinic_id=clinic.id,
        patient_id=patient.id if patient else None,
        treatment_id=treatment.id if treatment else None,
        kind=kind,
        step=step if kind is MessageKind.PLAN else None,
        channel=channel,
        recipient=recipient,
        body=body,
        send_at=send_at,
        next_attempt_at=send_at,
        expires_at=expires_at if expires_at is not None else send_at + timedelta(days=2),
        status=status,
    )
    session.add(message)
    session.flush()
    return message


def make_dispatcher(
    sessions: sessionmaker[Session],
    clock: Clock,
    templates_dir: Path,
    *,
    sms: SmsTransport | None = None,
    email: EmailTransport | None = None,
    **options: Any,
) -> Dispatcher:
    null = NullTransport()
    defaults: dict[str, Any] = {
        "batch_size": 50,
        "concurrency": 4,
        "lease_seconds": 60,
        "retry": RetryPolicy(max_attempts=4, base_seconds=30, cap_seconds=600),
        "status_callback_url": PUBLIC_URL + "/webhooks/twilio/status",
    }
    return Dispatcher(
        sessions,
        Transports(sms=sms or null, email=email or null),
        JobBuilder(templates_dir, LinkSigner(SECRET, PUBLIC_URL)),
        clock=clock,
        options=DispatchOptions(**(defaults | options)),
        rng=random.Random(7),
    )


def statuses(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(ScheduledMessage.status, func.count()).group_by(ScheduledMessage.status)
    ).all()
    return {status.value: count for status, count in rows}


def events_of(session: Session, message_id: int) -> list[tuple[str | None, str]]:
    rows = session.execute(
        select(MessageEvent.from_status, MessageEvent.to_status)
        .where(MessageEvent.message_id == message_id)
        .order_by(MessageEvent.id)
    ).all()
    return [(a.value if a else None, b.value) for a, b in rows]


def bulk_due_messages(engine: Engine, count: int, *, due_at: datetime, sender: str = SENDER) -> int:
    """`count` due day-1 SMS, one patient and treatment each (fast: Core executemany).

    Each patient has its own number and first name, so every body is unique and a
    duplicate at the provider shows up as a repeated (to, body) pair. Returns the clinic id.
    """
    with engine.begin() as conn:
        clinic_id = conn.execute(
            insert(Clinic).returning(Clinic.id),
            {
                "slug": "bulk",
                "name": "Bulk Clinic",
                "timezone": "America/Edmonton",
                "country": "CA",
                "sender_number": sender,
                "contact_phone": "+14035550148",
            },
        ).scalar_one()
        first_patient = conn.scalar(select(func.coalesce(func.max(Patient.id), 0))) or 0
        conn.execute(
            insert(Patient),
            [
                {
                    "id": first_patient + i + 1,
                    "clinic_id": clinic_id,
                    "first_name": f"P{i}",
                    "last_name": "",
                    "phone": f"+1403{i:07d}",
                    "channel": ChannelPreference.SMS,
                    "language": Language.EN,
                }
                for i in range(count)
            ],
        )
        first_treatment = conn.scalar(select(func.coalesce(func.max(Treatment.id), 0))) or 0
        treated_at = due_at - timedelta(days=1)
        conn.execute(
            insert(Treatment),
            [
                {
                    "id": first_treatment + i + 1,
                    "patient_id": first_patient + i + 1,
                    "kind": "microneedling",
                    "treated_at": treated_at,
                }
                for i in range(count)
            ],
        )
        conn.execute(
            insert(ScheduledMessage),
            [
                {
                    "clinic_id": clinic_id,
                    "patient_id": first_patient + i + 1,
                    "treatment_id": first_treatment + i + 1,
                    "kind": MessageKind.PLAN,
                    "step": "day1",
                    "channel": Channel.SMS,
                    "send_at": due_at,
                    "next_attempt_at": due_at,
                    "expires_at": due_at + timedelta(days=2),
                    "status": MessageStatus.SCHEDULED,
                    "attempts": 0,
                }
                for i in range(count)
            ],
        )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('patient_id_seq', (SELECT max(id) FROM patient))")
            conn.exec_driver_sql(
                "SELECT setval('treatment_id_seq', (SELECT max(id) FROM treatment))"
            )
    return int(clinic_id)
