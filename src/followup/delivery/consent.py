"""The consent re-check run right before every send.

An opt-out (or a paused treatment) committed before the provider call always wins, and a
message whose lease was taken over, or is about to expire, is handed back unsent.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import Clock
from followup.delivery.context import SendJob
from followup.delivery.outcomes import Outcome, Released, Withheld
from followup.models import MessageKind, MessageStatus, Patient, ScheduledMessage, Treatment

# What the consent re-check reads (built once: it runs before every send). On PostgreSQL the
# same read is sent as plain SQL on the thread's own autocommit connection and prepared
# once per connection: primary-key lookups, a few tens of microseconds server-side.
CONSENT_SQL = (
    "SELECT m.status, m.lease_owner, m.send_at, m.lease_expires_at, p.opted_out_at,"
    " t.paused_at FROM scheduled_message AS m"
    " LEFT OUTER JOIN patient AS p ON p.id = m.patient_id"
    " LEFT OUTER JOIN treatment AS t ON t.id = m.treatment_id"
    " WHERE m.id = %s"
)
CONSENT_QUERY = (
    select(
        ScheduledMessage.status,
        ScheduledMessage.lease_owner,
        ScheduledMessage.send_at,
        ScheduledMessage.lease_expires_at,
        Patient.opted_out_at,
        Treatment.paused_at,
    )
    .select_from(ScheduledMessage)
    .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
    .outerjoin(Treatment, Treatment.id == ScheduledMessage.treatment_id)
    .where(ScheduledMessage.id == bindparam("message_id"))
)


class ConsentReader:
    """Reads a message's consent row; one autocommit connection per sending thread."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._local = threading.local()
        self._sqlite = sessions.kw["bind"].dialect.name == "sqlite"
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()

    def _reader(self) -> Connection:
        """This thread's autocommit connection: each read is its own short transaction."""
        connection: Connection | None = getattr(self._local, "reader", None)
        if connection is None or connection.closed or connection.invalidated:
            bind = self.sessions.kw["bind"]
            connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.reader = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def row(self, message_id: int) -> tuple[Any, ...] | None:
        """(status, lease_owner, send_at, lease_expires_at, opted_out_at, paused_at)."""
        if self._sqlite:
            # SQLite: every transaction takes the write lock (BEGIN IMMEDIATE), so no
            # long-lived reader; a short session per check.
            with self.sessions() as session:
                row = session.execute(CONSENT_QUERY, {"message_id": message_id}).one()
            return (row[0].value, *row[1:])
        reader = self._reader()
        driver = reader.connection.driver_connection
        try:
            # psycopg 3, autocommit: one round trip, the statement prepared server-side.
            found = driver.execute(CONSENT_SQL, (message_id,), prepare=True).fetchone()  # type: ignore[union-attr]
        except psycopg.Error:
            reader.invalidate()  # a broken connection is not reused
            raise
        return tuple(found) if found is not None else None


def consent_gate(
    job: SendJob,
    row: tuple[Any, ...] | None,
    *,
    owner: str,
    lease_seconds: float,
    clock: Clock,
) -> Outcome | None:
    """Judge the consent row re-read right before sending: an opt-out committed first
    always wins. None: go ahead and send."""
    if row is None:
        return Released("the message is gone")
    status, lease_owner, send_at, lease_expires_at, opted_out_at, paused_at = row
    if status != MessageStatus.SENDING.value or lease_owner != owner:
        return Released("the lease was taken over")
    # Recovery may take over an expired lease and ask the provider: a send must be over
    # (transport timeout <= lease/3) before then, or the answer could be stale.
    margin = timedelta(seconds=lease_seconds / 3)
    if lease_expires_at is None or lease_expires_at <= clock.now() + margin:
        return Released("too little of the lease is left to send safely")
    return consent_verdict(job, opted_out_at, paused_at, send_at)


def consent_verdict(
    job: SendJob,
    opted_out_at: datetime | None,
    paused_at: datetime | None,
    send_at: datetime,
) -> Outcome | None:
    """Withheld if the patient opted out (or the treatment is paused), else None.

    Staff alerts go to staff, not the patient. An auto-reply queued at or after the opt-out
    is its confirmation, which carriers require us to send.
    """
    if job.kind is MessageKind.STAFF_ALERT or job.patient_id is None:
        return None
    if opted_out_at is not None:
        confirmation = job.kind is MessageKind.AUTO_REPLY and send_at >= opted_out_at
        if not confirmation:
            return Withheld(MessageStatus.CANCELLED, "the patient opted out before it was sent")
    if paused_at is not None and job.kind is MessageKind.PLAN:
        return Withheld(MessageStatus.PAUSED, "the treatment's follow-up is paused")
    return None
