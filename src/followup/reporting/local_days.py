"""Counting by a clinic's local calendar day in SQL, exact for any UTC offset.

A zone's offset is constant between its transitions (at most two a year), so the period
is cut into stretches of constant offset here, with zoneinfo, and the database computes
floor((seconds since 1970 + the stretch's offset) / 86400) per row: the local date as a
day number, grouped on like any column. Hour buckets folded into days afterwards were
exact only for whole-hour offsets (St. John's is -3:30, Kathmandu +5:45).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, literal
from sqlalchemy.orm import Session

EPOCH_DAY = date(1970, 1, 1)
_SCAN = timedelta(hours=6)  # zones change offset at most twice a year, never twice in 6 h


def offset_stretches(tz: ZoneInfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """(start, UTC offset in seconds) of each stretch of constant offset in [since, until):
    the first starts at `since`; zoneinfo's transitions, found to the second."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    stretches = [(since, offset(since))]
    at = since
    while at < until:
        step = min(at + _SCAN, until)
        if offset(step) != stretches[-1][1]:
            low, high = at, step  # offset(low) is the current one, offset(high) the next
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == stretches[-1][1] else (low, middle)
            stretches.append((high.replace(microsecond=0), offset(high)))
        at = step
    return stretches


def local_day_number(
    session: Session, column: Any, tz: ZoneInfo, since: datetime, until: datetime
) -> ColumnElement[int]:
    """Days from 1970-01-01 to `column`'s clinic-local date: floor((epoch + offset) / 86400),
    the offset being the zone's at that instant (a CASE over the period's stretches)."""
    stretches = offset_stretches(tz, since, until)
    offset: Any = literal(stretches[-1][1])
    if len(stretches) > 1:
        # Before the next stretch starts, the offset is this stretch's.
        before_next = [
            (column < following[0], literal(current[1]))
            for current, following in pairwise(stretches)
        ]
        offset = case(*before_next, else_=offset)
    if session.get_bind().dialect.name == "postgresql":
        seconds: Any = cast(func.floor(func.extract("epoch", column)), BigInteger)
    else:
        seconds = cast(func.strftime("%s", column), BigInteger)
    # Integer floor division in both dialects (instants after 1970 are positive).
    result: ColumnElement[int] = (seconds + offset) // 86400
    return result


def day_from_number(number: int) -> date:
    """The date `local_day_number` stands for."""
    return EPOCH_DAY + timedelta(days=number)
