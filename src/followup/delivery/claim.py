"""Claiming due messages: lock a batch, lease it to one worker, commit.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so several workers take
disjoint batches without waiting on each other. SQLite has no row locks; its writers are
serialised by BEGIN IMMEDIATE (see db.py), which makes the claim just as exclusive for the
single embedded worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Select, Table, and_, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from followup.delivery.outbox import transition
from followup.models import (
    CLAIMABLE_STATUSES,
    MessageEvent,
    MessageStatus,
    ScheduledMessage,
    status_is,
)
from followup.models.messaging import CLAIMABLE_SQL


def due_query(now: datetime, limit: int) -> Select[ScheduledMessage]:
    """The claim's SELECT (exposed for the benchmark's EXPLAIN and timing)."""
    return (
        select(ScheduledMessage)
        .where(status_is(*CLAIMABLE_STATUSES), ScheduledMessage.next_attempt_at <= now)
        .order_by(ScheduledMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


@dataclass(frozen=True)
class Claim:
    messages: list[ScheduledMessage]
    examined: int  # rows locked, including those expired instead of claimed


def claim_due(
    session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float
) -> Claim:
    """Lease up to `limit` due messages to `owner` (caller commits).

    A message past its useful window is expired here instead of claimed: a worker that was
    down for two days must not send day-1 advice on day 3.
    """
    rows = session.scalars(due_query(now, limit)).all()
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    claimed = []
    for message in rows:
        if message.expires_at is not None and message.expires_at <= now:
            transition(
                session,
                message,
                MessageStatus.EXPIRED,
                at=now,
                detail=EXPIRED_DETAIL,
                actor=owner,
            )
            continue
        message.attempts += 1
        message.lease_owner = owner
        message.lease_expires_at = lease_expires_at
        transition(
            session,
            message,
            MessageStatus.SENDING,
            at=now,
            detail=f"attempt {message.attempts}",
            actor=owner,
        )
        claimed.append(message)
    return Claim(claimed, len(rows))


def release_unsent(
    session: Session, message: ScheduledMessage, *, owner: str, now: datetime, reason: str
) -> None:
    """Give a claimed, never-sent message back to the queue (shutdown, lost race)."""
    message.attempts = max(message.attempts - 1, 0)
    message.lease_owner = None
    message.lease_expires_at = None
    back = MessageStatus.RETRY if message.attempts else MessageStatus.SCHEDULED
    transition(session, message, back, at=now, detail=reason, actor=owner)


EXPIRED_DETAIL = "its useful window passed before it could be sent"
MESSAGES = cast(Table, ScheduledMessage.__table__)
EVENTS = cast(Table, MessageEvent.__table__)
_COLUMNS = ", ".join(f"m.{column.name}" for column in MESSAGES.c)
_CLAIMED = ", ".join(column.name for column in MESSAGES.c)

# PostgreSQL: lock, lease (or expire) and log a batch in one statement and one round trip.
# The claimable statuses are literals (CLAIMABLE_SQL), so the partial index
# ix_scheduled_message_claimable serves the SELECT in every plan, generic ones included:
# an index scan in due order that stops after `limit` rows, however many are due.
# `m.id = ANY(ARRAY(...))` lets the UPDATE find the locked rows by primary key (joined on
# `due` alone, the planner may hash the whole table). Expired: `expires_at <= now`.
_CLAIM_PG = (
    text(
        f"""
        WITH due AS (
            SELECT id, status FROM scheduled_message
            WHERE {CLAIMABLE_SQL} AND next_attempt_at <= :now
            ORDER BY next_attempt_at
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE scheduled_message AS m SET
                status = CASE WHEN m.expires_at <= :now THEN 'expired' ELSE 'sending' END,
                attempts = CASE WHEN m.expires_at <= :now THEN m.attempts
                    ELSE m.attempts + 1 END,
                lease_owner = CASE WHEN m.expires_at <= :now THEN m.lease_owner
                    ELSE :owner END,
                lease_expires_at = CASE WHEN m.expires_at <= :now THEN m.lease_expires_at
                    ELSE :lease_expires_at END,
                updated_at = :now
            FROM due
            WHERE m.id = ANY(ARRAY(SELECT id FROM due)) AND m.id = due.id
            RETURNING {_COLUMNS}, due.status AS from_status
        ), logged AS (
            INSERT INTO message_event
                (message_id, at, from_status, to_status, detail, error_code, actor)
            SELECT id, :now, from_status, status,
                CASE WHEN status = 'expired' THEN :expired_detail
                    ELSE 'attempt ' || attempts END,
                NULL, :owner
            FROM claimed
        )
        SELECT {_CLAIMED}, from_status FROM claimed
        """  # noqa: S608 (the column names come from the model)
    )
    .bindparams(
        bindparam("now", type_=MESSAGES.c.updated_at.type),
        bindparam("lease_expires_at", type_=MESSAGES.c.lease_expires_at.type),
    )
    .columns(*MESSAGES.c, MESSAGES.c.status.label("from_status"))
)


def claim_batch(
    session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float
) -> tuple[list[Row[Any]], int]:
    """`claim_due` set-based, for the dispatcher's hot path (caller commits).

    Returns the claimed rows (every `scheduled_message` column, attempts already counted)
    and how many rows were locked, expired ones included. Every status change still gets its
    `MessageEvent` (from_status, to_status, at, detail, actor), as `claim_due` writes them.

    PostgreSQL: one statement (`_CLAIM_PG`): `SELECT ... FOR UPDATE SKIP LOCKED`, the UPDATE
    (RETURNING each row with its previous status) and the events' INSERT. SQLite: the
    transaction already holds the write lock (BEGIN IMMEDIATE), so SELECT, UPDATE, INSERT.
    """
    table = MESSAGES
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "now": now,
            "limit": limit,
            "owner": owner,
            "lease_expires_at": lease_expires_at,
            "expired_detail": EXPIRED_DETAIL,
        }
        rows = list(session.execute(_CLAIM_PG, params))
        examined = len(rows)
        claimed = [row for row in rows if row.status is MessageStatus.SENDING]
        claimed.sort(key=lambda row: (row.next_attempt_at, row.id))
        return claimed, examined
    expired = and_(table.c.expires_at.is_not(None), table.c.expires_at <= now)
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE): read, then write.
    locked = session.execute(
        select(table.c.id, table.c.status.label("from_status"), expired.label("expired"))
        .where(status_is(*CLAIMABLE_STATUSES), table.c.next_attempt_at <= now)
        .order_by(table.c.next_attempt_at)
        .limit(limit)
    ).all()
    gone = [row.id for row in locked if row.expired]
    if gone:
        session.execute(
            update(table)
            .where(table.c.id.in_(gone))
            .values(status=MessageStatus.EXPIRED, updated_at=now)
        )
    before = {row.id: row.from_status for row in locked}
    rows = []
    if len(gone) < len(locked):
        rows = list(
            session.execute(
                update(table)
                .where(table.c.id.in_([row.id for row in locked if not row.expired]))
                .values(
                    status=MessageStatus.SENDING,
                    attempts=table.c.attempts + 1,
                    lease_owner=owner,
                    lease_expires_at=lease_expires_at,
                    updated_at=now,
                )
                .returning(*table.c)
            )
        )
    events = [_claim_event(row, before[row.id], now, owner) for row in rows]
    events += [
        _event(message_id, before[message_id], MessageStatus.EXPIRED, now, owner)
        for message_id in gone
    ]
    _insert_events(session, events)
    rows.sort(key=lambda row: (row.next_attempt_at, row.id))
    return rows, len(locked)


def _claim_event(
    row: Row[Any], from_status: MessageStatus, now: datetime, owner: str
) -> dict[str, object]:
    return _event(row.id, from_status, MessageStatus.SENDING, now, owner, f"attempt {row.attempts}")


def _event(
    message_id: int,
    from_status: MessageStatus | None,
    to_status: MessageStatus,
    now: datetime,
    owner: str,
    detail: str = EXPIRED_DETAIL,
) -> dict[str, object]:
    return {
        "message_id": message_id,
        "at": now,
        "from_status": from_status,
        "to_status": to_status,
        "detail": detail,
        "error_code": None,
        "actor": owner,
    }


def _insert_events(session: Session, events: list[dict[str, object]]) -> None:
    """One multi-row INSERT (SQLAlchemy's insertmanyvalues) for a batch's events."""
    if events:
        session.execute(insert(EVENTS), events)
