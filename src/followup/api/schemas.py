"""What the API accepts and returns. Lengths follow the database columns, so a request that
passes here can always be stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from followup.models import (
    Channel,
    ChannelPreference,
    CheckinAnswer,
    EscalationPriority,
    EscalationStatus,
    Language,
    MessageKind,
    MessageStatus,
)


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text, and lone surrogates can't be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _plausible_instant(value: datetime) -> datetime:
    # Far-off years overflow when converted to UTC; no clinic treats anyone outside these.
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value.astimezone(UTC)


Text = Annotated[str, AfterValidator(_storable)]
Instant = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]


class EnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Text = Field(min_length=1, max_length=100)
    last_name: Text = Field("", max_length=100)
    phone: Text = Field(
        min_length=1,
        max_length=32,
        description="Mobile number; local numbers use the clinic's country.",
    )
    email: Text | None = Field(None, max_length=254, description="Needed for email/both.")
    treatment: Text = Field(
        min_length=1, max_length=64, description="Treatment kind, e.g. `microneedling`."
    )
    treated_at: Instant = Field(description="When the treatment took place, with an offset.")
    channel: ChannelPreference = ChannelPreference.SMS
    language: Language = Field(
        Language.EN, description="The language of the patient's messages: en, fr or es."
    )
    practitioner: Text | None = Field(None, max_length=200)
    consent_method: Text = Field("in_clinic", min_length=1, max_length=40)


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    treatment_id: int | None
    kind: MessageKind
    step: str | None
    channel: Channel
    status: MessageStatus
    send_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class EnrollmentOut(BaseModel):
    patient_id: int
    treatment_id: int
    treatment: str
    treated_at: datetime
    messages: list[MessageOut]


class TreatmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    treated_at: datetime
    practitioner: str | None
    checkin_answer: CheckinAnswer | None


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    phone: str
    email: str | None
    channel: ChannelPreference
    language: Language
    opted_out_at: datetime | None
    treatments: list[TreatmentOut]


class OptOutOut(BaseModel):
    patient_id: int
    opted_out_at: datetime
    cancelled_messages: int = Field(description="Pending messages this request cancelled.")


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    treatment_id: int | None
    priority: EscalationPriority
    status: EscalationStatus
    reason: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
