"""Claiming due messages: lock a batch, lease it to one worker, commit.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so several workers take
disjoint batches without waiting on each other. SQLite has no row locks; its writers are
serialised by BEGIN IMMEDIATE (see db.py), which makes the claim just as exclusive for the
single embedded worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from followup.models import CLAIMABLE_STATUSES, MessageStatus, ScheduledMessage
from followup.outbox import transition


def due_query(now: datetime, limit: int) -> Select[ScheduledMessage]:
    """The claim's SELECT (exposed for the benchmark's EXPLAIN and timing)."""
    return (
        select(ScheduledMessage)
        .where(
            ScheduledMessage.status.in_(CLAIMABLE_STATUSES),
            ScheduledMessage.next_attempt_at <= now,
        )
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
                detail="its useful window passed before it could be sent",
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
