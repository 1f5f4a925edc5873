"""Declarative base, the UTC timestamp type and the enums stored in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases.

    PostgreSQL stores `timestamptz`; SQLite has no zone, so values are stored as UTC and
    come back with UTC attached. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_class: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint holding the allowed values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class ChannelPreference(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    BOTH = "both"

    def channels(self) -> tuple[Channel, ...]:
        if self is ChannelPreference.BOTH:
            return (Channel.SMS, Channel.EMAIL)
        return (Channel(self.value),)


class Language(StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"


class MessageKind(StrEnum):
    PLAN = "plan"  # a step of a treatment's follow-up plan
    STAFF_REPLY = "staff_reply"  # typed by staff on the dashboard
    AUTO_REPLY = "auto_reply"  # confirmations and answers to keywords
    STAFF_ALERT = "staff_alert"  # escalation notices to on-call contacts


class MessageStatus(StrEnum):
    SCHEDULED = "scheduled"
    PAUSED = "paused"
    SENDING = "sending"
    RETRY = "retry"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NEEDS_REVIEW = "needs_review"


PENDING_STATUSES = (MessageStatus.SCHEDULED, MessageStatus.RETRY, MessageStatus.PAUSED)
CLAIMABLE_STATUSES = (MessageStatus.SCHEDULED, MessageStatus.RETRY)
# Failed, undelivered or unclear: the dashboard lists these for a person to look at.
NEEDS_PERSON_STATUSES = (
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.NEEDS_REVIEW,
)


class CheckinAnswer(StrEnum):
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


class EscalationPriority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    INBOX = "inbox"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
