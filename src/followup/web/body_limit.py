"""Request bodies are capped before they are read, per route family (webhooks, the API, CSV
imports, and a small default for dashboard forms and the rest).

A declared Content-Length over the cap is answered 413 at once: the app never runs, so
nothing is authenticated, parsed or spooled, and `Connection: close` spares the server the
rest of the body. A body without a length (chunked) is counted as the app reads it, by
Starlette's RequestBodyLimitMiddleware, which answers 413 once the count passes the cap;
FastAPI reads a route's declared body before it runs the dependencies that authenticate,
and a route that refuses first (a signed-out dashboard action) reads nothing at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from followup.api.problems import PROBLEM_BASE, PROBLEM_JSON
from followup.core.config import Settings

API_PREFIX = "/api/"


@dataclass(frozen=True)
class BodyLimits:
    """The largest body for each route family (path prefix), and for everything else."""

    default: int
    by_prefix: tuple[tuple[str, int], ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(
            default=settings.max_body_bytes,
            by_prefix=(
                ("/webhooks/", settings.max_body_webhook_bytes),
                (API_PREFIX, settings.max_body_api_bytes),
                ("/import", settings.max_body_import_bytes),
            ),
        )

    def for_path(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.default


class RequestBodyLimit:
    """ASGI middleware: 413 for a body over its route family's cap, before the app reads it."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits
        caps = {limits.default, *(limit for _prefix, limit in limits.by_prefix)}
        self._counting = {cap: RequestBodyLimitMiddleware(app, max_body_size=cap) for cap in caps}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        cap = self.limits.for_path(path)
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _too_large(path, cap)(scope, receive, send)
            return
        await self._counting[cap](scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed length before we see it


def _too_large(path: str, cap: int) -> Response:
    detail = f"Request bodies here are limited to {cap} bytes."
    headers = {"Connection": "close"}
    if path.startswith(API_PREFIX):
        problem = {
            "type": PROBLEM_BASE + "content-too-large",
            "title": "Content too large",
            "status": 413,
            "detail": detail,
        }
        return Response(json.dumps(problem), 413, headers, media_type=PROBLEM_JSON)
    return Response(detail, 413, headers, media_type="text/plain")
