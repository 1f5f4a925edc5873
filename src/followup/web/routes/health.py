"""Health for load balancers, monitoring and `make run`.

`/healthz` answers 200 whenever this process serves requests, even when the database is
unreachable: the Twilio webhook still accepts patients' replies then (it keeps them in
the spool, see inbound_spool), and a load balancer that took every node out of rotation
would lose them instead. Monitoring reads the body: `status` is "degraded" when the
database does not answer, replies are waiting in the spool, or messages are due and no
worker is alive to send them (`workers`: how many are).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from followup.core.runtime import Runtime
from followup.replies.runtime import spool_of
from followup.reporting.operations import alive_workers, any_due, worker_missing
from followup.web.deps import RuntimeDep

router = APIRouter()


@dataclass(frozen=True)
class _Health:
    database: str
    workers: int | None  # None: the database did not answer
    due: bool
    spooled: int


@router.get("/healthz", include_in_schema=False)
async def healthz(runtime: RuntimeDep) -> dict[str, str | int | None]:
    health = await asyncio.to_thread(_check, runtime)
    degraded = (
        health.database != "ok"
        or health.spooled > 0
        or worker_missing(health.workers or 0, int(health.due))
    )
    return {
        "status": "degraded" if degraded else "ok",
        "database": health.database,
        "workers": health.workers,
        "spooled_replies": health.spooled,
    }


def _check(runtime: Runtime) -> _Health:
    spooled = len(spool_of(runtime).pending())
    try:
        with runtime.sessions() as session:
            now = runtime.clock.now()
            return _Health("ok", alive_workers(session, now), any_due(session, now), spooled)
    except SQLAlchemyError:
        return _Health("unreachable", None, False, spooled)
