"""Server-side sessions: only a hash of the id is stored; a session ends idle, at twelve
hours whatever the activity, at sign-out and with its account; ended rows are purged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.admin.sessions import (
    end_all_sessions,
    hash_session_id,
    purge_ended_sessions,
    resume_session,
    sign_out,
    start_session,
)
from followup.core.clock import FixedClock
from followup.models import AuditEvent, StaffSession, StaffUser
from tests.factories import make_clinic, make_staff

IDLE = timedelta(minutes=30)


def _nurse(session: Session) -> StaffUser:
    return make_staff(session, make_clinic(session))


def test_only_a_hash_of_the_session_id_is_stored(session: Session, clock: FixedClock) -> None:
    with session.begin():
        session_id = start_session(session, _nurse(session), clock.now())
    row = session.scalars(select(StaffSession)).one()
    assert row.id_hash == hash_session_id(session_id)
    assert session_id not in row.id_hash
    assert len(session_id) >= 40  # 32 random bytes


def test_a_session_ends_after_the_idle_time_and_each_request_restarts_it(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        nurse = _nurse(session)
        session_id = start_session(session, nurse, clock.now())
    for _ in range(3):
        clock.advance(IDLE - timedelta(minutes=1))
        with session.begin():
            live = resume_session(session, session_id, clock.now(), IDLE)
            assert live is not None
            assert live.staff.id == nurse.id
    clock.advance(IDLE)
    with session.begin():
        assert resume_session(session, session_id, clock.now(), IDLE) is None


def test_polling_writes_the_last_request_time_at_most_once_a_minute(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        session_id = start_session(session, _nurse(session), clock.now())
    signed_in_at = clock.now()
    clock.advance(timedelta(seconds=30))
    with session.begin():
        live = resume_session(session, session_id, clock.now(), IDLE)
        assert live is not None
        assert live.row.last_seen_at == signed_in_at
    clock.advance(timedelta(seconds=30))
    with session.begin():
        live = resume_session(session, session_id, clock.now(), IDLE)
        assert live is not None
        assert live.row.last_seen_at == clock.now()


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        session_id = start_session(session, _nurse(session), clock.now())
    for _ in range(47):  # a request every quarter hour for 11 h 45
        clock.advance(timedelta(minutes=15))
        with session.begin():
            assert resume_session(session, session_id, clock.now(), IDLE) is not None
    clock.advance(timedelta(minutes=15))
    with session.begin():
        assert resume_session(session, session_id, clock.now(), IDLE) is None


def test_sign_out_ends_only_that_session_and_is_audited(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        nurse = _nurse(session)
        tablet = start_session(session, nurse, clock.now())
        phone = start_session(session, nurse, clock.now())
    with session.begin():
        assert sign_out(session, tablet, clock.now())
        assert not sign_out(session, tablet, clock.now())  # already ended
    with session.begin():
        assert resume_session(session, tablet, clock.now(), IDLE) is None
        assert resume_session(session, phone, clock.now(), IDLE) is not None
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "logout")).all()
    assert [(e.actor, e.staff_user_id) for e in events] == [(nurse.email, nurse.id)]


def test_a_deactivated_account_opens_no_session(session: Session, clock: FixedClock) -> None:
    with session.begin():
        nurse = _nurse(session)
        session_id = start_session(session, nurse, clock.now())
        nurse.active = False
    with session.begin():
        assert resume_session(session, session_id, clock.now(), IDLE) is None


def test_ending_all_sessions_can_keep_the_one_in_use(session: Session, clock: FixedClock) -> None:
    with session.begin():
        nurse = _nurse(session)
        kept, *others = (start_session(session, nurse, clock.now()) for _ in range(3))
    with session.begin():
        assert end_all_sessions(session, nurse, keep=kept) == 2
    with session.begin():
        assert resume_session(session, kept, clock.now(), IDLE) is not None
        assert all(resume_session(session, o, clock.now(), IDLE) is None for o in others)


def test_purge_deletes_ended_sessions_only(session: Session, clock: FixedClock) -> None:
    with session.begin():
        nurse = _nurse(session)
        old = start_session(session, nurse, clock.now())
        clock.advance(IDLE + timedelta(minutes=1))
        fresh = start_session(session, nurse, clock.now())
    with session.begin():
        assert purge_ended_sessions(session, clock.now(), IDLE) == 1
    remaining = session.scalars(select(StaffSession.id_hash)).all()
    assert remaining == [hash_session_id(fresh)]
    assert hash_session_id(old) not in remaining
