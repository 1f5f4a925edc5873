"""The FastAPI app factory. Everything it needs comes in a Runtime; nothing is global."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from followup.api import mount_api
from followup.runtime import Runtime
from followup.web.deps import Forbidden, LoginRequired, NotFound
from followup.web.routes import (
    api_tokens,
    audit,
    auth,
    dashboard,
    enroll,
    escalations,
    health,
    imports,
    patient,
    patient_links,
    patients,
    reports,
    templates_preview,
    twilio_sms,
    twilio_status,
)
from followup.web.routes import settings as settings_pages

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
SESSION_MAX_AGE = 12 * 3600  # one clinic shift


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="followup", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    settings = runtime.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key(),
        session_cookie="followup_session",
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        health.router,
        auth.router,
        patients.router,
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
    ):
        app.include_router(router)
    _install_error_pages(app)
    mount_api(app, runtime)  # /api/v1, with its own OpenAPI and error format

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/today", status_code=303)

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

    @app.exception_handler(Forbidden)
    def _forbidden(_request: Request, _exc: Forbidden) -> Response:
        return PlainTextResponse("This page is for clinic admins.", status_code=403)

    @app.exception_handler(NotFound)
    def _not_found(_request: Request, _exc: NotFound) -> Response:
        return PlainTextResponse("Not found.", status_code=404)
