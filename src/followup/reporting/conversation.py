"""One patient's conversation with the clinic, oldest first: every message the clinic sent
(plan steps, automatic answers, staff texts; not the alerts to on-call staff), every reply
with its photos, and the notes staff wrote (never sent).

The words shown are the words kept when the message was sent (see ScheduledMessage), so a
template edited later does not rewrite what the clinic told the patient; where the words
are gone, a record says why. Times are in the clinic's zone. Three queries whatever the
patient's history (four without the staff names); plain records out, no ORM objects, so
the page only presents them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from followup.models import (
    Channel,
    Escalation,
    InboundMessage,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    StaffNote,
    Treatment,
)
from followup.reporting.timeline import StaffDirectory, staff_directory
from followup.reporting.treatment_context import step_label

# A plan step shows once it was handed to (or tried at) the provider; the ones still
# waiting, and those cancelled or expired before sending, are the schedule, not the
# conversation. Staff texts and automatic answers show from the moment they are queued.
_TRIED = (
    MessageStatus.SENDING,
    MessageStatus.RETRY,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
    MessageStatus.NEEDS_REVIEW,
)


class Side(StrEnum):
    PATIENT = "patient"
    CLINIC = "clinic"
    STAFF = "staff"  # notes between colleagues: not sent to the patient


class BubbleKind(StrEnum):
    PLAN = "plan"
    AUTOMATIC = "automatic"  # an answer the service gave by itself
    STAFF_TEXT = "staff_text"
    REPLY = "reply"
    NOTE = "note"


@dataclass(frozen=True)
class Photo:
    url: str | None  # None: not an https link, so not offered to the browser
    content_type: str


@dataclass(frozen=True)
class Bubble:
    """One message of the conversation. `text` is None when the words are not there;
    `missing` then says why."""

    key: str  # unique within the conversation, usable as an HTML id
    at: datetime  # in the clinic's zone
    side: Side
    kind: BubbleKind
    label: str  # "Day 1 message", "Automatic answer", "Ada Lovelace", "Reply"
    text: str | None
    subject: str | None = None
    channel: Channel | None = None
    status: MessageStatus | None = None  # outbound messages: their delivery status
    missing: str | None = None
    error: str | None = None  # why an outbound message did not (yet) go
    photos: tuple[Photo, ...] = ()
    urgent: bool = False
    intent: str | None = None
    inbound_id: int | None = None  # a reply's id (the escalation page highlights its own)
    escalation_id: int | None = None  # the escalation a reply opened, or a note is about


def conversation(
    session: Session,
    patient: Patient,
    zone: ZoneInfo,
    templates_dir: Path,
    staff: StaffDirectory | None = None,
) -> list[Bubble]:
    """Everything said between the clinic and `patient` (of `patient.clinic_id` only),
    oldest first; at the same instant a reply comes before the answer to it. `staff`: the
    clinic's staff names, when the caller has them already (else one more query)."""
    staff = staff or staff_directory(session, patient.clinic_id)
    by_email, by_id = staff.by_email, staff.by_id
    ranked: list[tuple[datetime, int, int, Bubble]] = []
    for row in _outbound(session, patient):
        bubble = _outbound_bubble(row, zone, templates_dir, by_email)
        ranked.append((_sent_time(row), 2, row.id, bubble))
    for reply, escalation_id in _inbound(session, patient):
        bubble = _reply_bubble(reply, zone, escalation_id)
        ranked.append((reply.received_at, 0, reply.id, bubble))
        if reply.reply_body:
            ranked.append((reply.received_at, 1, reply.id, _answer_bubble(reply, zone)))
    for note in _notes(session, patient):
        ranked.append((note.created_at, 3, note.id, _note_bubble(note, zone, by_id)))
    ranked.sort(key=lambda item: item[:3])
    return [bubble for *_, bubble in ranked]


def _outbound(session: Session, patient: Patient) -> Iterable[Any]:
    return session.execute(
        select(
            ScheduledMessage.id,
            ScheduledMessage.kind,
            ScheduledMessage.step,
            ScheduledMessage.channel,
            ScheduledMessage.subject,
            ScheduledMessage.body,
            ScheduledMessage.status,
            ScheduledMessage.send_at,
            ScheduledMessage.sent_at,
            ScheduledMessage.error_message,
            ScheduledMessage.created_by,
            ScheduledMessage.body_purged_at,
            Treatment.kind.label("plan"),
        )
        .outerjoin(Treatment, Treatment.id == ScheduledMessage.treatment_id)
        .where(
            ScheduledMessage.clinic_id == patient.clinic_id,
            ScheduledMessage.patient_id == patient.id,
            ScheduledMessage.kind != MessageKind.STAFF_ALERT,
            or_(
                ScheduledMessage.kind != MessageKind.PLAN,
                ScheduledMessage.sent_at.is_not(None),
                ScheduledMessage.status.in_(_TRIED),
            ),
        )
    ).all()


