"""Follow-up plans and their send times. Pure: no database, no network, no clock.

A plan is data, not code: ``templates/messages/<plan>/plan.toml`` names the steps
(``day1``, ``day3``, ...), the day each one goes out and, optionally, its local send
time and how long it stays useful. A clinic adds a treatment kind by adding a folder.

When a step is sent
-------------------
Day N is the Nth calendar day after the treatment's *local* date in the clinic's
zone, at the step's local send time (the clinic default, 10:00, unless the step sets
``send_time``). If that moment falls in quiet hours (default 21:00-08:00) it moves
forward to the end of quiet hours. Daylight-saving changes are handled by
``zoneinfo``: a local time that does not exist (spring-forward gap) moves forward by
the length of the gap (02:30 becomes 03:30); an ambiguous one (fall-back) means its
first occurrence.

Late enrollment
---------------
Staff sometimes enroll a patient days after the treatment. A step whose send time
has already passed at enrollment is sent as soon as quiet hours allow
(``next_allowed_time(now)``) if that is still before the step expires; otherwise it
is returned with ``expired=True`` and is never sent. A step expires ``useful_hours``
after its planned send time, and never later than the next step's planned send
time, because the next message supersedes it (day-1 advice is stale once day 3
arrives). Without ``useful_hours`` a step is useful until the next step's send time;
the last step stays useful for 48 hours.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "STEP_KINDS",
    "Plan",
    "PlanError",
    "PlannedSend",
    "SendRules",
    "Step",
    "available_plans",
    "load_plan",
    "next_allowed_time",
    "plan_sends",
    "to_local",
]

STEP_KINDS = ("info", "checkin")
LAST_STEP_USEFUL_HOURS = 48.0
PLAN_FILE = "plan.toml"

# Plan and step names become file names and URL parts: keep them boring.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PlanError(ValueError):
    """A plan that does not exist or whose plan.toml is malformed."""


@dataclass(frozen=True)
class Step:
    """One message of a plan: which day after treatment, at what local time."""

    name: str
    day: int
    send_time: time | None
    useful_hours: float | None
    kind: str  # "info" | "checkin"


@dataclass(frozen=True)
class Plan:
    """A treatment kind's follow-up: its steps, ordered by day."""

    name: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class SendRules:
    """A clinic's timing rules: its zone, default send time and quiet hours (local)."""

    tz: ZoneInfo
    default_send_time: time = time(10)
    quiet_start: time = time(21)
    quiet_end: time = time(8)


@dataclass(frozen=True)
class PlannedSend:
    """When one step goes out (UTC) and until when it is still worth sending."""

    step: str
    send_at: datetime
    expires_at: datetime
    expired: bool
    late: bool = False  # its planned time had passed: it goes at the first allowed moment


def available_plans(templates_dir: Path) -> list[str]:
    """Names of the plans found under `templates_dir` (folders holding a plan.toml)."""
    if not templates_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in templates_dir.iterdir()
        if _NAME_RE.match(entry.name) and (entry / PLAN_FILE).is_file()
    )


def load_plan(templates_dir: Path, name: str) -> Plan:
    """Read and validate ``<templates_dir>/<name>/plan.toml``."""
    if not _NAME_RE.match(name):
        raise PlanError(f"invalid plan name {name!r}: use lowercase letters, digits, - and _")
    path = templates_dir / name / PLAN_FILE
    if not path.is_file():
        known = ", ".join(available_plans(templates_dir)) or "none"
        raise PlanError(f"unknown plan {name!r} (no {path}); available: {known}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not valid TOML: {exc}") from exc
    return _parse_plan(name, raw, path)


def _parse_plan(name: str, raw: dict[str, Any], path: Path) -> Plan:
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PlanError(f"{path}: 'title' must be a non-empty string")
    raw_steps = raw.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PlanError(f"{path}: needs at least one [[steps]] table")
    steps = tuple(_parse_step(entry, path, index) for index, entry in enumerate(raw_steps))
    names = [step.name for step in steps]
    if len(set(names)) != len(names):
        raise PlanError(f"{path}: step names must be unique, got {names}")
    days = [step.day for step in steps]
    if days != sorted(set(days)):
        raise PlanError(f"{path}: step days must strictly increase, got {days}")
    return Plan(name=name, title=title.strip(), steps=steps)


def _parse_step(entry: object, path: Path, index: int) -> Step:
    where = f"{path}: steps[{index}]"
    if not isinstance(entry, dict):
        raise PlanError(f"{where} must be a table")
    unknown = set(entry) - {"name", "day", "send_time", "useful_hours", "kind"}
    if unknown:
        raise PlanError(f"{where}: unknown keys {sorted(unknown)}")
    step_name, day, kind = entry.get("name"), entry.get("day"), entry.get("kind", "info")
    if not isinstance(step_name, str) or not _NAME_RE.match(step_name):
        raise PlanError(f"{where}: 'name' must be like 'day1' (lowercase, digits, - and _)")
    # bool is an int subclass; `day = true` is a typo, not day 1.
    if not isinstance(day, int) or isinstance(day, bool) or day < 1:
        raise PlanError(f"{where} ({step_name}): 'day' must be an integer >= 1")
    if kind not in STEP_KINDS:
        raise PlanError(f"{where} ({step_name}): 'kind' must be one of {STEP_KINDS}")
    return Step(
        name=step_name,
        day=day,
        send_time=_parse_send_time(entry.get("send_time"), f"{where} ({step_name})"),
        useful_hours=_parse_useful_hours(entry.get("useful_hours"), f"{where} ({step_name})"),
        kind=kind,
    )


