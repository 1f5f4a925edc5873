"""Replies that arrive while the database is unreachable or too slow: kept on disk.

Twilio does not retry an incoming-message webhook that fails (it logs error 11200 and
moves on), so a reply the database could not take would be lost, and a patient's WORSE
or red flag with it. Instead the webhook writes the message to this spool, one file per
MessageSid, named by a hash of it so that no two SIDs share a file (written to a
temporary name, flushed to disk, then renamed, so a file is whole or absent), and
answers at once. The app replays the spool when the database is back: each message goes
through the same use case as if it had just arrived (in one transaction,
`receive.receive_sms`), at the time it was received, and is deleted once stored (or
found already stored: replay is idempotent by MessageSid, like Twilio's own retries).

The webhook could not know who was writing, so it answered at most the emergency
guidance every patient may need (`replies.runtime.delayed_reply`); the file keeps that
answer. At replay the stored reply records what the patient was really answered in the
TwiML (that guidance, or nothing), and the answer the reply would have had (a STOP
confirmation, HELP, a check-in's thanks, the clinic's own urgent answer) is queued in the
outbox, in the same transaction: the conversation shows each text once, as it was sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, update

from followup.delivery.outbox import queue_message
from followup.models import Channel, InboundMessage, MessageKind
from followup.replies.actions import orm_session
from followup.replies.receive import InboundOutcome, ReplyDeps, receive_sms
from followup.replies.sms import InboundSms

log = logging.getLogger(__name__)

SPOOL_DIRECTORY = "inbound-spool"


def spool_name(message_sid: str) -> str:
    """The file that keeps this SID's reply. A hash, not the SID made file-safe: "SM/a"
    and "SM_a" must stay two replies (one could be a red flag, the other a "better")."""
    return hashlib.sha256(message_sid.encode("utf-8")).hexdigest() + ".json"


@dataclass(frozen=True)
class Replayed:
    handled: int
    failed: int
    unreadable: int


class InboundSpool:
    """The spool directory (created on first use) of one app's data_dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, sms: InboundSms, received_at: datetime, answered: str | None = None) -> Path:
        """Keep a reply, and what the webhook answered it, for later; durable when this
        returns. The same MessageSid twice (a Twilio retry) is one file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / spool_name(sms.message_sid)
        # Its own temporary name: a Twilio retry may race the first delivery.
        temporary = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")
        record = {"received_at": received_at.isoformat(), "sms": asdict(sms), "answered": answered}
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(record, file)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
        _fsync_directory(self.directory)  # the rename itself survives a power cut
        log.warning("database unavailable: inbound sms %s kept in the spool", path.name)
        return path

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)

    def replay(self, engine: Engine, deps: ReplyDeps, now: datetime) -> Replayed:
        """Handle every kept reply, oldest first; a reply that fails stays for next time."""
        handled = failed = unreadable = 0
        for path in self.pending():
            try:
                sms, received_at, answered = _load(path)
            except FileNotFoundError:
                continue  # another worker process replayed it first
            except (OSError, ValueError, TypeError, KeyError):
                # Kept aside, never deleted: a person can still read it.
                log.exception("spooled reply %s cannot be read; renamed .unreadable", path.name)
                path.replace(path.with_suffix(".unreadable"))
                unreadable += 1
                continue
            try:
                # One transaction: the reply, its effects and its late answer, or nothing.
                with engine.begin() as conn:
                    outcome = receive_sms(conn, deps, sms, received_at)
                    if not outcome.duplicate:
                        _record_inline_answer(conn, outcome, answered)
                        if outcome.reply_text:
                            _queue_late_reply(conn, outcome, sms, now)
            except Exception:
                log.exception("spooled reply %s not handled yet; kept", path.name)
                failed += 1
                continue
            path.unlink(missing_ok=True)
            handled += 1
        if handled or failed or unreadable:
            log.info("inbound spool replayed handled=%d failed=%d", handled, failed)
        return Replayed(handled, failed, unreadable)


def _load(path: Path) -> tuple[InboundSms, datetime, str | None]:
    record = json.loads(path.read_text(encoding="utf-8"))
    received_at = datetime.fromisoformat(record["received_at"])
    # Files written before the answer was kept: the TwiML then said nothing worth keeping.
    return InboundSms(**record["sms"]), received_at, record.get("answered")


def _record_inline_answer(conn: Connection, outcome: InboundOutcome, answered: str | None) -> None:
    """The stored reply's `reply_body` is what its TwiML said, not the answer queued now."""
    conn.execute(
        update(InboundMessage.__table__)  # type: ignore[arg-type]
        .where(InboundMessage.__table__.c.id == outcome.inbound_id)
        .values(reply_body=answered)
    )


def _queue_late_reply(
    conn: Connection, outcome: InboundOutcome, sms: InboundSms, now: datetime
) -> None:
    """The auto-reply the webhook could not give, by SMS through the outbox."""
    with orm_session(conn) as session:
        stored = session.get(InboundMessage, outcome.inbound_id)
        if stored is None or stored.clinic_id is None or outcome.reply_text is None:
            return
        queue_message(
            session,
            clinic_id=stored.clinic_id,
            patient_id=stored.patient_id,
            kind=MessageKind.AUTO_REPLY,
            channel=Channel.SMS,
            recipient=sms.from_number,
            body=outcome.reply_text,
            at=now,
            actor="inbound-spool",
        )


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
