"""Signed links in patient emails: one-click check-in answers and unsubscribe.

A link carries what it does and for whom, signed with the service secret, and expires
(14 days by default): a tampered or stale link is refused, never half-trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

LINK_LIFETIME = timedelta(days=14)
CHECKIN_ANSWERS = ("better", "same", "worse")


class LinkError(ValueError):
    """The link can't be used; `reason` is "expired" or "invalid"."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"link {reason}")
        self.reason = reason


@dataclass(frozen=True)
class PatientLink:
    action: str  # "checkin" or "unsubscribe"
    patient_id: int
    treatment_id: int | None
    answer: str | None


class LinkSigner:
    def __init__(self, secret: str, public_url: str) -> None:
        self._secret = secret
        self._public_url = public_url.rstrip("/")

    def checkin_url(self, patient_id: int, treatment_id: int, answer: str, now: datetime) -> str:
        if answer not in CHECKIN_ANSWERS:
            raise ValueError(f"unknown check-in answer {answer!r}")
        token = self._sign(["checkin", patient_id, treatment_id, answer], now)
        return f"{self._public_url}/r/{token}"

    def unsubscribe_url(self, patient_id: int, now: datetime) -> str:
        token = self._sign(["unsubscribe", patient_id, None, None], now)
        return f"{self._public_url}/u/{token}"

    def checkin_links(self, patient_id: int, treatment_id: int, now: datetime) -> dict[str, str]:
        return {a: self.checkin_url(patient_id, treatment_id, a, now) for a in CHECKIN_ANSWERS}

    def _signer(self, now: datetime) -> TimestampSigner:
        return _ClockSigner(self._secret, salt="followup.patient-link", now=now)

    def _sign(self, payload: list[object], now: datetime) -> str:
        body = base64_encode(json.dumps(payload, separators=(",", ":")).encode())
        return self._signer(now).sign(body).decode()

    def read(self, token: str, now: datetime, max_age: timedelta = LINK_LIFETIME) -> PatientLink:
        try:
            raw, signed_at = self._signer(now).unsign(token, return_timestamp=True)
        except SignatureExpired:
            raise LinkError("expired") from None
        except BadSignature:
            raise LinkError("invalid") from None
        if now - signed_at > max_age or signed_at - now > timedelta(minutes=5):
            raise LinkError("expired")
        try:
            action, patient_id, treatment_id, answer = json.loads(base64_decode(raw))
        except (BadSignature, ValueError, TypeError):
            raise LinkError("invalid") from None
        if action not in {"checkin", "unsubscribe"} or not isinstance(patient_id, int):
            raise LinkError("invalid")
        if action == "checkin" and answer not in CHECKIN_ANSWERS:
            raise LinkError("invalid")
        return PatientLink(action, patient_id, treatment_id, answer)


class _ClockSigner(TimestampSigner):
    """Stamps with the injected clock instead of the system's, so tests control expiry."""

    def __init__(self, secret: str, *, salt: str, now: datetime) -> None:
        super().__init__(secret, salt=salt)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())
