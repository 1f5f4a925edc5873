"""The outbox (every message we send is a row), its event log, and replies we receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.models.base import (
    CLAIMABLE_STATUSES,
    NEEDS_PERSON_STATUSES,
    PENDING_STATUSES,
    Base,
    Channel,
    MessageKind,
    MessageStatus,
    str_enum,
)


def _in_sql(statuses: tuple[MessageStatus, ...]) -> str:
    return "status IN (" + ", ".join(f"'{status.value}'" for status in statuses) + ")"


# The predicates of the partial indexes below, as SQL text. A query uses a partial index
# only when its WHERE implies the index's: PostgreSQL proves that for literals but not for
# bound parameters once it switches a prepared statement to a generic plan, and SQLite
# only recognises the very same term. So queries say them with `status_is` (literals).
CLAIMABLE_SQL = _in_sql(CLAIMABLE_STATUSES)
PENDING_SQL = _in_sql(PENDING_STATUSES)
NEEDS_PERSON_SQL = _in_sql(NEEDS_PERSON_STATUSES)
SENDING_SQL = "status = 'sending'"


def _partial(sql: str) -> dict[str, Any]:
    return {"postgresql_where": text(sql), "sqlite_where": text(sql)}


class ScheduledMessage(Base):
    """One message to send: a plan step, a staff reply, an auto-reply or a staff alert.

    `subject` and `body` are the words the patient was given. Plan messages are rendered
    at send time (so a corrected template or phone number is used) and the rendered SMS
    body, or the email's subject and text, is kept here the first time a transport takes
    it; from then on the words never change (a later edit of the template does not rewrite
    what the clinic told the patient) and a resend sends the kept words. Other kinds carry
    their body from the start. `next_attempt_at` is when the row is next due: `send_at` at
    first, later the backoff time of a retry.
    """

    __tablename__ = "scheduled_message"
    # Every index is written on each insert and on each status change whose new row
    # version it holds, so each one here is named with the query it serves. Most are
    # partial: a message is in the claim's index only while it waits, in the lease index
    # only while it is being sent, and a sent message (most rows) is in neither.
    __table_args__ = (
        # Enrollment refuses a second schedule for the same step; plan actions, the reply
        # use case, outcomes, the patient list and the reports find a treatment's messages.
        UniqueConstraint("treatment_id", "step", "channel"),
        # The claim (delivery.claim): WHERE status IN ('scheduled', 'retry') AND
        # next_attempt_at <= now ORDER BY next_attempt_at LIMIT n FOR UPDATE SKIP LOCKED.
        # An index scan that stops after n rows, however many are due; also the queue's
        # depth and oldest due message for /healthz, `followup status` and /metrics.
        Index("ix_scheduled_message_claimable", "next_attempt_at", **_partial(CLAIMABLE_SQL)),
        # Recovery (delivery.recovery): WHERE status = 'sending' AND lease_expires_at < now
        # ORDER BY lease_expires_at.
        Index("ix_scheduled_message_in_flight", "lease_expires_at", **_partial(SENDING_SQL)),
        # The dashboard's "going out today" (escalations.worklists.messages_today):
        # WHERE clinic_id = ? AND status IN (pending) AND next_attempt_at in the local day;
        # and the housekeeping expiry of waiting messages past their window.
        Index(
            "ix_scheduled_message_clinic_pending",
            "clinic_id",
            "next_attempt_at",
            **_partial(PENDING_SQL),
        ),
        # The dashboard's "needs a person" (worklists.messages_needing_person): WHERE
        # clinic_id = ? AND status IN ('failed', 'undelivered', 'needs_review').
        Index(
            "ix_scheduled_message_needs_person",
            "clinic_id",
            "updated_at",
            **_partial(NEEDS_PERSON_SQL),
        ),
        # The Twilio status callback finds its message by provider id (set once sent).
        Index(
            "ix_scheduled_message_provider_id",
            "provider_id",
            **_partial("provider_id IS NOT NULL"),
        ),
        # An escalation's alerts and staff replies (escalation page, SLA re-alerts); plan
        # messages, most rows, have none.
        Index(
            "ix_scheduled_message_escalation_id",
            "escalation_id",
            **_partial("escalation_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    # The patient's timeline, the API's message list, and STOP cancelling what is pending.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatment.id"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    step: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    recipient: Mapped[str | None] = mapped_column(String(254))  # None: the patient's own address
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    send_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "message_status"), default=MessageStatus.SCHEDULED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]
    # When retention removed subject and body (an empty body otherwise means the words
    # were never kept: sent before copies were kept).
    body_purged_at: Mapped[datetime | None]

    events: Mapped[list[MessageEvent]] = relationship(
        back_populates="message", order_by="MessageEvent.id"
    )


def status_is(*statuses: MessageStatus) -> ColumnElement[bool]:
    """`scheduled_message.status IN ('a', 'b')` with the values as literals, not parameters,
    so the partial indexes below can serve the query (see CLAIMABLE_SQL)."""
    column = ScheduledMessage.status
    if len(statuses) == 1:
        return column == literal_column(f"'{statuses[0].value}'")
    return column.in_([literal_column(f"'{status.value}'") for status in statuses])


class MessageEvent(Base):
    """Every status change of a message, with when and why."""

    __tablename__ = "message_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("scheduled_message.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[MessageStatus | None] = mapped_column(
        str_enum(MessageStatus, "message_event_from_status")
    )
    to_status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "message_event_to_status")
    )
    detail: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(254))  # worker id, staff email, "twilio"

    message: Mapped[ScheduledMessage] = relationship(back_populates="events")


class InboundMessage(Base):
    """A reply as received, with what the classifier made of it. Unique by provider SID, so a
    provider's retry of the same webhook has no second effect."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("provider_sid"),
        # Enrollment asks for a number's latest carrier keyword at the clinic (a STOP sent
        # before the number was a patient's must still hold).
        Index("ix_inbound_message_clinic_from", "clinic_id", "from_address", "received_at"),
        # The unknown-numbers page: a clinic's texts with no patient, newest first.
        Index("ix_inbound_message_clinic_unknown", "clinic_id", "patient_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64))
    # Indexed by the two clinic_id-first indexes above, not on its own.
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatment.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "inbound_channel"))
    from_address: Mapped[str] = mapped_column(String(254))
    to_address: Mapped[str] = mapped_column(String(254))
    body: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    intent: Mapped[str] = mapped_column(String(20))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)
    opt_out_type: Mapped[str | None] = mapped_column(String(20))
    reply_body: Mapped[str | None] = mapped_column(Text)  # what we answered inline (TwiML)
    received_at: Mapped[datetime]
    body_purged_at: Mapped[datetime | None]
