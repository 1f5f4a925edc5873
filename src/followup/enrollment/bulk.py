"""Many enrollments at once, for imports: the duplicate rule of `enrollment.find_duplicate`
answered for a whole batch in a few queries, and the rows written with bulk INSERTs.

`enrollment.enroll` does one patient in ~6 statements; 10,000 of those take minutes on a
networked database. Here every row is validated with `check_enrollment` first (by the
caller), so the only thing that differs is how the same rows reach the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from followup.admin.clinics import send_rules
from followup.enrollment.enroll import (
    OPT_OUT_BEFORE_ENROLLMENT,
    OPT_OUT_BEFORE_ENROLLMENT_REASON,
    standing_opt_outs,
)
from followup.enrollment.validation import ValidEnrollment
from followup.messages.plans import to_local
from followup.models import (
    AuditEvent,
    Channel,
    ChannelPreference,
    Clinic,
    Language,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)

CHUNK = 500  # bound the IN lists: SQLite allows 32,766 parameters, PostgreSQL 65,535

PatientKey = tuple[str, str]  # (E.164 phone, first name folded) - find_duplicate's match
EnrollmentKey = tuple[str, str, str, date]  # + plan name and local treatment day


def patient_key(valid: ValidEnrollment) -> PatientKey:
    return (valid.phone, valid.request.first_name.lower())


def enrollment_key(clinic: Clinic, valid: ValidEnrollment) -> EnrollmentKey:
    day = to_local(valid.request.treated_at, send_rules(clinic).tz).date()
    return (*patient_key(valid), valid.plan.name, day)


@dataclass(frozen=True)
class Existing:
    patients: dict[PatientKey, int]  # the patient find_duplicate would pick (lowest id)
    treatments: dict[EnrollmentKey, int]  # enrollments already in the database
    # New patients' numbers whose last keyword was STOP, with when (`standing_opt_out`).
    opt_outs: dict[str, datetime] = field(default_factory=dict)


def find_existing(session: Session, clinic: Clinic, valids: Sequence[ValidEnrollment]) -> Existing:
    """What `find_duplicate` would answer for each of `valids`, in a few queries."""
    wanted = {patient_key(v) for v in valids}
    phones = sorted({phone for phone, _ in wanted})
    patients: dict[PatientKey, int] = {}
    for start in range(0, len(phones), CHUNK):
        rows = session.execute(
            select(Patient.id, Patient.phone, func.lower(Patient.first_name))
            .where(Patient.clinic_id == clinic.id, Patient.phone.in_(phones[start : start + CHUNK]))
            .order_by(Patient.id)
        )
        for pid, phone, first in rows:
            if (phone, first) in wanted:
                patients.setdefault((phone, first), pid)
    by_id = {pid: key for key, pid in patients.items()}
    tz = send_rules(clinic).tz
    treatments: dict[EnrollmentKey, int] = {}
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Treatment.id, Treatment.patient_id, Treatment.kind, Treatment.treated_at)
            .where(Treatment.patient_id.in_(ids[start : start + CHUNK]))
            .order_by(Treatment.id)
        )
        for tid, pid, kind, treated_at in rows:
            phone, first = by_id[pid]
            treatments.setdefault((phone, first, kind, to_local(treated_at, tz).date()), tid)
    new_phones = sorted({phone for phone, first in wanted if (phone, first) not in patients})
    opt_outs = standing_opt_outs(session, clinic.id, new_phones)
    return Existing(patients=patients, treatments=treatments, opt_outs=opt_outs)


def insert_enrollments(
    session: Session,
    clinic: Clinic,
    valids: Sequence[ValidEnrollment],
    existing: Existing,
    *,
    now: datetime,
    actor: str,
) -> list[int]:
    """Write patients (new ones only), treatments, messages, their first events and audit
    rows for `valids`, which must hold no duplicates. Returns the treatment ids in order."""
    patient_ids = dict(existing.patients)
    new_patients = _first_per_patient(v for v in valids if patient_key(v) not in patient_ids)
    if new_patients:
        rows = [_patient_row(clinic, v, now, actor, existing.opt_outs) for v in new_patients]
        ids = _insert_returning(session, Patient, rows)
        patient_ids.update(zip((patient_key(v) for v in new_patients), ids, strict=True))
    opted_out = {patient_ids[patient_key(v)] for v in new_patients if v.phone in existing.opt_outs}
    treatment_rows: list[dict[str, Any]] = [
        {
            "patient_id": patient_ids[patient_key(v)],
            "kind": v.plan.name,
            "treated_at": v.request.treated_at,
            "practitioner": v.request.practitioner,
            "enrolled_by": actor,
        }
        for v in valids
    ]
    treatment_ids = _insert_returning(session, Treatment, treatment_rows)
    messages = [
        _message_row(clinic, row["patient_id"], tid, send, channel)
        for v, row, tid in zip(valids, treatment_rows, treatment_ids, strict=True)
        for send in v.sends
        for channel in ChannelPreference(v.request.channel).channels()
    ]
    _insert_messages(session, messages, now, actor, opted_out)
    audit = _audit_rows(clinic, treatment_rows, treatment_ids, messages, now, actor)
    for row in audit:
        if row["detail"]["patient_id"] in opted_out:
            row["detail"]["opted_out"] = OPT_OUT_BEFORE_ENROLLMENT
    _insert(session, AuditEvent, audit)
    return treatment_ids


def _insert_messages(
    session: Session,
    messages: list[dict[str, Any]],
    now: datetime,
    actor: str,
    opted_out: set[int],
) -> None:
    """The messages and the first event of each, as `outbox.record_created` writes it; for
    a patient who starts opted out, then the cancellation `enrollment.enroll` records."""
    stopped = [
        m["patient_id"] in opted_out and m["status"] is MessageStatus.SCHEDULED for m in messages
    ]
    for message, stop in zip(messages, stopped, strict=True):
        if stop:
            message.update(status=MessageStatus.CANCELLED, updated_at=now)
    message_ids = _insert_returning(session, ScheduledMessage, messages)
    events: list[dict[str, Any]] = []
    for mid, message, stop in zip(message_ids, messages, stopped, strict=True):
        created = MessageStatus.SCHEDULED if stop else message["status"]
        event = {"message_id": mid, "at": now, "actor": actor}
        events.append(event | {"from_status": None, "to_status": created, "detail": "created"})
        if stop:
            cancelled = {
                "to_status": MessageStatus.CANCELLED,
                "detail": OPT_OUT_BEFORE_ENROLLMENT_REASON,
            }
            events.append(event | {"from_status": created} | cancelled)
    _insert(session, MessageEvent, events)


def _first_per_patient(valids: Iterable[ValidEnrollment]) -> list[ValidEnrollment]:
    seen: dict[PatientKey, ValidEnrollment] = {}
    for valid in valids:
        seen.setdefault(patient_key(valid), valid)
    return list(seen.values())


def _patient_row(
    clinic: Clinic,
    valid: ValidEnrollment,
    now: datetime,
    actor: str,
    opt_outs: dict[str, datetime],
) -> dict[str, Any]:
    request = valid.request
    stop_received_at = opt_outs.get(valid.phone)
    return {
        "clinic_id": clinic.id,
        "first_name": request.first_name.strip(),
        "last_name": request.last_name.strip(),
        "phone": valid.phone,
        "email": valid.email,
        "channel": ChannelPreference(request.channel),
        "language": Language(request.language),
        "consent_at": now,
        "consent_method": request.consent_method,
        "consent_recorded_by": actor,
        "opted_out_at": stop_received_at,
        "opt_out_source": OPT_OUT_BEFORE_ENROLLMENT if stop_received_at else None,
    }


def _message_row(
    clinic: Clinic, patient_id: int, treatment_id: int, send: Any, channel: Channel
) -> dict[str, Any]:
    return {
        "clinic_id": clinic.id,
        "patient_id": patient_id,
        "treatment_id": treatment_id,
        "kind": MessageKind.PLAN,
        "step": send.step,
        "channel": Channel(channel),
        "send_at": send.send_at,
        "next_attempt_at": send.send_at,
        "expires_at": send.expires_at,
        "status": MessageStatus.EXPIRED if send.expired else MessageStatus.SCHEDULED,
        "updated_at": None,  # every row of one executemany needs the same keys
    }


def _audit_rows(
    clinic: Clinic,
    treatments: list[dict[str, Any]],
    treatment_ids: list[int],
    messages: list[dict[str, Any]],
    now: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    per_treatment: dict[int, int] = {}
    for message in messages:
        per_treatment[message["treatment_id"]] = per_treatment.get(message["treatment_id"], 0) + 1
    return [
        {
            "clinic_id": clinic.id,
            "actor": actor,
            "action": "enroll",
            "target_type": "treatment",
            "target_id": tid,
            "detail": {"patient_id": row["patient_id"], "plan": row["kind"]}
            | {"messages": per_treatment.get(tid, 0), "via": "import"},
            "at": now,
        }
        for row, tid in zip(treatments, treatment_ids, strict=True)
    ]


def _insert_returning(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # Taking the ids from the sequence first lets psycopg send one prepared INSERT in
        # pipeline mode; a multi-row INSERT ... RETURNING is re-parsed per batch by the
        # driver and was 3x slower for 10,000 enrollments.
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"table": model.__tablename__, "n": len(rows)},
            )
        )
        session.execute(
            insert(model.__table__), [row | {"id": i} for row, i in zip(rows, ids, strict=True)]
        )
        return ids
    # sort_by_parameter_order: ids come back in the order of `rows`.
    result = session.execute(
        insert(model.__table__).returning(model.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        # Core, not the ORM's bulk path: these rows need no identity map.
        session.execute(insert(model.__table__), rows)
