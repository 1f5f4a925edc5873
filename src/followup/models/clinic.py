"""Clinics, the people who work there, and how outside systems authenticate to them."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.models.base import Base, Role, str_enum

# Monday to Friday as a bit set of date.weekday() numbers (bit 0 is Monday).
WEEKDAYS_MASK = 0b0011111


class Clinic(Base):
    __tablename__ = "clinic"
    __table_args__ = (
        # A clinic reads its messages on at least one day, and within one day: the
        # acknowledgement of a reply tells patients these hours.
        CheckConstraint("office_days BETWEEN 1 AND 127", name="office_days"),
        CheckConstraint("office_opens_at < office_closes_at", name="office_hours_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # What SMS bodies call the clinic: every character of the name is paid for in every
    # message, so a long legal name gets a short form here.
    sms_name: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="CA")
    sender_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    default_send_time: Mapped[time] = mapped_column(Time, default=time(10, 0))
    quiet_start: Mapped[time] = mapped_column(Time, default=time(21, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(8, 0))
    urgent_sla_minutes: Mapped[int] = mapped_column(Integer, default=15)
    normal_sla_minutes: Mapped[int] = mapped_column(Integer, default=120)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # When staff read patients' texts (clinic-local): the days as a bit set of
    # date.weekday() numbers, and one opening and closing time for those days.
    office_days: Mapped[int] = mapped_column(Integer, default=WEEKDAYS_MASK)
    office_opens_at: Mapped[time] = mapped_column(Time, default=time(9, 0))
    office_closes_at: Mapped[time] = mapped_column(Time, default=time(17, 0))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    staff: Mapped[list[StaffUser]] = relationship(back_populates="clinic")
    on_call_contacts: Mapped[list[OnCallContact]] = relationship(back_populates="clinic")


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role"), default=Role.STAFF)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an admin resets the password: the temporary one only opens the page where
    # its holder chooses their own.
    password_change_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    clinic: Mapped[Clinic] = relationship(back_populates="staff")


class OnCallContact(Base):
    """Who is told about a new escalation, by SMS and/or email."""

    __tablename__ = "on_call_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    urgent_only: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    clinic: Mapped[Clinic] = relationship(back_populates="on_call_contacts")


class ApiToken(Base):
    """A per-clinic token for booking systems; only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer to an API request made with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("clinic_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
