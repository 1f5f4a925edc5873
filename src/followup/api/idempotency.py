"""Idempotency-Key: a retried request gets the first answer instead of doing the work twice.

Only successful enrollments are remembered: an error leaves nothing behind, so retrying it
simply runs again (and a time-dependent refusal may then pass).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.api.problems import ApiProblem
from followup.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"


def request_fingerprint(method: str, path: str, payload: dict[str, Any]) -> str:
    """Same method, path and parsed body -> same fingerprint (key order, spacing ignored)."""
    canonical = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_response(
    session: Session, clinic_id: int, key: str, fingerprint: str
) -> JSONResponse | None:
    """The first answer for `key`, or None if the key is new. A reused key with another
    body is refused: it is a client bug, and guessing which body they meant is unsafe."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused with a different request",
            "this key was first used with another body; use a new key for a new request",
            field="Idempotency-Key",
        )
    response = JSONResponse(
        json.loads(record.response_body),
        status_code=record.response_status,
        headers={REPLAY_HEADER: "true"},
    )
    return response


def remember(
    session: Session,
    clinic_id: int,
    key: str,
    fingerprint: str,
    status: int,
    body: dict[str, Any],
) -> None:
    session.add(
        IdempotencyRecord(
            clinic_id=clinic_id,
            key=key,
            request_hash=fingerprint,
            response_status=status,
            response_body=json.dumps(body),
        )
    )
