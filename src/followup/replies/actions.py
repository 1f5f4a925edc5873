"""What a reply does, written in the caller's transaction: consent, check-in, escalation.

`act_on_reply` carries out a Decision (replies.decide) for a stored reply: STOP and START
change consent for everyone at the number (and cancel or revive their scheduled steps),
a check-in answer is recorded on the treatment, and an escalation is opened (with its
staff alerts queued in the outbox). Core statements on the hot path; the ORM only for the
rare keyword actions that rewrite a schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from followup.admin.clinics import send_rules
from followup.core.audit import record_audit
from followup.core.prepared import Prepared
from followup.delivery.outbox import cancel_pending_for_patient, record_created, transition
from followup.escalations.lifecycle import OpenedEscalation, insert_escalation
from followup.messages.automatic import ReplyTexts
from followup.messages.plans import PlanError, PlannedSend, load_plan, plan_sends
from followup.models import (
    Channel,
    ChannelPreference,
    CheckinAnswer,
    Clinic,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from followup.replies.classifier import Classification, Intent
from followup.replies.decide import Decision
from followup.replies.sender import ClinicFacts, PatientFacts

log = logging.getLogger(__name__)

PATIENT_ACTOR = "patient"
_CHECKIN_INTENTS = {Intent.BETTER, Intent.SAME, Intent.WORSE}


@dataclass(frozen=True)
class ReplyContext:
    """Who answered, about what, and how the answer was read."""

    clinic: ClinicFacts
    patients: list[PatientFacts]  # everyone at that number: consent belongs to the number
    patient: PatientFacts  # the one with the most recent treatment
    treatment_id: int | None
    inbound_id: int
    media_count: int
    classification: Classification
    source: str  # "sms", "sms_carrier" (Twilio already answered), "email_link"
    reason: str  # what staff read on the escalation (replies.decide.describe)


def act_on_reply(
    conn: Connection,
    context: ReplyContext,
    decision: Decision,
    *,
    texts: ReplyTexts,
    templates_dir: Path,
    now: datetime,
) -> OpenedEscalation | None:
    """Do what the reply asks (in the connection's transaction); return any escalation.

    Core on the hot path (check-ins, escalations); the ORM only for the rare keyword
    actions that rewrite a patient's schedule."""
    intent = context.classification.intent
    if intent in (Intent.OPT_OUT, Intent.OPT_IN):
        ids = [patient.id for patient in context.patients]
        with orm_session(conn) as session:
            patients = [patient for i in ids if (patient := session.get(Patient, i)) is not None]
            if intent is Intent.OPT_OUT:
                opt_out(session, patients, source=context.source, now=now)
            else:
                opt_in(session, patients, templates_dir=templates_dir, now=now)
    elif intent in _CHECKIN_INTENTS and context.treatment_id is not None:
        # The stored InboundMessage is the record of who answered what, when and how.
        _RECORD_CHECKIN.run(
            conn,
            {"treatment_id": context.treatment_id, "answer": CheckinAnswer(intent), "at": now},
        )
    if decision.priority is None:
        return None
    return insert_escalation(
        conn,
        clinic=context.clinic,
        patient_id=context.patient.id,
        treatment_id=context.treatment_id,
        inbound_id=context.inbound_id,
        media_count=context.media_count,
        priority=decision.priority,
        reason=context.reason,
        now=now,
        texts=texts,
    )


@contextmanager
def orm_session(conn: Connection) -> Iterator[Session]:
    """An ORM session inside the connection's transaction: it flushes what it changed and
    leaves committing (or rolling back) to whoever owns the transaction."""
    session = Session(bind=conn, join_transaction_mode="rollback_only", autoflush=True)
    try:
        yield session
        session.flush()
    finally:
        session.close()


def opt_out(session: Session, patients: list[Patient], *, source: str, now: datetime) -> int:
    """Stop everything for these patients; return how many pending messages were cancelled."""
    cancelled = 0
    for patient in patients:
        if patient.opted_out_at is None:
            patient.opted_out_at = now
            patient.opt_out_source = source[:40]
        cancelled += cancel_pending_for_patient(
            session, patient.id, at=now, reason=f"opt-out ({source})", actor=PATIENT_ACTOR
        )
        _audit(session, patient, now, "patient.opt_out", {"source": source})
    return cancelled


def opt_in(session: Session, patients: list[Patient], *, templates_dir: Path, now: datetime) -> int:
    """Re-subscribe; reschedule the plan steps still worth sending. Return how many.

    A START from someone who never opted out changes nothing: their consent as recorded
    in the clinic stays the record."""
    rescheduled = 0
    for patient in patients:
        opted_out_at = patient.opted_out_at
        if opted_out_at is None:
            continue
        patient.opted_out_at = None
        patient.opt_out_source = None
        # Texting START after STOP is express consent again (TCPA): record how it was given.
        patient.consent_at = now
        patient.consent_method = "sms_start"
        patient.consent_recorded_by = PATIENT_ACTOR
        count = _reschedule(session, patient, opted_out_at, templates_dir, now)
        _audit(session, patient, now, "patient.opt_in", {"rescheduled": count})
        rescheduled += count
    return rescheduled


def _reschedule(
    session: Session,
    patient: Patient,
    opted_out_at: datetime | None,
    templates_dir: Path,
    now: datetime,
) -> int:
    clinic = session.get(Clinic, patient.clinic_id)
    if clinic is None:
        return 0
    count = 0
    for treatment in session.scalars(
        select(Treatment).where(Treatment.patient_id == patient.id, Treatment.paused_at.is_(None))
    ):
        try:
            plan = load_plan(templates_dir, treatment.kind)
        except PlanError:
            log.warning("opt-in: no plan %r for treatment %s", treatment.kind, treatment.id)
            continue
        existing = {
            (m.step, m.channel): m
            for m in session.scalars(
                select(ScheduledMessage).where(
                    ScheduledMessage.treatment_id == treatment.id,
                    ScheduledMessage.kind == MessageKind.PLAN,
                )
            )
        }
        for send in plan_sends(plan, treatment.treated_at, send_rules(clinic), now):
            if send.expired:
                continue
            for channel in ChannelPreference(patient.channel).channels():
                row = existing.get((send.step, Channel(channel)))
                revived = _revive(session, row, send.send_at, send.expires_at, opted_out_at, now)
                if row is None:
                    _add_step(session, clinic, patient, treatment, send, Channel(channel), now)
                count += 1 if (row is None or revived) else 0
    return count


def _revive(
    session: Session,
    row: ScheduledMessage | None,
    send_at: datetime,
    expires_at: datetime,
    opted_out_at: datetime | None,
    now: datetime,
) -> bool:
    """Put back a step the opt-out cancelled. A step sent, failed or cancelled by staff for
    another reason before the opt-out stays as it is: nothing is sent twice."""
    if row is None or row.status is not MessageStatus.CANCELLED:
        return False
    if opted_out_at is None or row.updated_at is None or row.updated_at < opted_out_at:
        return False
    row.send_at = row.next_attempt_at = send_at
    row.expires_at = expires_at
    row.attempts = 0
    row.lease_owner = row.lease_expires_at = None
    transition(session, row, MessageStatus.SCHEDULED, at=now, detail="opt-in", actor=PATIENT_ACTOR)
    return True


def _add_step(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    treatment: Treatment,
    send: PlannedSend,
    channel: Channel,
    now: datetime,
) -> None:
    # A channel the patient chose after enrolling has no row yet for this step.
    row = ScheduledMessage(
        clinic_id=clinic.id,
        patient_id=patient.id,
        treatment_id=treatment.id,
        kind=MessageKind.PLAN,
        step=send.step,
        channel=channel,
        send_at=send.send_at,
        next_attempt_at=send.send_at,
        expires_at=send.expires_at,
        status=MessageStatus.SCHEDULED,
    )
    session.add(row)
    record_created(session, [row], at=now, actor=PATIENT_ACTOR)


_TREATMENTS: Table = Treatment.__table__  # type: ignore[assignment]
# The check-in guard: a reply handled late (replayed from the spool, received before an
# answer already recorded) never replaces the later answer, so a late "better" cannot hide
# a "worse" that came after it.
_RECORD_CHECKIN = Prepared(
    update(_TREATMENTS)
    .where(
        _TREATMENTS.c.id == bindparam("treatment_id"),
        or_(_TREATMENTS.c.checkin_at.is_(None), _TREATMENTS.c.checkin_at <= bindparam("at")),
    )
    .values(checkin_answer=bindparam("answer"), checkin_at=bindparam("at"))
)


def _audit(
    session: Session, patient: Patient, now: datetime, action: str, detail: dict[str, object]
) -> None:
    record_audit(
        session,
        at=now,
        actor=PATIENT_ACTOR,
        action=action,
        clinic_id=patient.clinic_id,
        target_type="patient",
        target_id=patient.id,
        detail=detail,
    )
