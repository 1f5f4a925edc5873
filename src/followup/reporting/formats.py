"""A report as CSV (one figure per row, easy to pivot in a spreadsheet) and the dates
a `--since` option means in a clinic's zone. Groups are free text (a practitioner's name),
so the CSV goes through `core.csv_export`, which writes formula-like cells as text."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from followup.core.csv_export import csv_text
from followup.reporting.reports import ANSWERS, Report

CSV_HEADER = ("section", "group", "channel", "metric", "value")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a clinic-local day starts."""
    return datetime.combine(day, time(0), tzinfo=tz)


def report_rows(report: Report) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    for day in report.messages:
        for metric in ("sent", "delivered", "failed", "expired"):
            rows.append(
                ("messages", day.day.isoformat(), day.channel, metric, str(getattr(day, metric)))
            )
    for step in report.replies:
        rows += [
            ("replies", step.step, "", "sent", str(step.sent)),
            ("replies", step.step, "", "replied", str(step.replied)),
            ("replies", step.step, "", "reply_rate", f"{step.rate:.4f}"),
        ]
    for section in ("answers_by_step", "answers_by_kind", "answers_by_practitioner"):
        for share in getattr(report, section):
            for answer in ANSWERS:
                rows.append((section, share.group, "", answer, str(getattr(share, answer))))
                rows.append(
                    (section, share.group, "", f"{answer}_share", f"{share.share(answer):.4f}")
                )
    for esc in report.escalations:
        for metric in ("opened", "acknowledged", "resolved", "ack_median_s", "ack_p90_s",
                       "resolve_median_s", "resolve_p90_s"):  # fmt: skip
            value = getattr(esc, metric)
            shown = (
                ""
                if value is None
                else (f"{value:.0f}" if isinstance(value, float) else str(value))
            )
            rows.append(("escalations", esc.priority, "", metric, shown))
    opt = report.opt_outs
    rows += [
        ("opt_outs", "", "", "patients", str(opt.patients)),
        ("opt_outs", "", "", "opted_out", str(opt.opted_out)),
        ("opt_outs", "", "", "rate", f"{opt.rate:.4f}"),
    ]
    return rows


def report_csv(report: Report) -> str:
    """The report as CSV, for `/reports.csv` and `followup report --csv`."""
    return csv_text(CSV_HEADER, report_rows(report))
