"""The outbox (every message we send is a row), its event log, and replies we receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.models.base import (
    Base,
    Channel,
    MessageKind,
    MessageStatus,
    str_enum,
)


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
    __table_args__ = (
        UniqueConstraint("treatment_id", "step", "channel"),
        # Serves the claim: WHERE status IN (scheduled, retry) AND next_attempt_at <= now
        # ORDER BY next_attempt_at.
        Index("ix_scheduled_message_due", "status", "next_attempt_at"),
        Index("ix_scheduled_message_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatment.id"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"), index=True)
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
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
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