def _parse_send_time(value: object, where: str) -> time | None:
    if value is None:
        return None
    match = _HHMM_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise PlanError(f"{where}: 'send_time' must be \"HH:MM\" (24-hour), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _parse_useful_hours(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PlanError(f"{where}: 'useful_hours' must be a positive number, got {value!r}")
    return float(value)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """The wall-clock reading of an aware instant in zone `tz`."""
    _require_aware(instant, "instant")
    return instant.astimezone(tz)


def _local_to_utc(day: date, wall: time, tz: ZoneInfo, fold: int = 0) -> datetime:
    # PEP 495: with fold=0 an ambiguous wall time is its first occurrence, and a
    # nonexistent one is read with the offset from before the gap, which lands the
    # same distance past the gap (02:30 in a one-hour gap -> 03:30).
    return datetime.combine(day, wall).replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _in_quiet_hours(wall: time, rules: SendRules) -> bool:
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end  # the window wraps past midnight


def next_allowed_time(instant: datetime, rules: SendRules) -> datetime:
    """`instant` (UTC) if it is outside quiet hours, else the end of those quiet hours.

    Returns UTC. The result is never earlier than `instant`.
    """
    _require_aware(instant, "instant")
    candidate = instant.astimezone(UTC)
    # A second pass is only needed in contrived set-ups where the DST gap pushes the
    # end of quiet hours into the next quiet window; bound it rather than trust it.
    for _ in range(4):
        local = candidate.astimezone(rules.tz)
        wall = local.time().replace(tzinfo=None)
        if not _in_quiet_hours(wall, rules):
            return candidate
        end_date = local.date()
        if rules.quiet_start > rules.quiet_end and wall >= rules.quiet_start:
            end_date += timedelta(days=1)
        end = _local_to_utc(end_date, rules.quiet_end, rules.tz)
        if end <= candidate:
            # Inside the repeated hour after a fall-back, the end of quiet hours may be
            # the wall time's second occurrence (fold=1), which is still ahead.
            end = _local_to_utc(end_date, rules.quiet_end, rules.tz, fold=1)
        candidate = max(candidate, end)
    return candidate


def _nominal_send_at(step: Step, treated_on: date, rules: SendRules) -> datetime:
    wall = rules.default_send_time if step.send_time is None else step.send_time
    planned = _local_to_utc(treated_on + timedelta(days=step.day), wall, rules.tz)
    return next_allowed_time(planned, rules)


def plan_sends(
    plan: Plan, treated_at: datetime, rules: SendRules, now: datetime
) -> list[PlannedSend]:
    """Every step of `plan` with its UTC send time, expiry, and whether it is too late.

    `treated_at` and `now` must be timezone-aware (ValueError otherwise). Raises
    PlanError when quiet hours would make two steps go out at once or out of order.
    See the module docstring for the late-enrollment rule.
    """
    _require_aware(treated_at, "treated_at")
    _require_aware(now, "now")
    treated_on = to_local(treated_at, rules.tz).date()
    nominal = [_nominal_send_at(step, treated_on, rules) for step in plan.steps]
    for index in range(1, len(nominal)):
        if nominal[index] <= nominal[index - 1]:
            earlier, later = plan.steps[index - 1].name, plan.steps[index].name
            raise PlanError(
                f"plan {plan.name!r}: step {later!r} would not go out after {earlier!r} once"
                f" quiet hours apply ({nominal[index - 1].isoformat()}); change their send_time"
            )
    earliest = next_allowed_time(now, rules)
    sends = []
    for index, (step, send_at) in enumerate(zip(plan.steps, nominal, strict=True)):
        expires_at = _expires_at(step, send_at, nominal[index + 1 : index + 2])
        if send_at >= now:
            sends.append(PlannedSend(step.name, send_at, expires_at, expired=False))
        elif earliest < expires_at:
            sends.append(PlannedSend(step.name, earliest, expires_at, expired=False, late=True))
        else:
            sends.append(PlannedSend(step.name, send_at, expires_at, expired=True))
    return sends


def _expires_at(step: Step, send_at: datetime, next_send: list[datetime]) -> datetime:
    if step.useful_hours is not None:
        expires = send_at + timedelta(hours=step.useful_hours)
    elif next_send:
        expires = next_send[0]
    else:
        expires = send_at + timedelta(hours=LAST_STEP_USEFUL_HOURS)
    # The next message supersedes this one, whatever useful_hours says.
    return min([expires, *next_send])


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
