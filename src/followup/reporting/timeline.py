"""One patient's plan and what became of it, newest first: every message out with its
status changes (scheduled, sent, delivered, failed, cancelled, ...) and every escalation
with its handling. The words exchanged (replies, answers, notes) are the conversation's
(reporting.conversation), shown beside it.

A fixed handful of queries whatever the patient's history (no query per row), so the
patient page costs the same for a patient with three messages or three hundred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followup.models import (
    Escalation,
    MessageEvent,
    ScheduledMessage,
    StaffUser,
)


class EntryKind(StrEnum):
    MESSAGE = "message"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline; exactly one of the row fields is set, matching `kind`."""

    at: datetime
    kind: EntryKind
    message: ScheduledMessage | None = None
    events: list[MessageEvent] = field(default_factory=list)
    escalation: Escalation | None = None
    author: str | None = None  # an escalation's last handler


def message_time(message: ScheduledMessage) -> datetime:
    """When a message happened: when it went out, else when it is planned."""
    return message.sent_at or message.send_at


def build_timeline(
    session: Session, clinic_id: int, patient_id: int, names: dict[int, str] | None = None
) -> list[TimelineEntry]:
    """The messages and escalations of one patient of one clinic, newest first. `names`:
    the clinic's staff names, when the caller has them already."""
    names = staff_names(session, clinic_id) if names is None else names
    entries = _message_entries(session, clinic_id, patient_id)
    entries.extend(_escalation_entries(session, clinic_id, patient_id, names))
    # Newest first; at equal times keep a stable, readable order (a message before the
    # escalation it may have caused).
    order = {kind: rank for rank, kind in enumerate(EntryKind)}
    entries.sort(key=lambda entry: (entry.at, -order[entry.kind]), reverse=True)
    return entries


def _message_entries(session: Session, clinic_id: int, patient_id: int) -> list[TimelineEntry]:
    """Messages with their status events: two queries in all (selectin), not one per row."""
    messages = session.scalars(
        select(ScheduledMessage)
        .where(ScheduledMessage.clinic_id == clinic_id, ScheduledMessage.patient_id == patient_id)
        .options(selectinload(ScheduledMessage.events))
    )
    return [
        TimelineEntry(
            at=message_time(message),
            kind=EntryKind.MESSAGE,
            message=message,
            events=list(message.events),
        )
        for message in messages
    ]


def _escalation_entries(
    session: Session, clinic_id: int, patient_id: int, names: dict[int, str]
) -> list[TimelineEntry]:
    escalations = session.scalars(
        select(Escalation).where(
            Escalation.clinic_id == clinic_id, Escalation.patient_id == patient_id
        )
    )
    entries = []
    for escalation in escalations:
        handler = escalation.resolved_by_id or escalation.acknowledged_by_id
        entries.append(
            TimelineEntry(
                at=escalation.opened_at,
                kind=EntryKind.ESCALATION,
                escalation=escalation,
                author=names.get(handler) if handler else None,
            )
        )
    return entries


@dataclass(frozen=True)
class StaffDirectory:
    """Display names of a clinic's staff (the name, else the email), by id and by email."""

    by_id: dict[int, str]
    by_email: dict[str, str]

    @classmethod
    def of(cls, members: Iterable[Any]) -> StaffDirectory:
        """From staff rows already loaded (anything with id, name and email)."""
        rows = [(member.id, member.name, member.email) for member in members]
        return cls(
            {staff_id: name or email for staff_id, name, email in rows},
            {email: name or email for _, name, email in rows},
        )


def staff_directory(session: Session, clinic_id: int) -> StaffDirectory:
    """A clinic's staff names (one query), for pages that show who did what."""
    return StaffDirectory.of(
        session.execute(
            select(StaffUser.id, StaffUser.name, StaffUser.email).where(
                StaffUser.clinic_id == clinic_id
            )
        ).all()
    )


def staff_names(session: Session, clinic_id: int) -> dict[int, str]:
    """Display names of a clinic's staff, by id (one query)."""
    return staff_directory(session, clinic_id).by_id
