"""The webhook's use case, with the usual replies written in one statement on PostgreSQL.

Most replies are a check-in answer ("better") or a question for the inbox. On PostgreSQL
those are read with one query and written with one statement whose data-modifying CTEs
insert the message once (ON CONFLICT on the provider SID) and, only if it was new, record
the check-in or open the inbox escalation with its audit event. One statement is atomic
by itself, so both run in autocommit: no BEGIN or COMMIT round trips, and the message and
its effects are stored together or not at all, as in a transaction. At READ COMMITTED a
read followed by a write in a transaction sees nothing more than this does.

Everything else (STOP, START, WORSE and red flags, which page staff; every reply on
SQLite) goes through `inbound.receive_sms` in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from followup.core.prepared import Prepared, inserted_columns
from followup.escalations.lifecycle import escalation_row, opening_audit_row
from followup.models import AuditEvent, CheckinAnswer, Escalation, EscalationPriority, Treatment
from followup.replies import Classification, Intent
from followup.replies.actions import describe
from followup.replies.receive import (
    INBOUND_TABLE,
    InboundOutcome,
    InboundSms,
    Reading,
    ReplyDeps,
    classify_sms,
    inbound_row,
    log_outcome,
    read_sms,
    receive_sms,
    reply_text,
    sms_values,
)

log = logging.getLogger("followup.replies.receive")

_ESCALATIONS: Table = Escalation.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]
_TREATMENTS: Table = Treatment.__table__  # type: ignore[assignment]
_CHECKIN_INTENTS = {Intent.BETTER, Intent.SAME}
_KEYWORD_INTENTS = {Intent.OPT_OUT, Intent.OPT_IN}


def handle_sms(engine: Engine, deps: ReplyDeps, sms: InboundSms, now: datetime) -> InboundOutcome:
    """Store, match, classify and act on one inbound SMS; committed when this returns."""
    classification = classify_sms(deps, sms)
    if engine.dialect.name == "postgresql" and not needs_transaction(classification):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            reading = read_sms(conn, deps, sms, classification)
            outcome = _write_in_one_statement(conn, deps, reading, sms, now)
        if outcome is not None:
            log_outcome(outcome, reading, sms)
            return outcome
    with engine.begin() as conn:
        return receive_sms(conn, deps, sms, now, classification)


def needs_transaction(classification: Classification) -> bool:
    """Whatever the sender, this reply changes consent or pages staff (known from the
    text alone, so it is read once, inside the transaction)."""
    intent = classification.intent
    return classification.urgent or intent in _KEYWORD_INTENTS or intent is Intent.WORSE


@dataclass(frozen=True)
class OneStatement:
    """A reply's whole write as one statement: what to run, with what, and the answer."""

    statement: Prepared
    params: dict[str, Any]
    reply: str | None

    def outcome(self, written: Sequence[Any] | None) -> InboundOutcome:
        if written is None:
            return InboundOutcome(None, None, None, duplicate=True)
        inbound_id, escalation_id = written[0], written[1] if len(written) > 1 else None
        if escalation_id is not None:
            log.info("escalation opened id=%s priority=inbox alerts=0", escalation_id)
        return InboundOutcome(self.reply, inbound_id, escalation_id, duplicate=False)


def _write_in_one_statement(
    conn: Connection, deps: ReplyDeps, reading: Reading, sms: InboundSms, now: datetime
) -> InboundOutcome | None:
    """The reply stored and acted on in one statement, or None if it needs more."""
    plan = plan_one_statement(deps, reading, sms, now)
    if plan is None:
        return None
    return plan.outcome(plan.statement.first(conn, plan.params))


def plan_one_statement(
    deps: ReplyDeps, reading: Reading, sms: InboundSms, now: datetime
) -> OneStatement | None:
    """The one statement that stores and acts on this reply, or None if it needs more."""
    sender, classification, decision = reading.sender, reading.classification, reading.decision
    patient, clinic = sender.patient, sender.clinic
    if patient is not None and clinic is not None:
        if classification.intent in _KEYWORD_INTENTS:
            return None  # consent changes rewrite schedules: the transactional path
        if decision.priority not in (None, EscalationPriority.INBOX):
            return None  # escalations that page staff: the transactional path
    reply = reply_text(deps, decision.reply, reading.lang, clinic)
    params = _prefixed("in_", inbound_row(sender, classification, reply, now, **sms_values(sms)))
    statement = _INBOUND_ONLY  # a sender we don't know, a HELP, an answer with no treatment
    if patient is None or clinic is None:
        pass
    elif decision.priority is EscalationPriority.INBOX:
        statement = _INBOX
        escalation = escalation_row(
            clinic_id=clinic.id,
            patient_id=patient.id,
            treatment_id=sender.treatment_id,
            inbound_id=None,  # the statement's own
            priority=EscalationPriority.INBOX,
            reason=describe(classification),
            now=now,
        )
        params |= _prefixed("esc_", escalation)
        params |= _prefixed("aud_", opening_audit_row(escalation, None, alerts=0))
    elif classification.intent in _CHECKIN_INTENTS and sender.treatment_id is not None:
        statement = _CHECKIN
        answer = CheckinAnswer(classification.intent)
        params |= {"treatment_id": sender.treatment_id, "answer": answer, "at": now}
    return OneStatement(statement, params, reply)


def _prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + key: value for key, value in row.items()}


def _bound(prefix: str, table: Table, keys: list[str]) -> list[Any]:
    """Placeholders `prefix + column` typed as the columns (so PostgreSQL casts them)."""
    return [bindparam(prefix + key, type_=table.c[key].type) for key in keys]


def _columns(table: Table, *without: str) -> list[str]:
    return [key for key in inserted_columns(table) if key not in without]


_INBOUND_KEYS = _columns(INBOUND_TABLE)
_INSERTED = (
    postgresql_insert(INBOUND_TABLE)
    .values(dict(zip(_INBOUND_KEYS, _bound("in_", INBOUND_TABLE, _INBOUND_KEYS), strict=True)))
    .on_conflict_do_nothing(index_elements=[INBOUND_TABLE.c.provider_sid])
    .returning(INBOUND_TABLE.c.id)
    .cte("inbound")
)
_INBOUND_ONLY = Prepared(select(_INSERTED.c.id))

_CHECKIN = Prepared(
    select(_INSERTED.c.id).add_cte(
        update(_TREATMENTS)
        .where(_TREATMENTS.c.id == bindparam("treatment_id"), exists(select(_INSERTED.c.id)))
        .values(checkin_answer=bindparam("answer"), checkin_at=bindparam("at"))
        .cte("checkin")
    )
)

_ESCALATION_KEYS = _columns(_ESCALATIONS, "inbound_message_id")
_OPENED = (
    insert(_ESCALATIONS)
    .from_select(
        [*_ESCALATION_KEYS, "inbound_message_id"],
        select(*_bound("esc_", _ESCALATIONS, _ESCALATION_KEYS), _INSERTED.c.id),
    )
    .returning(_ESCALATIONS.c.id)
    .cte("escalation")
)
_AUDIT_KEYS = _columns(_AUDIT, "target_id")
_INBOX = Prepared(
    select(_INSERTED.c.id, _OPENED.c.id).add_cte(
        insert(_AUDIT)
        .from_select(
            [*_AUDIT_KEYS, "target_id"],
            select(*_bound("aud_", _AUDIT, _AUDIT_KEYS), _OPENED.c.id),
        )
        .cte("audit")
    )
)
