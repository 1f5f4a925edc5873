"""Escalations: replies that need a person, and what staff did about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.models.base import Base, EscalationPriority, EscalationStatus, str_enum


class Escalation(Base):
    __tablename__ = "escalation"
    __table_args__ = (Index("ix_escalation_queue", "clinic_id", "status", "priority", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatment.id"))
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    priority: Mapped[EscalationPriority] = mapped_column(
        str_enum(EscalationPriority, "escalation_priority")
    )
    status: Mapped[EscalationStatus] = mapped_column(
        str_enum(EscalationStatus, "escalation_status"), default=EscalationStatus.OPEN
    )
    reason: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    last_notified_at: Mapped[datetime | None]
    notify_count: Mapped[int] = mapped_column(Integer, default=0)

    notes: Mapped[list[StaffNote]] = relationship(
        back_populates="escalation", order_by="StaffNote.created_at"
    )


class StaffNote(Base):
    """A note a staff member wrote on a patient, optionally about one escalation."""

    __tablename__ = "staff_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    escalation: Mapped[Escalation | None] = relationship(back_populates="notes")
