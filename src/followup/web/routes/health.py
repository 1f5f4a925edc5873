"""Liveness and readiness for load balancers and `make run`."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from followup.web.deps import DbSession

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(session: DbSession) -> dict[str, str]:
    session.execute(text("select 1"))
    return {"status": "ok"}
