"""Staff accounts after they are made: changing one's own password, an admin's password reset
and unlock. The same use cases serve the dashboard and `followup staff`; each is audited.

A reset gives a temporary password, shown once to whoever reset it, and marks the account
so that the temporary password opens only the page where its holder chooses their own:
nobody but the staff member ever knows the password they use.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.admin import throttle
from followup.admin.sessions import end_all_sessions
from followup.core.audit import record_audit
from followup.core.passwords import WeakPassword, hash_password, verify_password
from followup.models import StaffUser, ThrottleScope

# Longer than core.passwords' floor: what staff choose themselves on the dashboard.
PASSWORD_MIN_LENGTH = 12


class AccountError(ValueError):
    """A change to an account that can't be made as asked; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def find_staff(session: Session, email: str) -> StaffUser:
    """The account with `email` (any clinic: for the command line)."""
    user = session.scalar(
        select(StaffUser).where(StaffUser.email == throttle.normalize_email(email))
    )
    if user is None:
        raise AccountError("email", f"no staff account for {email.strip()!r}")
    return user


def _hash_new(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError("new_password", f"use at least {PASSWORD_MIN_LENGTH} characters")
    try:
        return hash_password(password)
    except WeakPassword as exc:
        raise AccountError("new_password", str(exc)) from None


def _audit(
    session: Session,
    user: StaffUser,
    action: str,
    now: datetime,
    actor: str,
    actor_id: int | None,
    **detail: object,
) -> None:
    record_audit(
        session,
        at=now,
        actor=actor,
        action=action,
        clinic_id=user.clinic_id,
        staff_user_id=actor_id,
        target_type="staff_user",
        target_id=user.id,
        detail=dict(detail),
    )


def change_own_password(
    session: Session,
    user: StaffUser,
    *,
    current: str,
    new: str,
    confirm: str,
    now: datetime,
    keep_session: str,
) -> int:
    """Set `user`'s password, given the current one; every other session of theirs ends
    (`keep_session` is the one they are using). Returns how many sessions ended."""
    # Guessing the current password from a session left open counts against the account,
    # as a sign-in does.
    failures = throttle.counter(session, ThrottleScope.ACCOUNT, user.email, now)
    if throttle.held_back(failures, now):
        raise AccountError("current_password", "too many wrong attempts: wait a few minutes")
    if not verify_password(user.password_hash, current):
        throttle.count_failure(failures, now)
        raise AccountError("current_password", "the current password is not right")
    if new != confirm:
        raise AccountError("confirm_password", "the two new passwords are not the same")
    if new == current:
        raise AccountError("new_password", "choose a password other than the current one")
    user.password_hash = _hash_new(new)
    user.password_change_required = False
    ended = end_all_sessions(session, user, keep=keep_session)
    _audit(session, user, "account.password.change", now, user.email, user.id, ended=ended)
    return ended


def reset_password(
    session: Session, user: StaffUser, *, now: datetime, actor: str, actor_id: int | None = None
) -> str:
    """Give `user` a temporary password (returned, to be shown once, never stored) that must
    be changed at the next sign-in; their sessions end and any hold on signing in is lifted."""
    if actor_id == user.id:
        raise AccountError("staff", "change your own password on your account page")
    temporary = secrets.token_urlsafe(12)
    user.password_hash = hash_password(temporary)
    user.password_change_required = True
    ended = end_all_sessions(session, user)
    throttle.forget_account(session, user.email, now)
    _audit(session, user, "staff.password.reset", now, actor, actor_id, sessions_ended=ended)
    return temporary


def unlock(
    session: Session, user: StaffUser, *, now: datetime, actor: str, actor_id: int | None = None
) -> bool:
    """Lift the hold that failed sign-ins put on `user`'s email; True if there was one."""
    was_held_back = throttle.forget_account(session, user.email, now)
    _audit(session, user, "staff.unlock", now, actor, actor_id, was_held_back=was_held_back)
    return was_held_back
