"""Logging: one event per line, and never a whole phone number, even from a library.

Our own log calls pass masked numbers already; the filter is the safety net for
third-party loggers (HTTP clients log URLs that carry the To number).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from followup.core.phones import mask_phone

# E.164 numbers, also URL-encoded (%2B) as HTTP client logs show them.
_PHONE = re.compile(r"(?:\+|%2B)\d{8,15}")


def redact(text: str) -> str:
    return _PHONE.sub(lambda match: mask_phone("+" + match.group(0).lstrip("+%2B")), text)


class RedactPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, not the one seen at start-up (a test
    runner swaps it per test; a handler holding an old one writes to a closed file)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    handler = _StderrHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RedactPhones())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # These log request URLs and bodies at DEBUG; keep them quiet whatever the level.
    for noisy in ("urllib3", "twilio.http_client", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # APScheduler logs every job run at INFO: our own jobs log what they did instead.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
