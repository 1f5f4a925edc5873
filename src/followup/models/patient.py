"""Patients and their treatments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.models.base import Base, ChannelPreference, CheckinAnswer, Language, str_enum


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (Index("ix_patient_clinic_phone", "clinic_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[ChannelPreference] = mapped_column(
        str_enum(ChannelPreference, "channel_preference"), default=ChannelPreference.SMS
    )
    language: Mapped[Language] = mapped_column(str_enum(Language, "language"), default=Language.EN)
    consent_at: Mapped[datetime | None]
    consent_method: Mapped[str | None] = mapped_column(String(40))
    consent_recorded_by: Mapped[str | None] = mapped_column(String(254))
    opted_out_at: Mapped[datetime | None]
    opt_out_source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    treatments: Mapped[list[Treatment]] = relationship(
        back_populates="patient", order_by="Treatment.treated_at"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Treatment(Base):
    __tablename__ = "treatment"
    # Enrolling the same patient for the same treatment twice must not make a second schedule.
    __table_args__ = (UniqueConstraint("patient_id", "kind", "treated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))  # the plan's name, e.g. "microneedling"
    treated_at: Mapped[datetime]
    practitioner: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    checkin_answer: Mapped[CheckinAnswer | None] = mapped_column(
        str_enum(CheckinAnswer, "checkin_answer")
    )
    checkin_at: Mapped[datetime | None]
    enrolled_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    patient: Mapped[Patient] = relationship(back_populates="treatments")
