"""A per-sender rate limit (messages per second) for one worker process.

Carriers throttle a sender number (e.g. 1 msg/s for a US long code); sending faster only
earns queue-overflow errors. Each sender gets evenly spaced slots; a thread that takes a
slot in the future sleeps until it. Time is injected, so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SenderRateLimiter:
    def __init__(
        self,
        per_second: float | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, sender: str) -> float:
        """Wait for `sender`'s next slot; return how long we waited (seconds)."""
        if self.per_second is None:
            return 0.0
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot.get(sender, now))
            self._next_slot[sender] = slot + 1.0 / self.per_second
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait
