"""Health for load balancers, monitoring and `make run`.

`/healthz` answers 200 whenever this process serves requests, even when the database is
unreachable: the Twilio webhook still accepts patients' replies then (it keeps them in
the spool, see inbound_spool), and a load balancer that took every node out of rotation
would lose them instead. Monitoring reads the body: `status` is "degraded" when the
database does not answer or replies are waiting in the spool.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from followup.core.runtime import Runtime
from followup.replies.runtime import spool_of
from followup.web.deps import RuntimeDep

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(runtime: RuntimeDep) -> dict[str, str | int]:
    database, spooled = await asyncio.to_thread(_check, runtime)
    degraded = database != "ok" or spooled > 0
    return {
        "status": "degraded" if degraded else "ok",
        "database": database,
        "spooled_replies": spooled,
    }


def _check(runtime: Runtime) -> tuple[str, int]:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("select 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    return database, len(spool_of(runtime).pending())
