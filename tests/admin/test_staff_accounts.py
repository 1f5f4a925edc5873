"""Changing one's own password, an admin's reset and unlock, as use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from followup.admin import throttle
from followup.admin.sessions import resume_session, start_session
from followup.admin.staff_accounts import AccountError, change_own_password, reset_password, unlock
from followup.core.clock import FixedClock
from followup.core.passwords import verify_password
from followup.models import Role, StaffUser, ThrottleScope
from tests.factories import STAFF_PASSWORD, make_clinic, make_staff

NEW = "a-brand-new-password"
IDLE = timedelta(minutes=30)


def _staff(session: Session) -> tuple[StaffUser, StaffUser]:
    clinic = make_clinic(session)
    admin = make_staff(session, clinic, email="admin@example.com", role=Role.ADMIN)
    return admin, make_staff(session, clinic)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field"),
    [
        ("wrong-password-here", NEW, NEW, "current_password"),
        (STAFF_PASSWORD, NEW, NEW + "x", "confirm_password"),
        (STAFF_PASSWORD, "short", "short", "new_password"),
        (STAFF_PASSWORD, STAFF_PASSWORD, STAFF_PASSWORD, "new_password"),
    ],
)
def test_a_password_change_names_what_is_wrong(
    session: Session, clock: FixedClock, current: str, new: str, confirm: str, field: str
) -> None:
    with session.begin():
        _admin, nurse = _staff(session)
        with pytest.raises(AccountError) as refused:
            change_own_password(
                session, nurse, current=current, new=new, confirm=confirm,
                now=clock.now(), keep_session="this-one",
            )  # fmt: skip
    assert refused.value.field == field
    assert verify_password(nurse.password_hash, STAFF_PASSWORD)


def test_guessing_the_current_password_is_throttled_like_a_sign_in(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        _admin, nurse = _staff(session)
    messages = []
    for _ in range(5):
        with session.begin(), pytest.raises(AccountError) as refused:
            change_own_password(
                session, nurse, current="a-guess-at-it", new=NEW, confirm=NEW,
                now=clock.now(), keep_session="this-one",
            )  # fmt: skip
        messages.append(str(refused.value))
    assert messages[-1].startswith("too many wrong attempts")
    assert throttle.blocked_accounts(session, [nurse.email], clock.now())


def test_a_reset_ends_sessions_lifts_the_hold_and_marks_the_password_temporary(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    with session.begin():
        admin, nurse = _staff(session)
        session_id = start_session(session, nurse, now)
        held = throttle.counter(session, ThrottleScope.ACCOUNT, nurse.email, now)
        for _ in range(8):
            throttle.count_failure(held, now)
        temporary = reset_password(session, nurse, now=now, actor=admin.email, actor_id=admin.id)
    assert nurse.password_change_required
    assert verify_password(nurse.password_hash, temporary)
    assert resume_session(session, session_id, now, IDLE) is None
    assert throttle.blocked_accounts(session, [nurse.email], now) == {}


def test_an_admin_cannot_reset_their_own_password_this_way(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        admin, _nurse = _staff(session)
        with pytest.raises(AccountError):
            reset_password(session, admin, now=clock.now(), actor=admin.email, actor_id=admin.id)


def test_unlock_says_whether_the_account_was_held_back(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    with session.begin():
        admin, nurse = _staff(session)
        assert not unlock(session, nurse, now=now, actor=admin.email, actor_id=admin.id)
        held = throttle.counter(session, ThrottleScope.ACCOUNT, nurse.email, now)
        for _ in range(4):
            throttle.count_failure(held, now)
        assert unlock(session, nurse, now=now, actor=admin.email, actor_id=admin.id)
