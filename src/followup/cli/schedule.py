"""`followup schedule ...`: see when a plan's messages would go out, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table

from followup.messages.plans import (
    PlanError,
    PlannedSend,
    SendRules,
    load_plan,
    plan_sends,
    to_local,
)
from followup.messages.rendering import default_templates_dir

schedule_app = typer.Typer(
    help="Preview follow-up send times.", no_args_is_help=True, add_completion=False
)

CHANNELS = ("sms", "email")
BAD_INPUT_EXIT = 2


def _bad_input(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(BAD_INPUT_EXIT)


def _parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: keys such as "../x" or absolute paths, which zoneinfo refuses.
        raise _bad_input(
            f"unknown time zone {name!r} (expected an IANA name such as America/Edmonton)"
        ) from None


def _parse_instant(option: str, value: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_input(
            f"{option} {value!r} is not an ISO 8601 date-time (e.g. 2026-03-07T14:00)"
        ) from None
    # Staff type clinic-local times; an explicit offset still wins.
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _parse_send_time(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        parsed = None
    # A send time is a clinic-local wall-clock time: an offset would be ignored, so refuse it.
    if parsed is None or parsed.tzinfo is not None:
        raise _bad_input(f"--send-time {value!r} is not HH:MM (clinic-local)")
    return parsed.replace(second=0, microsecond=0)


def _utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rows(
    sends: list[PlannedSend], zone: ZoneInfo, days: dict[str, int]
) -> list[dict[str, object]]:
    return [
        {
            "step": send.step,
            "day": days[send.step],
            "channel": channel,
            "send_at": _utc_iso(send.send_at),
            "local_time": to_local(send.send_at, zone).isoformat(),
            "expires_at": _utc_iso(send.expires_at),
            "expired": send.expired,
        }
        for send in sends
        for channel in CHANNELS
    ]


def _print_table(sends: list[PlannedSend], zone: ZoneInfo, title: str) -> None:
    table = Table(title=title)
    for column in ("step", "local time", "UTC", "channels", "status"):
        table.add_column(column)
    for send in sends:
        local = to_local(send.send_at, zone)
        table.add_row(
            send.step,
            f"{local:%Y-%m-%d %H:%M} {local.tzname()}",
            f"{send.send_at.astimezone(UTC):%Y-%m-%d %H:%M}Z",
            "+".join(CHANNELS),
            "expired" if send.expired else "scheduled",
        )
    Console().print(table)


@schedule_app.command("preview")
def preview(
    treated_at: Annotated[
        str, typer.Option("--treated-at", help="Treatment time, ISO 8601; no offset = --tz local.")
    ],
    tz: Annotated[str, typer.Option("--tz", help="Clinic time zone (IANA name).")],
    plan: Annotated[str, typer.Option("--plan", help="Plan name.")] = "microneedling",
    send_time: Annotated[
        str | None, typer.Option("--send-time", help="Clinic default send time, HH:MM.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Where plans and templates live.")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Pretend it is this instant (ISO 8601; default: the clock)."),
    ] = None,
) -> None:
    """Show when each step of a plan would be sent for one treatment."""
    zone = _parse_zone(tz)
    treated = _parse_instant("--treated-at", treated_at, zone)
    default_time = _parse_send_time(send_time)
    # The CLI is the edge, so it is the one place that may read the clock.
    current = datetime.now(UTC) if now is None else _parse_instant("--now", now, zone)
    rules = SendRules(tz=zone) if default_time is None else SendRules(zone, default_time)
    try:
        loaded = load_plan(templates_dir or default_templates_dir(), plan)
        sends = plan_sends(loaded, treated, rules, now=current)
    except PlanError as exc:
        raise _bad_input(str(exc)) from None
    if as_json:
        days = {step.name: step.day for step in loaded.steps}
        typer.echo(json.dumps(_rows(sends, zone, days), indent=2))
    else:
        _print_table(
            sends, zone, f"{loaded.title}, treated {to_local(treated, zone):%Y-%m-%d %H:%M %Z}"
        )
