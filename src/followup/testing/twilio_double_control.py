"""Remote control of a running Twilio double, from any process: `TwilioDoubleControl`.

It speaks the double's control endpoints over plain HTTP (`POST /_double/config` with a
JSON object, `GET /_double/messages`), so a test can drive a double that a worker or
bench process started. `Controls` holds the switches and read-outs this client shares
with the in-process `TwilioDouble` (followup.testing.twilio_double), and
`AcceptedMessage` is what both read back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class AcceptedMessage:
    sid: str
    to: str
    from_number: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    date_created: str


class Controls(ABC):
    """Behaviour switches and read-outs shared by the in-process and remote handles."""

    @abstractmethod
    def _configure(self, config: dict[str, Any]) -> None: ...

    @property
    @abstractmethod
    def accepted(self) -> list[AcceptedMessage]: ...

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer by `seconds` (the message is still accepted)."""
        self._configure({"latency": seconds})

    def set_down(self, down: bool) -> None:
        """While down, every API request gets 503."""
        self._configure({"down": down})

    def fail_next(
        self, n: int, status: int = 503, code: int | None = None, retry_after: float | None = None
    ) -> None:
        """The next `n` send requests fail with `status` (and Twilio `code`, Retry-After)."""
        spec = {"n": n, "status": status, "code": code, "retry_after": retry_after}
        self._configure({"fail_next": spec})

    def fail_for_number(self, to: str, code: int, status: int = 400) -> None:
        """Every send to `to` fails with Twilio error `code`, until `reset()`."""
        self._configure({"fail_for_number": {"to": to, "code": code, "status": status}})

    def hold_answers(self) -> None:
        """Accept each new message, then keep its answer until `release_answers()`: the
        caller's timeout, or a kill, always lands while the message is already taken, with
        no race against a latency."""
        self._configure({"hold": True})

    def release_answers(self) -> None:
        """Send every answer being held, and stop holding."""
        self._configure({"hold": False})

    def reset(self) -> None:
        """Back to a healthy double (accepted messages are kept; held answers are sent)."""
        self._configure({"reset": True})

    def count_by_body(self) -> Counter[str]:
        return Counter(message.body for message in self.accepted)

    def duplicates(self) -> dict[tuple[str, str], int]:
        """(to, body) pairs accepted more than once, with their counts."""
        counts = Counter((message.to, message.body) for message in self.accepted)
        return {key: count for key, count in counts.items() if count > 1}


class TwilioDoubleControl(Controls):
    """Drive and read a double running in another process, through its control endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _configure(self, config: dict[str, Any]) -> None:
        requests.post(f"{self.base_url}/_double/config", json=config, timeout=10).raise_for_status()

    @property
    def accepted(self) -> list[AcceptedMessage]:
        answer = requests.get(f"{self.base_url}/_double/messages", timeout=60)
        answer.raise_for_status()
        return [AcceptedMessage(**item) for item in answer.json()["messages"]]
