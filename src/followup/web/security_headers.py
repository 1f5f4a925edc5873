"""The headers every response carries: a Content-Security-Policy that allows only our own
scripts and styles (no inline ones: templates keep behaviour in static/*.js and looks in
static/*.css), no framing, no MIME sniffing, same-origin referrers, HSTS when the public URL
is https, and no caching of anything but static files (every other answer may hold patient
data or a secret; the simple rule leaves nothing out by mistake)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
# A year. Not includeSubDomains: the clinic's other hosts are not ours to decide for.
HSTS = "max-age=31536000"
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """ASGI middleware; a header a route set itself is left as the route set it."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if https:
            headers["Strict-Transport-Security"] = HSTS
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
