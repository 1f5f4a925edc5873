"""One patient's story in one list: every message out (with its status changes), every
reply in (with photos), every escalation and every staff note.

A fixed handful of queries whatever the patient's history (no query per row), so the
patient page costs the same for a patient with three messages or three hundred.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from followup.models import (
    Escalation,
    InboundMessage,
    MessageEvent,
    ScheduledMessage,
    StaffNote,
    StaffUser,
)


class EntryKind(StrEnum):
    MESSAGE = "message"
    REPLY = "reply"
    ESCALATION = "escalation"
    NOTE = "note"


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline; exactly one of the row fields is set, matching `kind`."""

    at: datetime
    kind: EntryKind
    message: ScheduledMessage | None = None
    events: list[MessageEvent] = field(default_factory=list)
    reply: InboundMessage | None = None
    escalation: Escalation | None = None
    note: StaffNote | None = None
    author: str | None = None  # a note's author, an escalation's last handler


def message_time(message: ScheduledMessage) -> datetime:
    """When a message happened: when it went out, else when it is planned."""
    return message.sent_at or message.send_at


def build_timeline(session: Session, clinic_id: int, patient_id: int) -> list[TimelineEntry]:
    """Everything about one patient of one clinic, newest first."""
    names = staff_names(session, clinic_id)
    entries = _message_entries(session, clinic_id, patient_id)
    replies = session.scalars(
        select(InboundMessage).where(
            InboundMessage.clinic_id == clinic_id, InboundMessage.patient_id == patient_id
        )
    )
    entries.extend(
        TimelineEntry(at=reply.received_at, kind=EntryKind.REPLY, reply=reply) for reply in replies
    )
    entries.extend(_escalation_entries(session, clinic_id, patient_id, names))
    notes = session.scalars(select(StaffNote).where(StaffNote.patient_id == patient_id))
    entries.extend(
        TimelineEntry(
            at=note.created_at, kind=EntryKind.NOTE, note=note, author=names.get(note.author_id)
        )
        for note in notes
    )
    # Newest first; at equal times keep a stable, readable order (out before in).
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


def staff_names(session: Session, clinic_id: int) -> dict[int, str]:
    """Display names of a clinic's staff, by id (one query)."""
    rows = session.execute(
        select(StaffUser.id, StaffUser.name, StaffUser.email).where(
            StaffUser.clinic_id == clinic_id
        )
    )
    return {staff_id: name or email for staff_id, name, email in rows}
