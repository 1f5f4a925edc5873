"""Times the provider's webhooks for /metrics: a pure ASGI middleware keyed by path, so the
routes stay as they are and every other request passes through untouched."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from followup.core.metrics import WEBHOOK_SECONDS

# Paths timed, each its own label (a fixed set: no unbounded label values).
TIMED_PATHS = ("/webhooks/twilio/sms", "/webhooks/twilio/status")


class WebhookTiming:
    """Observes how long each request to a TIMED_PATHS route takes, to the last byte sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.histograms = {path: WEBHOOK_SECONDS.labels(path) for path in TIMED_PATHS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        histogram = self.histograms.get(scope["path"]) if scope["type"] == "http" else None
        if histogram is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            histogram.observe(time.perf_counter() - started)
