"""The sign-in use case: every attempt is counted before its password is checked, so many
attempts at once cannot slip past the backoff; a right password takes its count back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.admin import throttle
from followup.admin.sign_in import SignInRefused, sign_in
from followup.core.clock import FixedClock
from followup.models import AuditEvent, SignInThrottle, StaffSession, ThrottleScope
from tests.factories import STAFF_PASSWORD, make_clinic, make_staff

EMAIL = "nurse@example.com"


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        make_staff(session, make_clinic(session), email=EMAIL)
    return session_factory


def failures(sessions: sessionmaker[Session], scope: ThrottleScope, value: str) -> float:
    with sessions() as session:
        row = session.scalars(
            select(SignInThrottle).where(
                SignInThrottle.key_hash == throttle.throttle_key(scope, value)
            )
        ).one()
        return row.failures


def test_attempts_made_at_once_are_all_counted(
    sessions: sessionmaker[Session], clock: FixedClock
) -> None:
    attempts = 6
    start = threading.Barrier(attempts)

    def guess(n: int) -> bool:
        start.wait()  # all at once: the counters' first row is created by a race
        try:
            sign_in(sessions, EMAIL, f"guess-{n}", f"203.0.113.{n}", clock.now())
        except SignInRefused:
            return False
        return True

    with ThreadPoolExecutor(attempts) as pool:
        assert not any(pool.map(guess, range(attempts)))
    # Three are free, the fourth holds the account back: the others were refused uncounted.
    assert failures(sessions, ThrottleScope.ACCOUNT, EMAIL) == 4
    with pytest.raises(SignInRefused):
        sign_in(sessions, EMAIL, STAFF_PASSWORD, "198.51.100.20", clock.now())


def test_signing_in_clears_the_account_and_takes_back_the_address_count(
    sessions: sessionmaker[Session], clock: FixedClock
) -> None:
    address = "198.51.100.20"
    for _ in range(2):
        with pytest.raises(SignInRefused):
            sign_in(sessions, EMAIL, "typo", address, clock.now())
    signed_in = sign_in(sessions, EMAIL, STAFF_PASSWORD, address, clock.now())
    assert failures(sessions, ThrottleScope.ACCOUNT, EMAIL) == 0
    assert failures(sessions, ThrottleScope.ADDRESS, address) == 2  # the two typos remain
    with sessions() as session:
        stored = session.scalars(select(StaffSession)).one()
        login = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert stored.staff_user_id == signed_in.staff_id
    assert login.staff_user_id == signed_in.staff_id


def test_a_held_back_attempt_is_not_counted_and_does_not_extend_the_hold(
    sessions: sessionmaker[Session], clock: FixedClock
) -> None:
    for n in range(4):
        with pytest.raises(SignInRefused):
            sign_in(sessions, EMAIL, "guess", f"203.0.113.{n}", clock.now())
    for n in range(10):
        with pytest.raises(SignInRefused):
            sign_in(sessions, EMAIL, "guess", f"203.0.114.{n}", clock.now())
    assert failures(sessions, ThrottleScope.ACCOUNT, EMAIL) == 4
    clock.advance(timedelta(seconds=2))
    sign_in(sessions, EMAIL, STAFF_PASSWORD, "198.51.100.20", clock.now())
