"""What the running service knows about itself: which worker processes are alive, and which
once-a-period jobs have run (so several workers run them once between them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.models.base import Base


class WorkerHeartbeat(Base):
    """One running worker process. It writes `last_beat_at` every `interval_seconds`; a row
    silent for three intervals is a dead worker (killed, or its machine lost). A worker that
    stops cleanly deletes its row."""

    __tablename__ = "worker_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the lease owner
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    last_beat_at: Mapped[datetime]
    interval_seconds: Mapped[float] = mapped_column(Float)


class PeriodicRun(Base):
    """The last period (e.g. a UTC date) for which a periodic job ran, and who ran it. Taking
    a period is one conditional UPDATE, so of several workers exactly one runs the job."""

    __tablename__ = "periodic_run"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    runner: Mapped[str] = mapped_column(String(100))
