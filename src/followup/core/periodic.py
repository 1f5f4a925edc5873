"""Once per period across every process: the first worker to ask for a period gets it.

Taking a period is one conditional UPDATE of the job's `periodic_run` row, in the caller's
transaction. On PostgreSQL a second worker's UPDATE waits for the first transaction and
then finds the period taken; on SQLite the write lock (BEGIN IMMEDIATE) serialises them the
same way. The job runs in that transaction, so a job that fails gives the period back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followup.models import PeriodicRun


def take_period(session: Session, name: str, period: str, *, runner: str, now: datetime) -> bool:
    """True if this caller runs job `name` for `period` (e.g. "2026-12-02"): nobody has, and
    now nobody else will once the caller commits. False if it is taken."""
    taken = session.execute(
        update(PeriodicRun)
        .where(PeriodicRun.name == name, PeriodicRun.period != period)
        .values(period=period, started_at=now, runner=runner)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return True
    if session.get(PeriodicRun, name) is not None:
        return False  # this period is someone's already
    try:
        with session.begin_nested():  # the job's first run anywhere: two may race to insert
            session.add(PeriodicRun(name=name, period=period, started_at=now, runner=runner))
    except IntegrityError:
        return False
    return True