def _inbound(session: Session, patient: Patient) -> Iterable[Any]:
    """The patient's replies, each with the escalation it opened (if any)."""
    return session.execute(
        select(InboundMessage, Escalation.id)
        .outerjoin(Escalation, Escalation.inbound_message_id == InboundMessage.id)
        .where(
            InboundMessage.clinic_id == patient.clinic_id,
            InboundMessage.patient_id == patient.id,
        )
    ).all()


def _notes(session: Session, patient: Patient) -> Iterable[StaffNote]:
    return session.scalars(select(StaffNote).where(StaffNote.patient_id == patient.id)).all()


def _sent_time(row: Any) -> datetime:
    """When a message went out, else when it is (or was) due."""
    sent: datetime = row.sent_at or row.send_at
    return sent


def _outbound_bubble(
    row: Any, zone: ZoneInfo, templates_dir: Path, staff_by_email: dict[str, str]
) -> Bubble:
    if row.kind is MessageKind.PLAN:
        kind, label = BubbleKind.PLAN, step_label(templates_dir, row.plan, row.step)
    elif row.kind is MessageKind.STAFF_REPLY:
        kind = BubbleKind.STAFF_TEXT
        label = staff_by_email.get(row.created_by or "", row.created_by or "Staff")
    else:
        kind, label = BubbleKind.AUTOMATIC, "Automatic answer"
    failed = row.status in (MessageStatus.FAILED, MessageStatus.RETRY, MessageStatus.UNDELIVERED)
    return Bubble(
        key=f"out-{row.id}",
        at=_sent_time(row).astimezone(zone),
        side=Side.CLINIC,
        kind=kind,
        label=label,
        text=row.body,
        subject=row.subject if row.channel is Channel.EMAIL else None,
        channel=row.channel,
        status=row.status,
        missing=_why_no_words(row, zone) if row.body is None else None,
        error=row.error_message if failed else None,
    )


def _why_no_words(row: Any, zone: ZoneInfo) -> str:
    if row.body_purged_at is not None:
        day = row.body_purged_at.astimezone(zone).strftime("%b %-d, %Y")
        return f"The words were removed on {day}, after the clinic's retention period."
    if row.sent_at is None:
        return "Not sent: the words are kept once the message goes out."
    return "The words of this message were not kept (it was sent before copies were kept)."


def _reply_bubble(reply: InboundMessage, zone: ZoneInfo, escalation_id: int | None) -> Bubble:
    missing = None
    if reply.body is None and reply.body_purged_at is not None:
        day = reply.body_purged_at.astimezone(zone).strftime("%b %-d, %Y")
        missing = f"The text was removed on {day}, after the clinic's retention period."
    return Bubble(
        key=f"reply-{reply.id}",
        at=reply.received_at.astimezone(zone),
        side=Side.PATIENT,
        kind=BubbleKind.REPLY,
        label="Reply",
        text=reply.body if reply.body else None,
        channel=reply.channel,
        missing=missing or (None if reply.body else "(no text)"),
        photos=tuple(_photo(media) for media in reply.media or ()),
        urgent=reply.urgent,
        intent=reply.intent,
        inbound_id=reply.id,
        escalation_id=escalation_id,
    )


def _photo(media: dict[str, Any]) -> Photo:
    url = str(media.get("url") or "")
    # Only https links are offered: anything else in a webhook field is not Twilio's.
    return Photo(url if url.startswith("https://") else None, str(media.get("content_type") or ""))


def _answer_bubble(reply: InboundMessage, zone: ZoneInfo) -> Bubble:
    """The answer given at once, in the webhook's own response (TwiML): no delivery report
    comes back for it, so it carries no status."""
    return Bubble(
        key=f"answer-{reply.id}",
        at=reply.received_at.astimezone(zone),
        side=Side.CLINIC,
        kind=BubbleKind.AUTOMATIC,
        label="Automatic answer",
        text=reply.reply_body,
        channel=reply.channel,
    )


def _note_bubble(note: StaffNote, zone: ZoneInfo, staff_by_id: dict[int, str]) -> Bubble:
    return Bubble(
        key=f"note-{note.id}",
        at=note.created_at.astimezone(zone),
        side=Side.STAFF,
        kind=BubbleKind.NOTE,
        label=staff_by_id.get(note.author_id, "Staff"),
        text=note.body,
        escalation_id=note.escalation_id,
    )
