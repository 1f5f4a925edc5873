"""What a claimed message needs to leave: a `SendJob` built from its rows while they are
locked, so the send itself runs outside any transaction and touches no ORM object."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.links import LinkSigner
from followup.core.phones import display_phone
from followup.messages.plans import Plan, PlanError, load_plan
from followup.models import (
    Channel,
    Clinic,
    Language,
    MessageKind,
    Patient,
    Treatment,
)

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
}


@dataclass(frozen=True)
class SendJob:
    """Everything the sender needs, copied out of the database rows at claim time."""

    message_id: int
    channel: Channel
    kind: MessageKind
    attempts: int
    to: str | None  # None: no address for this channel (e.g. email without an email)
    patient_id: int | None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    body: str | None = None  # ready-written messages, and plan messages already sent once
    subject: str | None = None
    plan: str | None = None  # plan messages: rendered at send time
    step: str | None = None
    language: str = Language.EN.value
    context: dict[str, object] = field(default_factory=dict)

    @property
    def sender_key(self) -> str:
        """Which sender this message leaves from (for the per-sender rate limit)."""
        if self.channel is Channel.EMAIL:
            return "email"
        return self.from_number or self.messaging_service_sid or "sms"


@dataclass
class JobBuilder:
    """Builds `SendJob`s for a batch; plans are read once per process."""

    templates_dir: Path
    signer: LinkSigner | None

    def build(self, session: Session, messages: Sequence[Any], now: datetime) -> list[SendJob]:
        """Jobs for claimed messages: ORM objects or the Core rows `claim_batch` returns.

        Patients, treatments and clinics are read as plain Core rows (one query each)."""
        patients = _by_id(session, _PATIENT_COLUMNS, {m.patient_id for m in messages})
        treatments = _by_id(session, _TREATMENT_COLUMNS, {m.treatment_id for m in messages})
        clinics = _by_id(session, _CLINIC_COLUMNS, {m.clinic_id for m in messages})
        return [
            self._job(
                m,
                clinics[m.clinic_id],
                patients.get(m.patient_id) if m.patient_id is not None else None,
                treatments.get(m.treatment_id) if m.treatment_id is not None else None,
                now,
            )
            for m in messages
        ]

    def _job(
        self, message: Any, clinic: Any, patient: Any, treatment: Any, now: datetime
    ) -> SendJob:
        to = message.recipient or _patient_address(patient, message.channel)
        extra: dict[str, Any] = {}
        if message.channel is Channel.EMAIL and patient is not None and self.signer is not None:
            extra["unsubscribe_url"] = self.signer.unsubscribe_url(patient.id, now)
        # A plan message is rendered until a transport has taken it; from then on it goes
        # with the words it was first sent with (kept on the row), like any other kind.
        rendered = message.kind is MessageKind.PLAN and message.body is None
        if rendered and patient and treatment and message.step:
            # Only emails carry links; signing them for an SMS would be wasted work.
            signer = self.signer if message.channel is Channel.EMAIL else None
            extra["context"] = render_context(
                clinic,
                patient,
                treatment,
                message.step,
                self.templates_dir,
                signer,
                now,
                channel=message.channel,
            )
            extra["plan"] = treatment.kind
            extra["step"] = message.step
        return SendJob(
            message_id=message.id,
            channel=message.channel,
            kind=message.kind,
            attempts=message.attempts,
            to=to,
            patient_id=message.patient_id,
            from_number=clinic.sender_number,
            messaging_service_sid=clinic.messaging_service_sid,
            reply_to=clinic.contact_email,
            body=message.body,
            subject=message.subject,
            language=patient.language.value if patient is not None else Language.EN.value,
            **extra,
        )


def _patient_address(patient: Any, channel: Channel) -> str | None:
    if patient is None:
        return None
    address: str | None = patient.phone if channel is Channel.SMS else patient.email
    return address


# What a job and its render context read (only these: each column is converted per row).
_PATIENT_COLUMNS = (
    Patient.id,
    Patient.first_name,
    Patient.phone,
    Patient.email,
    Patient.language,
)
_TREATMENT_COLUMNS = (Treatment.id, Treatment.kind, Treatment.treated_at)
_CLINIC_COLUMNS = (
    Clinic.id,
    Clinic.name,
    Clinic.sms_name,
    Clinic.timezone,
    Clinic.contact_phone,
    Clinic.contact_email,
    Clinic.sender_number,
    Clinic.messaging_service_sid,
)


def _by_id(session: Session, columns: tuple[Any, ...], ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(*columns).where(columns[0].in_(wanted)))
    return {row.id: row for row in rows}


def render_context(
    clinic: Clinic | Any,
    patient: Patient | Any,
    treatment: Treatment | Any,
    step_name: str,
    templates_dir: Path,
    signer: LinkSigner | None,
    now: datetime,
    channel: Channel = Channel.EMAIL,
) -> dict[str, object]:
    """The template variables of a plan message (see rendering.sample_context).

    SMS bodies use the clinic's short SMS name when it has one: every character of a
    long clinic name is paid for in every text."""
    lang = patient.language.value
    label, day = _plan_step(templates_dir, treatment.kind, step_name)
    treated_on = treatment.treated_at.astimezone(_zone(clinic.timezone)).date()
    context: dict[str, object] = {
        "patient": {"first_name": patient.first_name},
        "clinic": {
            "name": (clinic.sms_name or clinic.name) if channel is Channel.SMS else clinic.name,
            "phone": _display_phone(clinic.contact_phone),
        },
        "treatment": {"label": label, "treated_on": _format_day(treated_on, lang)},
        "step": {"day": day},
    }
    if signer is not None:
        links = signer.checkin_links(patient.id, treatment.id, now)
        links["unsubscribe"] = signer.unsubscribe_url(patient.id, now)
        context["links"] = links
    return context


@lru_cache(maxsize=1024)
def _plan_step(templates_dir: Path, plan_name: str, step_name: str) -> tuple[str, int]:
    """(the plan's label, the step's day): invariant per plan and step."""
    plan = cached_plan(templates_dir, plan_name)
    return plan.title.lower(), next((s.day for s in plan.steps if s.name == step_name), 0)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def _format_day(day: date, lang: str) -> str:
    return format_day(day, lang)


def format_day(day: date, lang: str) -> str:
    """ "March 7, 2026" / "7 mars 2026" / "7 de marzo de 2026" (no locale database needed)."""
    month = _MONTHS.get(lang, _MONTHS["en"]).split()[day.month - 1]
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    if lang == "es":
        return f"{day.day} de {month} de {day.year}"
    return f"{month} {day.day}, {day.year}"


@lru_cache(maxsize=1024)
def _display_phone(e164: str) -> str:
    return display_phone(e164)  # phonenumbers parses each time; clinics are few


@lru_cache(maxsize=64)
def cached_plan(templates_dir: Path, name: str) -> Plan:
    """Plans are files read once per process (a template edit takes effect on restart)."""
    return load_plan(templates_dir, name)


__all__ = ["JobBuilder", "PlanError", "SendJob", "format_day", "render_context"]
