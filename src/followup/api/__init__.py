"""The JSON API for booking systems, a FastAPI sub-application mounted at /api/v1 with its
own OpenAPI document (/api/v1/openapi.json) and docs (/api/v1/docs)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from followup.api.auth import RateLimiter
from followup.api.docs import install_docs
from followup.api.problems import install_problem_handlers, problem_openapi
from followup.api.routes import router
from followup.core.runtime import Runtime

API_PREFIX = "/api/v1"


def create_api_app(runtime: Runtime) -> FastAPI:
    """The API app; mount it with `app.mount(API_PREFIX, create_api_app(runtime))`."""
    settings = runtime.settings
    per_minute, burst = settings.api_rate_limit_per_minute, settings.api_rate_limit_burst
    api = FastAPI(
        title="followup API",
        version="1",
        description="Enroll patients from a booking system and read their follow-up. "
        "Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem "
        f"details. Each token may make {per_minute:g} requests a minute (bursts of {burst}).",
        docs_url=None,  # our own page, no CDN: see followup.api.docs
        redoc_url=None,
        openapi_url="/openapi.json",
        servers=[{"url": API_PREFIX}],
    )
    api.state.runtime = runtime
    api.state.rate_limiter = RateLimiter(per_minute, burst)
    api.include_router(router)
    install_problem_handlers(api)
    install_docs(api, API_PREFIX)

    def openapi() -> dict[str, Any]:
        return problem_openapi(api)

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def mount_api(app: FastAPI, runtime: Runtime) -> None:
    """Serve the API under /api/v1 of the dashboard app (one line in create_app)."""
    app.mount(API_PREFIX, create_api_app(runtime))
