"""Bearer-token authentication and the per-token rate limit.

The rate limit is a token bucket per API token, held in this process's memory: with N web
workers a client gets up to N times the rate. That is acceptable for its purpose (stop a
runaway integration from flooding the database), and needs no shared store.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from followup.admin.api_tokens import verify_token
from followup.api.problems import ApiProblem
from followup.core.runtime import Runtime
from followup.models import ApiToken, Clinic

bearer = HTTPBearer(auto_error=False, description="An API token from `followup token create`.")


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


class RateLimiter:
    """`per_minute` requests a minute on average, bursts of up to `burst`, per API token."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()  # handlers run in a thread pool

    def take(self, key: int, now: datetime) -> float:
        """Take one request's worth; return 0 if allowed, else seconds until it would be."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


async def get_runtime(request: Request) -> Runtime:
    # A coroutine, so FastAPI calls it on the event loop (not in a worker thread and back).
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def api_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request. Handlers that write commit themselves (they must see a failed
    commit, e.g. an Idempotency-Key race); what is left is committed after a clean return."""
    with runtime.sessions() as session:
        yield session
        session.commit()


SessionDep = Annotated[Session, Depends(api_session)]


@dataclass(frozen=True)
class Caller:
    token: ApiToken
    clinic: Clinic

    @property
    def actor(self) -> str:
        return f"api:{self.token.prefix}"


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        field="Authorization",
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_caller(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("send `Authorization: Bearer <token>`")
    now = runtime.clock.now()
    token = verify_token(session, credentials.credentials, now=now)
    if token is None:
        raise _unauthorized("the token is unknown or revoked")
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.take(token.id, now)
    if wait > 0:
        raise ApiProblem(
            429,
            "rate-limited",
            "Too many requests",
            f"this token may make {limiter.rate * 60:g} requests a minute; retry later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    clinic = session.get(Clinic, token.clinic_id)
    if clinic is None:  # a token outlived its clinic: treat as unknown
        raise _unauthorized("the token is unknown or revoked")
    return Caller(token=token, clinic=clinic)


CallerDep = Annotated[Caller, Depends(current_caller)]
