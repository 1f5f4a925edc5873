"""Worker heartbeats: a worker process that nobody sees is a stopped worker.

Each worker writes its row in `worker_heartbeat` when it starts and every
`interval_seconds` after (a scheduler job), and deletes it when it stops cleanly. A row
silent for DEAD_AFTER_INTERVALS of its own interval is a dead worker: killed, hung, or on
a machine that is gone. Readers judge each row by the interval it wrote, so a web node and
a worker configured differently still agree.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from followup import __version__
from followup.models import WorkerHeartbeat

DEAD_AFTER_INTERVALS = 3
# A dead worker's row stays this long, so `followup status` can say which one died.
FORGET_DEAD_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class WorkerIdentity:
    """Who beats: the worker's lease-owner id, where it runs, since when, how often."""

    worker_id: str
    started_at: datetime
    interval_seconds: float
    host: str = field(default_factory=lambda: socket.gethostname()[:64])
    pid: int = field(default_factory=os.getpid)
    version: str = __version__


@dataclass(frozen=True)
class WorkerSeen:
    """A worker as its heartbeat row shows it at `now`."""

    worker_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_beat_at: datetime
    interval_seconds: float
    alive: bool
    silent_for: timedelta


def is_alive(last_beat_at: datetime, interval_seconds: float, now: datetime) -> bool:
    """Alive unless silent for more than DEAD_AFTER_INTERVALS of its interval."""
    return now - last_beat_at <= timedelta(seconds=interval_seconds * DEAD_AFTER_INTERVALS)


def beat(session: Session, worker: WorkerIdentity, now: datetime) -> None:
    """Record that `worker` is alive at `now` (its row is created on the first beat)."""
    refreshed = session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.worker_id == worker.worker_id)
        .values(last_beat_at=now, interval_seconds=worker.interval_seconds)
    )
    if refreshed.rowcount == 0:  # type: ignore[attr-defined]
        # Only this process writes this row: no other writer can insert it meanwhile.
        session.add(
            WorkerHeartbeat(
                worker_id=worker.worker_id,
                host=worker.host,
                pid=worker.pid,
                version=worker.version,
                started_at=worker.started_at,
                last_beat_at=now,
                interval_seconds=worker.interval_seconds,
            )
        )
        session.flush()


def forget_worker(session: Session, worker_id: str) -> None:
    """A clean stop: the worker is gone on purpose, not dead."""
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))


def forget_long_dead(session: Session, now: datetime) -> int:
    """Delete the rows of workers silent for FORGET_DEAD_AFTER; return how many."""
    gone = session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.last_beat_at < now - FORGET_DEAD_AFTER)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]


def workers_seen(session: Session, now: datetime) -> list[WorkerSeen]:
    """Every worker with a heartbeat row, alive ones first, most recently heard first."""
    rows = session.scalars(select(WorkerHeartbeat)).all()
    seen = [
        WorkerSeen(
            worker_id=row.worker_id,
            host=row.host,
            pid=row.pid,
            version=row.version,
            started_at=row.started_at,
            last_beat_at=row.last_beat_at,
            interval_seconds=row.interval_seconds,
            alive=is_alive(row.last_beat_at, row.interval_seconds, now),
            silent_for=max(now - row.last_beat_at, timedelta(0)),
        )
        for row in rows
    ]
    return sorted(seen, key=lambda w: (not w.alive, -w.last_beat_at.timestamp(), w.worker_id))
