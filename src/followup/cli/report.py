"""`followup report --clinic SLUG --since DATE [--until DATE] [--json|--csv]`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from followup.admin.clinics import UnknownClinic, get_clinic
from followup.cli.common import console, fail, runtime
from followup.reporting.formats import local_midnight, report_csv
from followup.reporting.reports import Report, build_report


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


def report_command(
    clinic: str = typer.Option(..., help="Clinic slug."),
    since: str = typer.Option(..., help="First clinic-local day (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, help="Last clinic-local day; default: up to now."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (section,group,...,value)."),
) -> None:
    """Outcome report: messages, replies, check-in answers, escalations, opt-outs."""
    if as_json and as_csv:
        fail("--json and --csv: choose one")
    with runtime() as rt, rt.sessions() as session:
        try:
            found = get_clinic(session, clinic)
        except UnknownClinic as exc:
            fail(str(exc))
        tz = ZoneInfo(found.timezone)
        start = local_midnight(_day(since, "--since"), tz)
        end = (
            local_midnight(_day(until, "--until") + timedelta(days=1), tz)
            if until
            else rt.clock.now()
        )
        if end <= start:
            fail("--until is before --since")
        report = build_report(session, found, start, end)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    elif as_csv:
        print(report_csv(report), end="")
    else:
        _print_tables(report)


def _print_tables(report: Report) -> None:
    tz = ZoneInfo(report.timezone)
    start, end = report.since.astimezone(tz), report.until.astimezone(tz)
    period = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    console.print(f"[bold]{report.clinic}[/] {period} ({report.timezone})")
    messages = Table("day", "channel", "sent", "delivered", "failed", "expired", title="Messages")
    for d in report.messages:
        messages.add_row(
            d.day.isoformat(),
            d.channel,
            str(d.sent),
            str(d.delivered),
            str(d.failed),
            str(d.expired),
        )
    console.print(messages)
    _print_outcomes(report)


def _print_outcomes(report: Report) -> None:
    replies = Table("step", "sent to", "replied", "rate", title="Replies per step")
    for r in report.replies:
        replies.add_row(r.step, str(r.sent), str(r.replied), f"{r.rate:.0%}")
    console.print(replies)
    for title, rows in (("step", report.answers_by_step), ("treatment", report.answers_by_kind),
                        ("practitioner", report.answers_by_practitioner)):  # fmt: skip
        table = Table(title, "better", "same", "worse", "n", title=f"Check-in answers by {title}")
        for a in rows:
            table.add_row(
                a.group,
                f"{a.share('better'):.0%}",
                f"{a.share('same'):.0%}",
                f"{a.share('worse'):.0%}",
                str(a.total),
            )
        console.print(table)
    _print_escalations(report)
    o = report.opt_outs
    console.print(f"Opt-outs: {o.opted_out} of {o.patients} patients treated ({o.rate:.1%})")


def _print_escalations(report: Report) -> None:
    esc = Table(
        "priority",
        "opened",
        "ack'd",
        "resolved",
        "ack median",
        "ack p90",
        "resolve median",
        "resolve p90",
        title="Escalations (minutes)",
    )
    for e in report.escalations:
        esc.add_row(
            e.priority,
            str(e.opened),
            str(e.acknowledged),
            str(e.resolved),
            *(
                _minutes(v)
                for v in (e.ack_median_s, e.ack_p90_s, e.resolve_median_s, e.resolve_p90_s)
            ),
        )
    console.print(esc)


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.0f}"
