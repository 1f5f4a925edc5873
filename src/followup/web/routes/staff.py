"""Staff accounts, for admins: reset a password (the temporary one is shown once, on the
page that answers the POST) and unlock an account held back by failed sign-ins. Adding
accounts and changing roles are on the settings page (web.routes.settings)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from followup.admin.staff_accounts import AccountError, reset_password, unlock
from followup.web.access import admin_actions
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep
from followup.web.pages import flash, redirect, render
from followup.web.scoped import clinic_staff_member

actions = admin_actions()


@actions.post("/settings/staff/{staff_id:int}/reset-password")
def reset(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, staff_id: int
) -> Response:
    member = clinic_staff_member(session, staff, staff_id)
    try:
        temporary = reset_password(
            session, member, now=runtime.clock.now(), actor=staff.email, actor_id=staff.id
        )
    except AccountError as exc:
        flash(request, f"Not reset: {exc}", "error")
        return redirect("/settings")
    return render(request, "staff_password_reset.html", {"member": member, "temporary": temporary})


@actions.post("/settings/staff/{staff_id:int}/unlock")
def unlock_account(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, staff_id: int
) -> Response:
    member = clinic_staff_member(session, staff, staff_id)
    was_held_back = unlock(
        session, member, now=runtime.clock.now(), actor=staff.email, actor_id=staff.id
    )
    if was_held_back:
        flash(request, f"{member.email} can sign in again.")
    else:
        flash(request, f"{member.email} was not held back; nothing to unlock.")
    return redirect("/settings")
