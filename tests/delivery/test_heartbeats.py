"""Worker heartbeats: a row per live worker, judged dead after three silent intervals."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.heartbeats import (
    WorkerIdentity,
    beat,
    forget_long_dead,
    forget_worker,
    is_alive,
    workers_seen,
)
from followup.models import WorkerHeartbeat


def test_a_worker_is_dead_after_three_silent_intervals(clock: FixedClock) -> None:
    last = clock.now()
    assert is_alive(last, 10, last + timedelta(seconds=30))
    assert not is_alive(last, 10, last + timedelta(seconds=30.001))
    assert is_alive(last, 60, last + timedelta(seconds=170))  # each row by its own interval


def test_beats_refresh_one_row_and_a_clean_stop_removes_it(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    worker = WorkerIdentity("host-a:11:aaaa", clock.now(), interval_seconds=5)
    with session_factory.begin() as session:
        beat(session, worker, clock.now())
    with session_factory.begin() as session:
        beat(session, worker, clock.advance(timedelta(seconds=5)))
    with session_factory() as session:
        (seen,) = workers_seen(session, clock.now())
        assert (seen.worker_id, seen.alive, seen.last_beat_at) == (
            "host-a:11:aaaa",
            True,
            clock.now(),
        )
        assert seen.started_at == clock.now() - timedelta(seconds=5)
    with session_factory.begin() as session:
        forget_worker(session, worker.worker_id)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 0


def test_dead_workers_are_listed_after_live_ones_then_forgotten_after_a_day(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    dead = WorkerIdentity("host-a:1:dead", clock.now(), interval_seconds=5)
    with session_factory.begin() as session:
        beat(session, dead, clock.now())
    clock.advance(timedelta(minutes=10))
    live = WorkerIdentity("host-b:2:live", clock.now(), interval_seconds=5)
    with session_factory.begin() as session:
        beat(session, live, clock.now())
    with session_factory() as session:
        seen = workers_seen(session, clock.now())
    assert [(w.worker_id, w.alive) for w in seen] == [
        ("host-b:2:live", True),
        ("host-a:1:dead", False),
    ]
    assert seen[1].silent_for == timedelta(minutes=10)
    with session_factory.begin() as session:
        assert forget_long_dead(session, clock.advance(timedelta(hours=23, minutes=55))) == 1
    with session_factory() as session:
        assert [w.worker_id for w in workers_seen(session, clock.now())] == ["host-b:2:live"]
