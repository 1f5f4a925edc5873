"""Sign-in throttling: for each email typed (an account's or not) and each client address, a
count of recent failures that wears off with time, and a backoff that grows with it.

The first few failures cost nothing; after them each failure holds the next attempt back
for a delay that doubles, up to 15 minutes. One failure is forgotten every
`forget_one_every`, so a mistake now and then never adds up to a lock, and a long lock
needs many failures in a short time. Attempts made while held back are refused without
being counted: an attacker cannot keep extending a hold by trying again, and learns nothing
by trying (the answer is the one every failure gets).

The decisions (`Backoff`) are pure; the counters are rows of `sign_in_throttle`, keyed by a
SHA-256 of the email or address.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followup.models import SignInThrottle, ThrottleScope


@dataclass(frozen=True)
class Backoff:
    """How failures slow down the next attempt. Pure: counts and instants in, decisions out."""

    free_failures: float
    forget_one_every: timedelta
    first_delay: timedelta
    longest_delay: timedelta

    def remaining(self, failures: float, since: datetime, now: datetime) -> float:
        """What is left at `now` of `failures` counted at `since`."""
        forgotten = max((now - since) / self.forget_one_every, 0.0)
        return max(failures - forgotten, 0.0)

    def delay(self, failures: float) -> timedelta:
        """How long the next attempt waits after `failures` recent failures."""
        over = failures - self.free_failures
        if over <= 0:
            return timedelta(0)
        doublings = min(over - 1, math.log2(self.longest_delay / self.first_delay))
        return min(self.first_delay * 2**doublings, self.longest_delay)


# A person mistypes a few times; a guesser from many machines gets about one guess per
# account every ten minutes once the delay is long.
ACCOUNT = Backoff(3, timedelta(minutes=10), timedelta(seconds=2), timedelta(minutes=15))
# A clinic's staff often share one address (the clinic's router): more room before the
# address is held back, and it recovers fast; it is what stops one machine trying many
# emails, which no account's count would notice.
ADDRESS = Backoff(10, timedelta(minutes=1), timedelta(seconds=2), timedelta(minutes=15))
BACKOFFS = {ThrottleScope.ACCOUNT: ACCOUNT, ThrottleScope.ADDRESS: ADDRESS}
# A count stays well below this: the delay reaches its longest at about 13 failures for
# an account and 20 for an address, and from there each counted failure comes after a
# long delay that wears off more than one. A row idle this many `forget_one_every` is empty.
_FORGOTTEN_AFTER = 32


def normalize_email(email: str) -> str:
    return email.strip().lower()


def throttle_key(scope: ThrottleScope, value: str) -> str:
    return hashlib.sha256(f"{scope.value}:{value}".encode()).hexdigest()


def counter(session: Session, scope: ThrottleScope, value: str, now: datetime) -> SignInThrottle:
    """The counter for `value`, created empty if new, locked for this transaction (two
    attempts at once must both be counted)."""
    key = throttle_key(scope, value)
    row = {"scope": scope, "key_hash": key, "failures": 0.0, "updated_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(SignInThrottle)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["scope", "key_hash"])
    )
    found = session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.scope == scope, SignInThrottle.key_hash == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return found


def held_back(row: SignInThrottle, now: datetime) -> bool:
    return row.blocked_until is not None and row.blocked_until > now


def count_failure(row: SignInThrottle, now: datetime) -> timedelta:
    """Add a failure to `row`; returns the delay it now imposes."""
    backoff = BACKOFFS[row.scope]
    _set(row, backoff.remaining(row.failures, row.updated_at, now) + 1, now)
    return backoff.delay(row.failures)


def forgive_failure(row: SignInThrottle, now: datetime) -> None:
    """Take back one failure counted for an attempt that turned out to be right."""
    backoff = BACKOFFS[row.scope]
    _set(row, max(backoff.remaining(row.failures, row.updated_at, now) - 1, 0.0), now)


def clear(row: SignInThrottle, now: datetime) -> None:
    _set(row, 0.0, now)


def _set(row: SignInThrottle, failures: float, now: datetime) -> None:
    delay = BACKOFFS[row.scope].delay(failures)
    row.failures = failures
    row.updated_at = now
    row.blocked_until = now + delay if delay else None


def blocked_accounts(session: Session, emails: list[str], now: datetime) -> dict[str, datetime]:
    """Of `emails`, those held back at `now`, with the time the hold ends."""
    keys = {throttle_key(ThrottleScope.ACCOUNT, normalize_email(e)): e for e in emails}
    rows = session.execute(
        select(SignInThrottle.key_hash, SignInThrottle.blocked_until).where(
            SignInThrottle.scope == ThrottleScope.ACCOUNT,
            SignInThrottle.key_hash.in_(sorted(keys)),
            SignInThrottle.blocked_until > now,
        )
    )
    return {keys[key]: until for key, until in rows if until is not None}


def forget_account(session: Session, email: str, now: datetime) -> bool:
    """Wipe the failures counted for `email` (an admin's unlock); True if it was held back."""
    key = throttle_key(ThrottleScope.ACCOUNT, normalize_email(email))
    row = session.scalar(
        select(SignInThrottle).where(
            SignInThrottle.scope == ThrottleScope.ACCOUNT, SignInThrottle.key_hash == key
        )
    )
    if row is None:
        return False
    was_held_back = held_back(row, now)
    session.delete(row)
    return was_held_back


def purge_worn_off(session: Session, now: datetime) -> int:
    """Housekeeping: delete counters that have worn off (every attempt adds one, even for an
    email nobody has)."""
    worn_off = [
        and_(
            SignInThrottle.scope == scope,
            SignInThrottle.updated_at <= now - backoff.forget_one_every * _FORGOTTEN_AFTER,
        )
        for scope, backoff in BACKOFFS.items()
    ]
    result = session.execute(
        delete(SignInThrottle).where(
            or_(*worn_off),
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until <= now),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
