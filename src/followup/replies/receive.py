"""A patient's reply arrives: store it once, find who sent it, read it, act on it.

`receive_sms` is the use case behind the Twilio webhook; `receive_link_answer` and
`unsubscribe_by_link` serve the one-click links in emails. Each runs in the caller's
single transaction, the stored InboundMessage included, so a reply is either fully
handled or not at all (and Twilio's retry then handles it).

Idempotency: InboundMessage.provider_sid is unique. The row is inserted (ON CONFLICT DO
NOTHING) before anything else is written; a second delivery of the same MessageSid (a
Twilio retry, or the same request racing on another worker: PostgreSQL makes the second
insert wait for the first transaction, then insert nothing) has no effect at all, not
even a second auto-reply.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followup.core.links import PatientLink
from followup.core.phones import mask_phone
from followup.core.prepared import Prepared, full_row
from followup.messages.automatic import ReplyTextError, ReplyTexts
from followup.models import Channel, Clinic, InboundMessage, Patient, Treatment
from followup.replies import Classification, Intent, Lexicon, classify
from followup.replies.actions import Decision, ReplyContext, act_on_reply, decide, opt_out

# Finding the sender lives in inbound_sender; `X as X` re-exports it, so
# `from followup.replies.receive import ...` still works.
from followup.replies.sender import ClinicFacts, PatientFacts
from followup.replies.sender import Sender as Sender
from followup.replies.sender import find_clinic as find_clinic
from followup.replies.sender import find_sender as find_sender

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio delivers at most 10 attachments per MMS
MAX_BODY = 10_000  # Twilio bodies stop at 1600 characters; anything longer is not Twilio
_SID_LENGTH, _ADDRESS_LENGTH = 64, 254
# Advanced Opt-Out: Twilio already answered and tells us which keyword family it saw.
_CARRIER_OPT_TYPES = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}
# What a sender we don't know may get: only what carriers require.
_UNKNOWN_SENDER_REPLIES = {Intent.OPT_OUT: "opt_out", Intent.HELP: "help"}


INBOUND_TABLE: Table = InboundMessage.__table__  # type: ignore[assignment]
_INSERT_ONCE = {
    "postgresql": Prepared(
        postgresql_insert(INBOUND_TABLE)
        .on_conflict_do_nothing(index_elements=[INBOUND_TABLE.c.provider_sid])
        .returning(INBOUND_TABLE.c.id)
    ),
    "sqlite": Prepared(
        sqlite_insert(INBOUND_TABLE)
        .on_conflict_do_nothing(index_elements=[INBOUND_TABLE.c.provider_sid])
        .returning(INBOUND_TABLE.c.id)
    ),
}


class InvalidInbound(ValueError):
    """A webhook request that is not a usable inbound message (missing or absurd fields)."""


@dataclass(frozen=True)
class InboundSms:
    """The fields of Twilio's incoming-message webhook that we use."""

    message_sid: str
    from_number: str
    to_number: str
    body: str
    media: list[dict[str, str]]
    opt_out_type: str | None = None
    messaging_service_sid: str | None = None


@dataclass(frozen=True)
class ReplyDeps:
    """What handling a reply needs besides the session: built once per process."""

    lexicon: Lexicon
    texts: ReplyTexts
    templates_dir: Path


@dataclass(frozen=True)
class InboundOutcome:
    reply_text: str | None
    inbound_id: int | None
    escalation_id: int | None
    duplicate: bool


def _clean(value: str | None, limit: int | None = None) -> str:
    # PostgreSQL text can't hold NUL; nothing a phone sends contains one.
    text = (value or "").replace("\x00", "")
    return text[:limit] if limit is not None else text


def parse_twilio_form(form: Mapping[str, str]) -> InboundSms:
    """Read Twilio's form fields. Raises InvalidInbound if the message can't be identified."""
    sid = _clean(form.get("MessageSid") or form.get("SmsMessageSid")).strip()
    sender = _clean(form.get("From")).strip()
    recipient = _clean(form.get("To")).strip()
    if not sid or len(sid) > _SID_LENGTH:
        raise InvalidInbound("MessageSid is missing or too long")
    if not sender or not recipient or max(len(sender), len(recipient)) > _ADDRESS_LENGTH:
        raise InvalidInbound("From or To is missing or too long")
    # Upper-casing can lengthen a string ("ß" -> "SS"): cut to the column size afterwards.
    opt_out_type = _clean(form.get("OptOutType")).strip().upper()[:20] or None
    return InboundSms(
        message_sid=sid,
        from_number=sender,
        to_number=recipient,
        body=_clean(form.get("Body"), MAX_BODY),
        media=_media(form),
        opt_out_type=opt_out_type,
        messaging_service_sid=_clean(form.get("MessagingServiceSid"), 64).strip() or None,
    )


