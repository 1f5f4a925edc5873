"""Who is signed in to the dashboard, and who is being held back from signing in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.models.base import Base, str_enum


class StaffSession(Base):
    """One signed-in browser. Its cookie carries a random session id; only the id's SHA-256
    is stored, so reading this table opens no session. Deleting the row ends the session."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # The absolute end, whatever the activity: one clinic shift after sign-in.
    expires_at: Mapped[datetime]


class ThrottleScope(StrEnum):
    ACCOUNT = "account"  # an email as typed, whether or not an account has it
    ADDRESS = "address"  # the client's IP address


class SignInThrottle(Base):
    """Recent sign-in failures for one email or one client address, as a count that wears
    off with time, and until when the next attempt is refused. The key is a SHA-256, so the
    table holds no email or address anyone typed."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[ThrottleScope] = mapped_column(str_enum(ThrottleScope, "throttle_scope"))
    key_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
