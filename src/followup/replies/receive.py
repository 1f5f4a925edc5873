"""A patient's reply arrives: the whole use case, in the order it happens.

`handle_sms` is what the Twilio webhook calls once it has verified and parsed the form:
one transaction, committed when it returns, on SQLite and PostgreSQL alike. Inside it,
`receive_sms` runs the steps in order:

1. `classify_sms`        how the text reads (pure: the classifier, or Twilio's own
                          Advanced Opt-Out verdict);
2. `find_sender`          who texted: the clinic that owns the number, its patients there;
3. `acknowledged_recently`  only for a reply we would acknowledge: was one answered lately;
4. `read_reply`           what it calls for (pure: the answer and the escalation);
5. `answer_text`          the answer's words, in the patient's language;
6. `store_reply_once`     the reply, once per MessageSid: a retry or a race stops here;
7. `act_on_reply`         consent, check-in, escalation and staff alerts.

`receive_link_answer` and `unsubscribe_by_link` serve the one-click links in emails
through the same decisions and actions.

Idempotency: InboundMessage.provider_sid is unique. The row is inserted (ON CONFLICT DO
NOTHING) before anything else is written; a second delivery of the same MessageSid (a
Twilio retry, or the same request racing on another worker: PostgreSQL makes the second
insert wait for the first transaction, then insert nothing) has no effect at all, not
even a second answer.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followup.core.links import PatientLink
from followup.core.phones import mask_phone
from followup.core.prepared import Prepared, full_row
from followup.messages.automatic import ReplyTextError, ReplyTexts
from followup.models import Channel, Clinic, InboundMessage, Patient, Treatment
from followup.replies.actions import ReplyContext, act_on_reply, opt_out
from followup.replies.classifier import Classification, Intent, Lexicon, classify
from followup.replies.decide import (
    CARRIER_OPT_TYPES,
    Reading,
    decide,
    describe,
    needs_acknowledgement_check,
    read_reply,
)
from followup.replies.sender import ClinicFacts, PatientFacts, Sender, find_sender
from followup.replies.sms import ADDRESS_LENGTH, InboundSms

log = logging.getLogger(__name__)

# A conversation of several lines gets one acknowledgement, not one per line: a patient
# who keeps writing has already been told when the clinic reads messages.
ACKNOWLEDGEMENT_WINDOW = timedelta(hours=4)


@dataclass(frozen=True)
class ReplyDeps:
    """What handling a reply needs besides the database: built once per process."""

    lexicon: Lexicon
    texts: ReplyTexts
    templates_dir: Path


@dataclass(frozen=True)
class InboundOutcome:
    reply_text: str | None
    inbound_id: int | None
    escalation_id: int | None
    duplicate: bool


def handle_sms(engine: Engine, deps: ReplyDeps, sms: InboundSms, now: datetime) -> InboundOutcome:
    """Store, read and act on one inbound SMS in one transaction, committed on return."""
    with engine.begin() as conn:
        return receive_sms(conn, deps, sms, now)


def receive_sms(
    conn: Connection, deps: ReplyDeps, sms: InboundSms, now: datetime
) -> InboundOutcome:
    """The reply's steps in the connection's transaction (the spool's replay passes its
    own, to queue a late answer in the same one)."""
    classification = classify_sms(deps, sms)
    sender = find_sender(conn, sms)
    recently = needs_acknowledgement_check(sender, classification) and acknowledged_recently(
        conn, sender, now
    )
    reading = read_reply(sender, classification, sms, acknowledged_recently=recently)
    answer = answer_text(deps, reading.decision.reply, reading.lang, sender.clinic)
    inbound_id = store_reply_once(conn, sender, classification, answer, now, **sms_values(sms))
    if inbound_id is None:
        outcome = InboundOutcome(None, None, None, duplicate=True)
    else:
        outcome = _act(conn, deps, reading, inbound_id, len(sms.media), answer, now)
    log_outcome(outcome, reading, sms)
    return outcome


def classify_sms(deps: ReplyDeps, sms: InboundSms) -> Classification:
    """What the text says; what Twilio's Advanced Opt-Out read in it, when it answered."""
    classification = classify(sms.body, deps.lexicon)
    carrier_intent = CARRIER_OPT_TYPES.get(sms.opt_out_type or "")
    if carrier_intent is None:
        return classification
    return Classification(carrier_intent, classification.urgent, (f"carrier:{sms.opt_out_type}",))


