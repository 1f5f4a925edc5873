"""Recording the sends a provider accepted (the common case), set-based.

One UPDATE guarded by `status = 'sending' AND lease_owner = owner` marks them sent, and
their events go in one INSERT: the same effect as `outcomes.mark_sent` row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from followup.delivery.claim import EVENTS, MESSAGES
from followup.models import MessageStatus, ScheduledMessage

_SENT_PG = text(
    """
    WITH done AS (
        UPDATE scheduled_message AS m
        SET status = 'sent', provider_id = v.provider_id, sent_at = :now, error_code = NULL,
            error_message = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = :now
        FROM unnest(CAST(:ids AS integer[]), CAST(:provider_ids AS varchar[]))
            AS v(id, provider_id)
        WHERE m.id = ANY(CAST(:ids AS integer[])) AND m.id = v.id
            AND m.status = 'sending' AND m.lease_owner = :owner
        RETURNING m.id
    )
    INSERT INTO message_event (message_id, at, from_status, to_status, detail, error_code, actor)
    SELECT id, :now, 'sending', 'sent', 'accepted', NULL, :owner FROM done
    RETURNING message_id
    """
).bindparams(bindparam("now", type_=ScheduledMessage.__table__.c.sent_at.type))


def record_accepted(
    session: Session, sent: Mapping[int, str], *, owner: str, now: datetime
) -> set[int]:
    """Mark sent the messages still leased to `owner`; return their ids (same effect as
    `mark_sent`, events included). Ids not returned lost their lease meanwhile."""
    ids = sorted(sent)  # a steady lock order
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "ids": ids,
            "provider_ids": [sent[i] for i in ids],
            "now": now,
            "owner": owner,
        }
        return set(session.scalars(_SENT_PG, params))
    return _record_accepted_sqlite(session, sent, ids, owner=owner, now=now)


def _record_accepted_sqlite(
    session: Session, sent: Mapping[int, str], ids: list[int], *, owner: str, now: datetime
) -> set[int]:
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE): read, then write.
    table = MESSAGES
    held = session.scalars(
        select(table.c.id).where(
            table.c.id.in_(ids),
            table.c.status == MessageStatus.SENDING,
            table.c.lease_owner == owner,
        )
    ).all()
    if not held:
        return set()
    session.execute(
        update(table)
        .where(table.c.id == bindparam("message_id"))
        .values(
            status=MessageStatus.SENT,
            provider_id=bindparam("pid"),
            sent_at=now,
            error_code=None,
            error_message=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        ),
        [{"message_id": i, "pid": sent[i]} for i in held],
    )
    session.execute(
        insert(EVENTS),
        [
            {
                "message_id": i,
                "at": now,
                "from_status": MessageStatus.SENDING,
                "to_status": MessageStatus.SENT,
                "detail": "accepted",
                "error_code": None,
                "actor": owner,
            }
            for i in held
        ],
    )
    return set(held)
