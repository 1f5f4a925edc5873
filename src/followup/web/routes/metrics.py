"""`/metrics` for Prometheus: 404 unless FOLLOWUP_METRICS_TOKEN is set, then only for a
request that brings it as a bearer token (the figures say how busy each clinic is)."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from followup.web.deps import RuntimeDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if token is None:
        return PlainTextResponse("Not found.", status_code=404)
    given = request.headers.get("authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return PlainTextResponse(
            "A bearer token is required.",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry: CollectorRegistry = request.app.state.metrics_registry
    body = await asyncio.to_thread(generate_latest, registry)  # reads the database
    return Response(body, media_type=CONTENT_TYPE_LATEST)
