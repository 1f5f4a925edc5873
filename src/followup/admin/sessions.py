"""Dashboard sessions, kept on the server: the browser's cookie carries a random session id
and this table decides whether it still opens anything. Only the id's SHA-256 is stored.

A session ends when its holder signs out, when an admin deactivates the account or resets
its password, when its holder changes the password (their other sessions), after
`idle` without a request, and in any case SESSION_LIFETIME after sign-in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from followup.admin import throttle
from followup.core.audit import record_audit
from followup.core.db import transaction
from followup.core.runtime import Runtime
from followup.models import StaffSession, StaffUser

log = logging.getLogger(__name__)

# One clinic shift. Counted from sign-in, not from the last request: the queue page polls
# every few seconds, so a tablet left open would otherwise stay signed in for ever.
SESSION_LIFETIME = timedelta(hours=12)
# Writing last_seen_at on every poll would turn each one into a write; a minute's
# precision is plenty for an idle time counted in tens of minutes.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class LiveSession:
    """A session that is still open, and its staff member (active, by construction)."""

    row: StaffSession
    staff: StaffUser


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user: StaffUser, now: datetime) -> str:
    """Open a session for `user`; returns the id for the cookie (never stored)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_user_id=user.id,
            id_hash=hash_session_id(session_id),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return session_id


def resume_session(
    session: Session, session_id: str, now: datetime, idle: timedelta
) -> LiveSession | None:
    """The open session `session_id` names, with its staff member, or None. A request counts
    as activity. (Ended rows are left to `purge_ended_sessions`: the request that finds one
    is refused, and its transaction rolled back.)"""
    row = session.scalar(
        select(StaffSession).where(StaffSession.id_hash == hash_session_id(session_id))
    )
    if row is None or _ended(row, now, idle):
        return None
    staff = session.get(StaffUser, row.staff_user_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return LiveSession(row, staff)


def _ended(row: StaffSession, now: datetime, idle: timedelta) -> bool:
    return now >= row.expires_at or now >= row.last_seen_at + idle


def sign_out(session: Session, session_id: str, now: datetime) -> bool:
    """End the session `session_id` names (its cookie opens nothing any more) and audit it;
    False if it had already ended."""
    row = session.scalar(
        select(StaffSession).where(StaffSession.id_hash == hash_session_id(session_id))
    )
    if row is None:
        return False
    staff = session.get(StaffUser, row.staff_user_id)
    session.delete(row)
    if staff is not None:
        record_audit(
            session,
            at=now,
            actor=staff.email,
            action="logout",
            clinic_id=staff.clinic_id,
            staff_user_id=staff.id,
        )
    return True


def end_all_sessions(session: Session, user: StaffUser, *, keep: str | None = None) -> int:
    """End every session of `user` (but the one `keep` names); returns how many ended."""
    query = delete(StaffSession).where(StaffSession.staff_user_id == user.id)
    if keep is not None:
        query = query.where(StaffSession.id_hash != hash_session_id(keep))
    result = session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge_ended_sessions(session: Session, now: datetime, idle: timedelta) -> int:
    """Housekeeping: delete sessions past their lifetime or idle time."""
    result = session.execute(
        delete(StaffSession).where(
            or_(StaffSession.expires_at <= now, StaffSession.last_seen_at <= now - idle)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def sign_in_upkeep(runtime: Runtime) -> int:
    """The worker's periodic job: delete ended sessions and sign-in counters that wore off
    (every sign-in attempt adds a counter, even for an email nobody has)."""
    now = runtime.clock.now()
    idle = timedelta(minutes=runtime.settings.session_idle_minutes)
    with transaction(runtime.sessions) as session:
        deleted = purge_ended_sessions(session, now, idle) + throttle.purge_worn_off(session, now)
    if deleted:
        log.info("sign-in upkeep deleted=%s", deleted)
    return deleted
