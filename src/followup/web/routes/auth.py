"""Sign-in and sign-out, with throttling: repeated failures slow down, then lock a while."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from followup.core.audit import record_audit
from followup.core.passwords import hash_password, needs_rehash, verify_password
from followup.models import StaffUser
from followup.web.csrf import require_csrf
from followup.web.deps import DbSession, RuntimeDep, session_stamp
from followup.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter()

LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
# A hash of something, so an unknown email costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-at-all")


def lockout_after(failures: int) -> timedelta:
    """No wait for the first two mistakes, then 2 s, 4 s, and a long lock from the fifth."""
    if failures >= LOCK_AFTER_FAILURES:
        return LOCK_FOR
    return timedelta(seconds=2 ** (failures - 2)) if failures > 2 else timedelta(0)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    now = runtime.clock.now()
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    error = "Email or password is not right."
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
    elif user.locked_until is not None and user.locked_until > now:
        error = "Too many failed attempts. Try again in a few minutes or ask an admin."
    elif verify_password(user.password_hash, password):
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        request.session.clear()
        request.session.update(
            {"staff_id": user.id, "auth": session_stamp(user), "since": int(now.timestamp())}
        )
        record_audit(
            session,
            at=now,
            actor=user.email,
            action="login",
            clinic_id=user.clinic_id,
            staff_user_id=user.id,
        )
        return RedirectResponse(_safe_next(next), status_code=303)
    else:
        user.failed_logins += 1
        user.locked_until = now + lockout_after(user.failed_logins)
        if user.failed_logins >= LOCK_AFTER_FAILURES:
            log.warning("staff account locked after repeated failures staff_id=%s", user.id)
    return render(
        request, "login.html", {"next": _safe_next(next), "error": error}, status_code=401
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    # Signed out already: nothing to protect, just go to sign-in (as every other route does).
    if "staff_id" in request.session:
        await require_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
