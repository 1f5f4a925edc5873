"""Sign-in and sign-out. The rules (one answer for every failure, throttling per email and
per client address, server-side sessions) are followup.admin.sign_in's and
followup.admin.sessions'; this module translates HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from followup.admin.sessions import sign_out
from followup.admin.sign_in import SignInRefused, sign_in
from followup.core.db import transaction
from followup.web.csrf import require_csrf
from followup.web.deps import SESSION_KEY, RuntimeDep, session_id
from followup.web.pages import render

router = APIRouter()  # public: this is where a session starts and ends

# The one answer to every refused sign-in: it must not tell an unknown email from a wrong
# password or a held-back account, so it names every possibility.
REFUSED = (
    "That email and password did not work. After several failed attempts, signing in "
    "pauses for a few minutes; an admin can unlock your account."
)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (behind the TLS proxy, uvicorn takes it
    from X-Forwarded-For, trusting only the proxy's)."""
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    try:
        signed_in = sign_in(
            runtime.sessions, email, password, client_address(request), runtime.clock.now()
        )
    except SignInRefused:
        context = {"next": _safe_next(next), "error": REFUSED}
        return render(request, "login.html", context, status_code=401)
    # A new cookie session (and CSRF token) at sign-in, so none chosen before it survives.
    request.session.clear()
    request.session[SESSION_KEY] = signed_in.session_id
    target = "/account" if signed_in.password_change_required else _safe_next(next)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    sid = session_id(request)
    # Signed out already: nothing to protect, just go to sign-in (as every other route does).
    if sid is not None:
        await require_csrf(request)
        await _end(runtime, sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def _end(runtime: RuntimeDep, sid: str) -> None:
    def end() -> None:
        with transaction(runtime.sessions) as session:
            sign_out(session, sid, runtime.clock.now())

    await run_in_threadpool(end)
