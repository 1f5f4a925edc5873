"""Signing in to the dashboard, in three steps so that no lock is held while argon2 works:

1. one transaction: find the account and count the attempt as a failure against the email
   and the client address (throttle), unless either is held back. Counting first means
   many attempts sent at once are all counted before any of them is verified;
2. exactly one argon2 verification, whatever the case: against the account's hash, or a
   dummy hash for an unknown or deactivated email, so every answer takes the same time;
3. one transaction, only when the password is right and nothing held the attempt back:
   take the failure back, open a session, audit.

Every refusal is the same `SignInRefused`: an unknown email, a wrong password, a held-back
account or address and a deactivated account are told apart only in the logs.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.admin import throttle
from followup.admin.sessions import start_session
from followup.core.audit import record_audit
from followup.core.db import transaction
from followup.core.passwords import WeakPassword, hash_password, needs_rehash, verify_password
from followup.models import StaffUser, ThrottleScope

log = logging.getLogger(__name__)

# Verified when there is no usable account, so that answer costs what a wrong password does.
# Made at import with the current parameters, as real hashes are.
_DUMMY_HASH = hash_password("no account has this password")


class SignInRefused(Exception):
    """The email and password open nothing (the reason stays on the server)."""


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # for the cookie; only its hash is stored
    staff_id: int
    password_change_required: bool


@dataclass(frozen=True)
class _Attempt:
    email: str
    address: str
    staff_id: int | None  # None: no active account has this email
    password_hash: str
    held_back: bool


def sign_in(
    sessions: sessionmaker[Session], email: str, password: str, address: str, now: datetime
) -> SignedIn:
    """Check `email` and `password` from client `address`; open a session or refuse."""
    with transaction(sessions) as session:
        attempt = _count_attempt(session, throttle.normalize_email(email), address, now)
    right = verify_password(attempt.password_hash, password)
    if not right or attempt.held_back or attempt.staff_id is None:
        raise SignInRefused
    with transaction(sessions) as session:
        return _open_session(session, attempt, password, now)


def _count_attempt(session: Session, email: str, address: str, now: datetime) -> _Attempt:
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    account = throttle.counter(session, ThrottleScope.ACCOUNT, email, now)
    client = throttle.counter(session, ThrottleScope.ADDRESS, address, now)
    held_back = throttle.held_back(account, now) or throttle.held_back(client, now)
    if held_back:
        log.info("sign-in held back staff_id=%s", user.id if user else None)
    else:
        for row in (account, client):
            delay = throttle.count_failure(row, now)
            if delay:
                log.warning(
                    "sign-in failures hold back scope=%s staff_id=%s for_s=%d",
                    row.scope.value,
                    user.id if user and row.scope is ThrottleScope.ACCOUNT else None,
                    delay.total_seconds(),
                )
    usable = user is not None and user.active
    return _Attempt(
        email=email,
        address=address,
        staff_id=user.id if user is not None and usable else None,
        password_hash=user.password_hash if user is not None and usable else _DUMMY_HASH,
        held_back=held_back,
    )


def _open_session(session: Session, attempt: _Attempt, password: str, now: datetime) -> SignedIn:
    user = session.get(StaffUser, attempt.staff_id)
    if user is None or not user.active:  # deactivated between the two steps
        raise SignInRefused
    throttle.clear(throttle.counter(session, ThrottleScope.ACCOUNT, attempt.email, now), now)
    throttle.forgive_failure(
        throttle.counter(session, ThrottleScope.ADDRESS, attempt.address, now), now
    )
    if needs_rehash(user.password_hash):
        # An old password shorter than today's rule keeps its old hash until it is changed.
        with suppress(WeakPassword):
            user.password_hash = hash_password(password)
    user.last_login_at = now
    session_id = start_session(session, user, now)
    record_audit(
        session,
        at=now,
        actor=user.email,
        action="login",
        clinic_id=user.clinic_id,
        staff_user_id=user.id,
    )
    return SignedIn(session_id, user.id, user.password_change_required)