def _media(form: Mapping[str, str]) -> list[dict[str, str]]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    media = []
    for index in range(max(0, min(count, MAX_MEDIA))):
        url = _clean(form.get(f"MediaUrl{index}"), 2000).strip()
        if url:
            kind = _clean(form.get(f"MediaContentType{index}"), 100).strip()
            media.append({"url": url, "content_type": kind})
    return media


@dataclass(frozen=True)
class Reading:
    """Who sent a reply, what it says, and what it calls for: everything decided before
    anything is written."""

    sender: Sender
    classification: Classification
    decision: Decision
    lang: str
    source: str


def classify_sms(deps: ReplyDeps, sms: InboundSms) -> Classification:
    """What the text says; what Twilio's Advanced Opt-Out read in it, when it answered."""
    classification = classify(sms.body, deps.lexicon)
    carrier_intent = _CARRIER_OPT_TYPES.get(sms.opt_out_type or "")
    if carrier_intent is None:
        return classification
    return Classification(carrier_intent, classification.urgent, (f"carrier:{sms.opt_out_type}",))


def read_sms(
    conn: Connection, deps: ReplyDeps, sms: InboundSms, classification: Classification | None = None
) -> Reading:
    """Find the sender, classify the text (unless given) and decide what it calls for."""
    if classification is None:
        classification = classify_sms(deps, sms)
    return reading_of(find_sender(conn, sms), classification, sms)


def reading_of(sender: Sender, classification: Classification, sms: InboundSms) -> Reading:
    """What a reply from this sender calls for (pure)."""
    carrier_intent = _CARRIER_OPT_TYPES.get(sms.opt_out_type or "")
    if sender.patient is None:
        decision = Decision(_UNKNOWN_SENDER_REPLIES.get(classification.intent), None)
        decision = Decision(None, None) if carrier_intent else decision
        lang = "fr" if {"opt_out:arret", "help:aide"} & set(classification.matched) else "en"
    else:
        decision = decide(
            classification,
            answered_by_carrier=carrier_intent is not None,
            opted_out=sender.patient.opted_out_at is not None,
        )
        lang = sender.patient.language
    source = "sms_carrier" if carrier_intent else "sms"
    return Reading(sender, classification, decision, lang, source)


def sms_values(sms: InboundSms) -> dict[str, Any]:
    """The stored message's columns that come from the request itself."""
    return {
        "provider_sid": sms.message_sid,
        "channel": Channel.SMS,
        "from_address": sms.from_number,
        "to_address": sms.to_number,
        "body": sms.body,
        "media": sms.media,
        "opt_out_type": sms.opt_out_type,
    }


def receive_sms(
    conn: Connection,
    deps: ReplyDeps,
    sms: InboundSms,
    now: datetime,
    classification: Classification | None = None,
) -> InboundOutcome:
    """Store, match, classify and act on one inbound SMS, in the connection's transaction
    (an ORM caller passes `session.connection()`)."""
    reading = read_sms(conn, deps, sms, classification)
    outcome = _record(
        conn,
        deps,
        reading.sender,
        reading.classification,
        reading.decision,
        lang=reading.lang,
        source=reading.source,
        now=now,
        **sms_values(sms),
    )
    log_outcome(outcome, reading, sms)
    return outcome


def inbound_row(
    sender: Sender, classification: Classification, reply: str | None, now: datetime, **values: Any
) -> dict[str, Any]:
    """Every column of the stored message."""
    return full_row(
        INBOUND_TABLE,
        {
            "clinic_id": sender.clinic.id if sender.clinic else None,
            "patient_id": sender.patient.id if sender.patient else None,
            "treatment_id": sender.treatment_id,
            "intent": classification.intent.value,
            "urgent": classification.urgent,
            "matched": list(classification.matched),
            "reply_body": reply,
            "received_at": now,
            **values,
        },
    )