def acknowledged_recently(conn: Connection, sender: Sender, now: datetime) -> bool:
    """Whether this patient's number was acknowledged within ACKNOWLEDGEMENT_WINDOW (only
    `other` replies are acknowledged, so an answered `other` reply is one)."""
    ids = [patient.id for patient in sender.patients]
    since = now - ACKNOWLEDGEMENT_WINDOW
    # Rare (only unrecognised replies ask), so a plain Core query rather than a prepared one.
    return (
        conn.execute(_ACKNOWLEDGED_SINCE, {"patient_ids": ids, "since": since}).first() is not None
    )


def answer_text(
    deps: ReplyDeps, name: str | None, lang: str, clinic: ClinicFacts | None
) -> str | None:
    """The automatic answer's words, or None when the decision is to stay quiet."""
    if name is None:
        return None
    try:
        return deps.texts.reply(name, lang, clinic)
    except ReplyTextError:
        # A broken template must not lose a STOP or an escalation: act, answer nothing.
        log.exception("auto-reply %r (%s) cannot be rendered; replying nothing", name, lang)
        return None


def store_reply_once(
    conn: Connection,
    sender: Sender,
    classification: Classification,
    answer: str | None,
    now: datetime,
    **values: Any,
) -> int | None:
    """Insert the reply unless its provider SID is already stored; its id, or None.

    INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip, and race-safe: on
    PostgreSQL a concurrent insert of the same SID waits for the other transaction and
    then inserts nothing, so the loser sees None and does nothing else."""
    row = inbound_row(sender, classification, answer, now, **values)
    inserted: int | None = _INSERT_ONCE[conn.dialect.name].scalar(conn, row)
    return inserted


def _act(
    conn: Connection,
    deps: ReplyDeps,
    reading: Reading,
    inbound_id: int,
    media_count: int,
    answer: str | None,
    now: datetime,
) -> InboundOutcome:
    """For a known patient, do what the reply asks; a stranger's reply is only stored."""
    sender = reading.sender
    if sender.clinic is None or sender.patient is None:
        return InboundOutcome(answer, inbound_id, None, duplicate=False)
    context = ReplyContext(
        clinic=sender.clinic,
        patients=sender.patients,
        patient=sender.patient,
        treatment_id=sender.treatment_id,
        inbound_id=inbound_id,
        media_count=media_count,
        classification=reading.classification,
        source=reading.source,
        reason=describe(reading.classification, deps.lexicon),
    )
    escalation = act_on_reply(
        conn,
        context,
        reading.decision,
        texts=deps.texts,
        templates_dir=deps.templates_dir,
        now=now,
    )
    return InboundOutcome(answer, inbound_id, escalation.id if escalation else None, False)


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
    sender = Sender(
        ClinicFacts.of(clinic),
        [PatientFacts.of(patient)],
        treatment.id if treatment is not None else None,
    )
    decision = decide(classification)
    reading = Reading(sender, classification, decision, patient.language, "email_link")
    answer = answer_text(deps, decision.reply, patient.language, sender.clinic)
    session.flush()  # the Core statements below must see what the session holds
    conn = session.connection()
    inbound_id = store_reply_once(
        conn,
        sender,
        classification,
        answer,
        now,
        provider_sid=link_sid(token),
        channel=Channel.EMAIL,
        from_address=(patient.email or f"patient:{patient.id}")[:ADDRESS_LENGTH],
        to_address="checkin-link",
        body=link.answer,
        media=[],
    )
    if inbound_id is None:
        outcome = InboundOutcome(None, None, None, duplicate=True)
    else:
        outcome = _act(conn, deps, reading, inbound_id, 0, answer, now)
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
_ACKNOWLEDGED_SINCE = (
    select(INBOUND_TABLE.c.id)
    .where(
        INBOUND_TABLE.c.patient_id.in_(bindparam("patient_ids", expanding=True)),
        INBOUND_TABLE.c.intent == Intent.OTHER.value,
        INBOUND_TABLE.c.reply_body.is_not(None),
        INBOUND_TABLE.c.received_at >= bindparam("since"),
    )
    .limit(1)
)
