"""Request-scoped dependencies: the runtime, a database session, the signed-in staff member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from followup.core.runtime import Runtime
from followup.models import Clinic, Role, StaffUser


class LoginRequired(Exception):
    """No valid session: pages redirect to sign-in, other requests get 401."""


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


# One clinic shift. Counted from sign-in, not from the last request: the cookie's own
# max-age slides with every response, and the queue page polls every few seconds, so a
# tablet left open would otherwise stay signed in for ever.
SESSION_LIFETIME = timedelta(hours=12)


def current_staff(request: Request, session: Annotated[Session, Depends(db_session)]) -> StaffUser:
    staff_id = request.session.get("staff_id")
    if not isinstance(staff_id, int):
        raise LoginRequired
    signed_in_at = request.session.get("since")
    now = get_runtime(request).clock.now().timestamp()
    if not isinstance(signed_in_at, int) or now - signed_in_at > SESSION_LIFETIME.total_seconds():
        request.session.clear()
        raise LoginRequired
    user = session.get(StaffUser, staff_id)
    if user is None or not user.active or request.session.get("auth") != _session_stamp(user):
        request.session.clear()
        raise LoginRequired
    request.state.staff = user
    return user


def require_admin(staff: Annotated[StaffUser, Depends(current_staff)]) -> StaffUser:
    if staff.role is not Role.ADMIN:
        raise Forbidden
    return staff


def _session_stamp(user: StaffUser) -> str:
    # Changing the password (hash) ends every existing session of that account.
    return user.password_hash[-16:]


def session_stamp(user: StaffUser) -> str:
    return _session_stamp(user)


def staff_clinic(session: Session, staff: StaffUser) -> Clinic:
    clinic = session.get(Clinic, staff.clinic_id)
    if clinic is None:
        raise NotFound
    return clinic


DbSession = Annotated[Session, Depends(db_session)]
CurrentStaff = Annotated[StaffUser, Depends(current_staff)]
AdminStaff = Annotated[StaffUser, Depends(require_admin)]
RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
