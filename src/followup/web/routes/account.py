"""The signed-in staff member's own account: change the password. It is also the one page a
temporary password (after an admin's reset) opens, until its holder chooses their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from followup.admin.staff_accounts import PASSWORD_MIN_LENGTH, AccountError, change_own_password
from followup.models import StaffUser
from followup.web.access import account_actions, account_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, session_id
from followup.web.pages import flash, redirect, render

router = account_pages()
actions = account_actions()


def _page(
    request: Request, staff: StaffUser, errors: dict[str, str], status_code: int = 200
) -> Response:
    context = {
        "errors": errors,
        "required": staff.password_change_required,
        "min_length": PASSWORD_MIN_LENGTH,
    }
    return render(request, "account.html", context, status_code=status_code)


@router.get("/account")
def account_page(request: Request, staff: CurrentStaff) -> Response:
    return _page(request, staff, {})


@actions.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    confirm_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Needs the current password; every other session of this account ends."""
    sid = session_id(request)
    assert sid is not None  # current_staff found the session
    try:
        change_own_password(
            session,
            staff,
            current=current_password,
            new=new_password,
            confirm=confirm_password,
            now=runtime.clock.now(),
            keep_session=sid,
        )
    except AccountError as exc:
        return _page(request, staff, {exc.field: str(exc)}, status_code=422)
    flash(request, "Password changed. Any other browser signed in as you has been signed out.")
    return redirect("/today")
