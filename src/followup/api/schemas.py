"""What the API accepts and returns. The types and lengths documented here are those of
enrollment.validation, which checks every enrollment whichever way it comes in (the API,
the form, a CSV file, the CLI) and names every refused field in one 422 problem."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from followup.enrollment.validation import MAX_LENGTHS, EnrollmentInput
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


class EnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=MAX_LENGTHS["first_name"])
    last_name: str = Field("", max_length=MAX_LENGTHS["last_name"])
    phone: str = Field(
        min_length=1,
        max_length=MAX_LENGTHS["phone"],
        description="Mobile number; local numbers use the clinic's country.",
    )
    email: str | None = Field(
        None, max_length=MAX_LENGTHS["email"], description="Needed for email/both."
    )
    treatment: str = Field(
        min_length=1,
        max_length=MAX_LENGTHS["treatment"],
        description="Treatment kind, e.g. `microneedling`.",
    )
    treated_at: AwareDatetime = Field(
        description="When the treatment took place, with an offset: from 2000-01-01 to now."
    )
    channel: ChannelPreference = ChannelPreference.SMS
    language: Language = Field(
        Language.EN, description="The language of the patient's messages: en, fr or es."
    )
    practitioner: str | None = Field(None, max_length=MAX_LENGTHS["practitioner"])
    consent_method: str = Field("in_clinic", min_length=1, max_length=MAX_LENGTHS["consent_method"])

    def as_input(self) -> EnrollmentInput:
        """The request as every way in hands it to enrollment.validation."""
        return EnrollmentInput(
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            email=self.email,
            treatment=self.treatment,
            treated_at=self.treated_at,
            channel=self.channel.value,
            language=self.language.value,
            practitioner=self.practitioner,
            consent_method=self.consent_method,
        )


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


class WarningOut(BaseModel):
    type: str = Field(
        description="`possible-duplicate`: someone with the same first and last name is "
        "enrolled for this treatment on that day under another number."
    )
    detail: str
    existing_treatment_id: int
    existing_patient_id: int


class EnrollmentOut(BaseModel):
    patient_id: int
    treatment_id: int
    treatment: str
    treated_at: datetime
    messages: list[MessageOut]
    warnings: list[WarningOut] = Field(
        default_factory=list, description="Enrolled all the same; worth a person's look."
    )


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
