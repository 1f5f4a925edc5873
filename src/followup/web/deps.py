"""Request-scoped dependencies: the runtime, a database session, the signed-in staff member,
and the role checks web.access attaches to routers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from followup.admin.sessions import resume_session
from followup.core.runtime import Runtime
from followup.models import Clinic, Role, StaffUser


class LoginRequired(Exception):
    """No valid session: pages redirect to sign-in, other requests get 401."""


class PasswordChangeRequired(Exception):
    """Signed in with a temporary password: only the account page opens until it is replaced."""


class Forbidden(Exception):
    """Signed in, but this needs a role the staff member doesn't have."""


class NotFound(Exception):
    """Not found in the signed-in staff member's clinic (another clinic's ids look the same)."""


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def runtime_dependency(request: Request) -> Runtime:
    """get_runtime as a dependency. A coroutine, so FastAPI calls it on the event loop:
    a plain function would be sent to a worker thread and back on every request."""
    return get_runtime(request)


def db_session(runtime: Annotated[Runtime, Depends(runtime_dependency)]) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with runtime.sessions() as session, session.begin():
        yield session


SESSION_KEY = "sid"  # the server-side session's id, in the signed cookie


def session_id(request: Request) -> str | None:
    """The session id the browser's cookie carries, if any."""
    value = request.session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def current_staff(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    runtime: Annotated[Runtime, Depends(runtime_dependency)],
) -> StaffUser:
    """The signed-in staff member, from the server's session table (the cookie alone opens
    nothing), whether or not they still have to replace a temporary password."""
    sid = session_id(request)
    if sid is None:
        raise LoginRequired
    idle = timedelta(minutes=runtime.settings.session_idle_minutes)
    live = resume_session(session, sid, runtime.clock.now(), idle)
    if live is None:
        request.session.clear()
        raise LoginRequired
    request.state.staff = live.staff
    return live.staff


def require_staff(staff: Annotated[StaffUser, Depends(current_staff)]) -> StaffUser:
    """A staff member of any role, with a password of their own."""
    if staff.password_change_required:
        raise PasswordChangeRequired
    return staff


def require_admin(staff: Annotated[StaffUser, Depends(require_staff)]) -> StaffUser:
    """A clinic admin."""
    if staff.role is not Role.ADMIN:
        raise Forbidden
    return staff


def staff_clinic(session: Session, staff: StaffUser) -> Clinic:
    clinic = session.get(Clinic, staff.clinic_id)
    if clinic is None:
        raise NotFound
    return clinic


DbSession = Annotated[Session, Depends(db_session)]
# The signed-in staff member. Who may call a route is decided by its router (web.access);
# a handler takes this to know who is calling.
CurrentStaff = Annotated[StaffUser, Depends(current_staff)]
RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