def _record(
    conn: Connection,
    deps: ReplyDeps,
    sender: Sender,
    classification: Classification,
    decision: Decision,
    *,
    lang: str,
    source: str,
    now: datetime,
    **values: Any,
) -> InboundOutcome:
    """Store the reply once, then (for a known patient) act on it."""
    reply = reply_text(deps, decision.reply, lang, sender.clinic)
    inbound_id = _insert_once(conn, inbound_row(sender, classification, reply, now, **values))
    if inbound_id is None:
        return InboundOutcome(None, None, None, duplicate=True)
    if sender.clinic is None or sender.patient is None:
        return InboundOutcome(reply, inbound_id, None, duplicate=False)
    context = ReplyContext(
        clinic=sender.clinic,
        patients=sender.patients,
        patient=sender.patient,
        treatment_id=sender.treatment_id,
        inbound_id=inbound_id,
        media_count=len(values.get("media") or ()),
        classification=classification,
        source=source,
    )
    escalation = act_on_reply(
        conn, context, decision, texts=deps.texts, templates_dir=deps.templates_dir, now=now
    )
    return InboundOutcome(reply, inbound_id, escalation.id if escalation else None, False)


def reply_text(
    deps: ReplyDeps, name: str | None, lang: str, clinic: ClinicFacts | None
) -> str | None:
    if name is None:
        return None
    try:
        return deps.texts.reply(name, lang, clinic)
    except ReplyTextError:
        # A broken template must not lose a STOP or an escalation: act, answer nothing.
        log.exception("auto-reply %r (%s) cannot be rendered; replying nothing", name, lang)
        return None


def _insert_once(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert the inbound message unless its provider SID is already stored; its id.

    INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip, and race-safe: on
    PostgreSQL a concurrent insert of the same SID waits for the other transaction and
    then inserts nothing, so the loser sees None and does nothing else.
    """
    inserted: int | None = _INSERT_ONCE[conn.dialect.name].scalar(conn, row)
    return inserted


def log_outcome(outcome: InboundOutcome, reading: Reading, sms: InboundSms) -> None:
    # Ids, intent and a masked number only: never the body or the full phone number.
    sender, classification = reading.sender, reading.classification
    log.info(
        "inbound sms id=%s duplicate=%s clinic_id=%s patient_id=%s from=%s intent=%s "
        "urgent=%s media=%s replied=%s escalation_id=%s",
        outcome.inbound_id,
        outcome.duplicate,
        sender.clinic.id if sender.clinic else None,
        sender.patient.id if sender.patient else None,
        _masked(sms.from_number),
        classification.intent,
        classification.urgent,
        len(sms.media),
        outcome.reply_text is not None,
        outcome.escalation_id,
    )


@lru_cache(maxsize=4096)
def _masked(phone: str) -> str:
    # Parsing the number to mask it costs more than classifying the reply.
    return mask_phone(phone)


def link_sid(token: str) -> str:
    """A stable provider SID for a link answer: the same link posted twice is one answer."""
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def receive_link_answer(
    session: Session, deps: ReplyDeps, link: PatientLink, token: str, now: datetime
) -> InboundOutcome | None:
    """Record a one-click check-in answer through the same actions as an SMS reply.
    None if the link's patient or treatment no longer exists."""
    patient = session.get(Patient, link.patient_id)
    treatment = session.get(Treatment, link.treatment_id) if link.treatment_id else None
    clinic = session.get(Clinic, patient.clinic_id) if patient else None
    if patient is None or clinic is None or link.answer is None:
        return None
    if treatment is not None and treatment.patient_id != patient.id:
        return None
    classification = Classification(Intent(link.answer), False, (f"link:{link.answer}",))
    session.flush()  # the Core statements below must see what the session holds
    outcome = _record(
        session.connection(),
        deps,
        Sender(
            ClinicFacts.of(clinic),
            [PatientFacts.of(patient)],
            treatment.id if treatment is not None else None,
        ),
        classification,
        decide(classification),
        lang=patient.language,
        source="email_link",
        now=now,
        provider_sid=link_sid(token),
        channel=Channel.EMAIL,
        from_address=(patient.email or f"patient:{patient.id}")[:_ADDRESS_LENGTH],
        to_address="checkin-link",
        body=link.answer,
        media=[],
    )
    if treatment is not None:
        session.expire(treatment)  # its check-in was written with Core, not through it
    log.info(
        "link answer inbound_id=%s duplicate=%s patient_id=%s answer=%s",
        outcome.inbound_id,
        outcome.duplicate,
        patient.id,
        link.answer,
    )
    return outcome


def unsubscribe_by_link(session: Session, patient: Patient, now: datetime) -> bool:
    """Opt the patient out from an email link; False if they already were."""
    if patient.opted_out_at is not None:
        return False
    opt_out(session, [patient], source="email_link", now=now)
    return True


def patient_clinic(session: Session, patient_id: int) -> tuple[Patient | None, Clinic | None]:
    patient = session.get(Patient, patient_id)
    clinic = session.get(Clinic, patient.clinic_id) if patient else None
    return patient, clinic
