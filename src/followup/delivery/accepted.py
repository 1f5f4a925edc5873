"""Recording the sends a provider accepted (the common case), set-based.

One UPDATE guarded by `status = 'sending' AND lease_owner = owner` marks them sent and
keeps the words each transport was given, and their events go in one INSERT: the same
effect as `outcomes.mark_sent` row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from followup.delivery.claim import EVENTS, MESSAGES
from followup.models import MessageStatus, ScheduledMessage


@dataclass(frozen=True)
class SentCopy:
    """The words a transport was given: an SMS body, or an email's subject and text.

    Kept on the message the first time a transport takes it (`COALESCE`: words already
    kept are never replaced), so what staff read back is what the patient was sent."""

    subject: str | None
    body: str


# What the provider took: its id for the message, and the words it was given.
Accepted = tuple[str, SentCopy | None]

_SENT_PG = text(
    """
    WITH done AS (
        UPDATE scheduled_message AS m
        SET status = 'sent', provider_id = v.provider_id, sent_at = :now, error_code = NULL,
            error_message = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = :now,
            subject = COALESCE(m.subject, v.subject), body = COALESCE(m.body, v.body)
        FROM unnest(
            CAST(:ids AS integer[]), CAST(:provider_ids AS varchar[]),
            CAST(:subjects AS varchar[]), CAST(:bodies AS text[])
        ) AS v(id, provider_id, subject, body)
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
    session: Session, sent: Mapping[int, Accepted], *, owner: str, now: datetime
) -> set[int]:
    """Mark sent the messages still leased to `owner`, keeping the words they were sent
    with; return their ids (same effect as `mark_sent`, events included). Ids not returned
    lost their lease meanwhile."""
    ids = sorted(sent)  # a steady lock order
    if session.get_bind().dialect.name == "postgresql":
        copies = [sent[i][1] for i in ids]
        params = {
            "ids": ids,
            "provider_ids": [sent[i][0] for i in ids],
            "subjects": [copy.subject if copy else None for copy in copies],
            "bodies": [copy.body if copy else None for copy in copies],
            "now": now,
            "owner": owner,
        }
        return set(session.scalars(_SENT_PG, params))
    return _record_accepted_sqlite(session, sent, ids, owner=owner, now=now)


def _record_accepted_sqlite(
    session: Session, sent: Mapping[int, Accepted], ids: list[int], *, owner: str, now: datetime
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
            subject=func.coalesce(table.c.subject, bindparam("kept_subject", type_=String)),
            body=func.coalesce(table.c.body, bindparam("kept_body", type_=Text)),
        ),
        [_sqlite_params(i, sent[i]) for i in held],
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


def _sqlite_params(message_id: int, accepted: Accepted) -> dict[str, object]:
    provider_id, copy = accepted
    return {
        "message_id": message_id,
        "pid": provider_id,
        "kept_subject": copy.subject if copy else None,
        "kept_body": copy.body if copy else None,
    }
