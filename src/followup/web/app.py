"""The FastAPI app factory. Everything it needs comes in a Runtime; nothing is global."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from followup.admin.sessions import SESSION_LIFETIME
from followup.api import mount_api
from followup.core.runtime import Runtime
from followup.replies.runtime import replay_spool_forever, reply_deps
from followup.reporting.metrics import registry_for
from followup.web.body_limit import BodyLimits, RequestBodyLimit
from followup.web.deps import Forbidden, LoginRequired, NotFound, PasswordChangeRequired
from followup.web.import_jobs import ImportJobs
from followup.web.pages import render
from followup.web.routes import (
    account,
    api_tokens,
    audit,
    auth,
    dashboard,
    enroll,
    escalations,
    health,
    imports,
    metrics,
    patient,
    patient_links,
    patients,
    reports,
    search,
    staff,
    templates_preview,
    twilio_sms,
    twilio_status,
    unknown_numbers,
)
from followup.web.routes import settings as settings_pages
from followup.web.security_headers import SecurityHeaders
from followup.web.timing import WebhookTiming

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves: replies kept while the database was down are replayed. The
    reply lexicon is compiled before the first request, not by a patient's reply. When the
    app stops, a running CSV import stops between two batches."""
    await asyncio.to_thread(reply_deps, app.state.runtime)
    replaying = asyncio.create_task(replay_spool_forever(app.state.runtime))
    try:
        yield
    finally:
        replaying.cancel()
        with suppress(asyncio.CancelledError):
            await replaying
        app.state.import_jobs.close()


STATIC_DIR = Path(__file__).parent / "static"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())  # one clinic shift


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="followup",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    app.state.runtime = runtime
    app.state.metrics_registry = registry_for(runtime)  # served by /metrics (routes/metrics)
    app.state.import_jobs = ImportJobs(runtime)
    settings = runtime.settings
    https = settings.public_url.startswith("https://")
    # The last added runs first: headers on every answer (a 413 too), then the body cap,
    # before the cookie is read or anything else runs.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key(),
        session_cookie="followup_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=https,
    )
    app.add_middleware(RequestBodyLimit, limits=BodyLimits.from_settings(settings))
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(WebhookTiming)  # outermost: the webhook's whole time, sessions included
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        health.router,
        metrics.router,
        auth.router,
        patients.router,
        search.router,
        unknown_numbers.router,
        dashboard.router,
        escalations.router,
        escalations.actions,
        patient.router,
        patient.actions,
        enroll.router,
        enroll.actions,
        templates_preview.router,
        settings_pages.router,
        settings_pages.actions,
        audit.router,
        twilio_sms.router,
        twilio_status.router,
        patient_links.router,
        reports.router,
        imports.router,
        imports.actions,
        api_tokens.router,
        api_tokens.actions,
        staff.actions,
        account.router,
        account.actions,
    ):
        app.include_router(router)
    _install_error_pages(app)
    mount_api(app, runtime)  # /api/v1, with its own OpenAPI and error format

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers and bookmarks ask for /favicon.ico whatever a page links: the SVG icon.
        return FileResponse(
            STATIC_DIR / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return app


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "HX-Request" not in request.headers


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse({"detail": "sign in required"}, status_code=401)

    @app.exception_handler(PasswordChangeRequired)
    def _password_change_required(request: Request, _exc: PasswordChangeRequired) -> Response:
        if _wants_html(request):
            return RedirectResponse("/account", status_code=303)
        message = "Choose a new password on your account page first."
        return PlainTextResponse(message, status_code=403)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, _exc: Forbidden) -> Response:
        if _browser(request):
            return _error_page(request, 403, "Admins only", "This page is for clinic admins.")
        return PlainTextResponse("This page is for clinic admins.", status_code=403)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, _exc: NotFound) -> Response:
        if _browser(request):
            return _error_page(request, 404, "Not found", "There is nothing here (any more).")
        return PlainTextResponse("Not found.", status_code=404)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A nurse whose form expired gets a page that says what to do, not a JSON blob;
        # webhooks, the API and HTMX calls keep FastAPI's plain answer.
        if _browser(request) and exc.status_code in (403, 404):
            return _error_page(
                request,
                exc.status_code,
                "That didn't work",
                str(exc.detail),
                back=_same_site(request, request.headers.get("referer")),
                back_text="Go back and try again",
            )
        return await http_exception_handler(request, exc)


def _browser(request: Request) -> bool:
    """A page load or form post from a browser (not HTMX, a webhook or the API)."""
    return (
        "text/html" in request.headers.get("accept", "")
        and "HX-Request" not in request.headers
        and not request.url.path.startswith(("/webhooks/", "/api/", "/r/", "/u/"))
    )


def _same_site(request: Request, url: str | None) -> str | None:
    """A referer worth linking back to: only one of our own pages."""
    base = str(request.base_url)
    return url if url and url.startswith(base) else None


def _error_page(
    request: Request, status: int, title: str, message: str, **links: str | None
) -> Response:
    # The request's transaction is rolled back by now: its rows (the signed-in staff
    # member) can't be read any more, so the error page goes without the top bar.
    context = {"title": title, "message": message, "staff": None, **links}
    return render(request, "error.html", context, status_code=status)
