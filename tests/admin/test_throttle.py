"""The sign-in backoff: a few free failures, then a delay that doubles up to 15 minutes;
failures wear off with time; counters that wore off are purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.admin import throttle
from followup.admin.throttle import ACCOUNT, ADDRESS, Backoff
from followup.core.clock import FixedClock
from followup.models import SignInThrottle, ThrottleScope


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (3, 0), (4, 2), (5, 4), (6, 8), (12, 512), (13, 900), (40, 900)],
)
def test_an_account_has_three_free_failures_then_a_doubling_delay_up_to_15_minutes(
    failures: float, seconds: float
) -> None:
    assert ACCOUNT.delay(failures) == timedelta(seconds=seconds)


def test_an_address_gets_more_room_than_an_account() -> None:
    assert ADDRESS.delay(10) == timedelta(0)
    assert ADDRESS.delay(11) == timedelta(seconds=2)


def test_failures_wear_off_one_per_interval(clock: FixedClock) -> None:
    backoff = Backoff(3, timedelta(minutes=10), timedelta(seconds=2), timedelta(minutes=15))
    counted_at = clock.now()
    assert backoff.remaining(5, counted_at, counted_at + timedelta(minutes=25)) == 2.5
    assert backoff.remaining(5, counted_at, counted_at + timedelta(hours=2)) == 0


def test_counting_holds_back_and_time_releases(session: Session, clock: FixedClock) -> None:
    with session.begin():
        row = throttle.counter(session, ThrottleScope.ACCOUNT, "nurse@example.com", clock.now())
        delays = [throttle.count_failure(row, clock.now()) for _ in range(4)]
        assert delays == [timedelta(0)] * 3 + [timedelta(seconds=2)]
        assert throttle.held_back(row, clock.now())
        assert not throttle.held_back(row, clock.now() + timedelta(seconds=2))


def test_blocked_accounts_lists_only_emails_held_back_now(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    with session.begin():
        held = throttle.counter(session, ThrottleScope.ACCOUNT, "held@example.com", now)
        for _ in range(5):
            throttle.count_failure(held, now)
        free = throttle.counter(session, ThrottleScope.ACCOUNT, "free@example.com", now)
        throttle.count_failure(free, now)
    found = throttle.blocked_accounts(session, ["Held@Example.com", "free@example.com"], now)
    assert found == {"Held@Example.com": now + timedelta(seconds=4)}


def test_purge_drops_counters_that_wore_off_and_keeps_the_rest(
    session: Session, clock: FixedClock
) -> None:
    start = clock.now()
    with session.begin():
        for n in range(3):  # one stray failure each, long ago
            row = throttle.counter(session, ThrottleScope.ADDRESS, f"203.0.113.{n}", start)
            throttle.count_failure(row, start)
        long_hold = throttle.counter(session, ThrottleScope.ACCOUNT, "held@example.com", start)
        for _ in range(30):
            throttle.count_failure(long_hold, start)
    later = start + timedelta(hours=1)
    with session.begin():
        assert throttle.purge_worn_off(session, later) == 3
    assert session.scalar(select(func.count(SignInThrottle.id))) == 1
