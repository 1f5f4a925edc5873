"""The development "send": print a short line and append the message to a JSON-lines outbox.

The outbox doubles as the provider's memory, so `find_sent` can answer honestly and
crash recovery behaves in development as it does against Twilio.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from followup.core.phones import mask_phone
from followup.delivery.transports.base import (
    OutgoingEmail,
    OutgoingSms,
    ProviderMessage,
    SendResult,
    mask_email,
)


class ConsoleTransport:
    """Both an SMS and an email transport; nothing leaves the machine."""

    name = "console"

    def __init__(self, outbox_path: Path, stream: TextIO = sys.stdout) -> None:
        self.outbox_path = outbox_path
        self.stream = stream
        # One lock for file and stream: lines from concurrent senders must not interleave.
        self._lock = threading.Lock()

    def send_sms(self, message: OutgoingSms) -> SendResult:
        provider_id = f"console-{uuid.uuid4().hex}"
        sender = message.from_number or message.messaging_service_sid
        self._record(
            {
                "channel": "sms",
                "to": message.to,
                "from": sender,
                "body": message.body,
                "reference": message.reference,
                "provider_id": provider_id,
            },
            f"SMS to {mask_phone(message.to)} [{message.reference}]: {message.body}",
        )
        return SendResult(provider_id=provider_id, provider_status="sent")

    def send_email(self, message: OutgoingEmail) -> SendResult:
        provider_id = f"console-{uuid.uuid4().hex}"
        self._record(
            {
                "channel": "email",
                "to": message.to,
                "from": message.from_address,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
                "reference": message.reference,
                "provider_id": provider_id,
            },
            f"EMAIL to {mask_email(message.to)} [{message.reference}]: {message.subject}",
        )
        return SendResult(provider_id=provider_id, provider_status="sent")

    def find_sent(
        self, to: str, from_number: str | None, since: datetime, body: str | None = None
    ) -> list[ProviderMessage] | None:
        """SMS in the outbox for `to` (and `from_number`, `body` when given) since `since`."""
        found = []
        for entry in self._read_outbox():
            at = datetime.fromisoformat(entry["at"])
            if entry.get("channel") != "sms" or entry["to"] != to or at < since:
                continue
            if from_number is not None and entry.get("from") != from_number:
                continue
            if body is not None and entry["body"] != body:
                continue
            found.append(
                ProviderMessage(
                    provider_id=entry["provider_id"],
                    to=entry["to"],
                    from_number=entry.get("from"),
                    body=entry["body"],
                    status="sent",
                    created_at=at,
                )
            )
        return found

    def _record(self, entry: dict[str, Any], line: str) -> None:
        entry["at"] = datetime.now(UTC).isoformat()
        encoded = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
            with self.outbox_path.open("a+b") as outbox:
                size = outbox.seek(0, os.SEEK_END)
                if size:
                    outbox.seek(size - 1)
                    if outbox.read(1) != b"\n":
                        # A crash left a torn line; start afresh so this entry stays readable.
                        encoded = b"\n" + encoded
                outbox.write(encoded)
                outbox.flush()
                # fsync: a "sent" message must survive a crash, or recovery would resend it.
                os.fsync(outbox.fileno())
            print(line, file=self.stream, flush=True)

    def _read_outbox(self) -> list[dict[str, Any]]:
        with self._lock:
            try:
                text = self.outbox_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
        # A crash mid-write can leave a torn last line; it was never reported as sent.
        entries = []
        for raw in text.splitlines():
            try:
                entries.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
        return entries
