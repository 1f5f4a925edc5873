"""Queue several ready-written messages at once (the webhook's staff alerts).

The same rows and events as `outbox.queue_message` called once per message: each message
is `scheduled`, due `at`, and has its `created` MessageEvent; but the messages in one
batch of INSERTs (RETURNING their ids; psycopg pipelines them) and their events in
another, instead of an ORM flush per message. Prepared statements on the transaction's
Connection (an ORM caller passes `session.connection()`): the rows are not loaded into
any session; callers that need the ORM objects use `queue_message`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, insert

from followup.core.prepared import Prepared, full_row
from followup.models import Channel, MessageEvent, MessageKind, MessageStatus, ScheduledMessage

_MESSAGES: Table = ScheduledMessage.__table__  # type: ignore[assignment]
_EVENTS: Table = MessageEvent.__table__  # type: ignore[assignment]
# The ids only name the events, all alike but for message_id: their order does not matter.
_INSERT_MESSAGES = Prepared(insert(_MESSAGES).returning(_MESSAGES.c.id))
_INSERT_EVENTS = Prepared(insert(_EVENTS))


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: where it goes and what it says."""

    channel: Channel
    body: str
    recipient: str | None = None
    subject: str | None = None


def queue_messages(
    conn: Connection,
    messages: Sequence[Outgoing],
    *,
    clinic_id: int,
    kind: MessageKind,
    at: datetime,
    actor: str,
    patient_id: int | None = None,
    escalation_id: int | None = None,
    expires_at: datetime | None = None,
) -> list[int]:
    """Put the messages in the outbox, due now, each with its `created` event; their ids."""
    if not messages:
        return []
    rows = [
        full_row(
            _MESSAGES,
            {
                "clinic_id": clinic_id,
                "patient_id": patient_id,
                "escalation_id": escalation_id,
                "kind": kind,
                "channel": message.channel,
                "recipient": message.recipient,
                "subject": message.subject,
                "body": message.body,
                "send_at": at,
                "next_attempt_at": at,
                "expires_at": expires_at,
                "status": MessageStatus.SCHEDULED,
                "attempts": 0,
                "created_by": actor,
            },
        )
        for message in messages
    ]
    ids: list[int] = _INSERT_MESSAGES.many(conn, rows, returning=True)
    _INSERT_EVENTS.many(
        conn,
        [
            full_row(
                _EVENTS,
                {
                    "message_id": message_id,
                    "at": at,
                    "from_status": None,
                    "to_status": MessageStatus.SCHEDULED,
                    "detail": "created",
                    "error_code": None,
                    "actor": actor,
                },
            )
            for message_id in ids
        ],
    )
    return ids
