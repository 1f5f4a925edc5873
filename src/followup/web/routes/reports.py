"""The outcome report page: SVG charts with the numbers as tables beside them, and the same
figures as CSV. The figures come from followup.reporting.reports; this module translates HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.responses import Response

from followup.core.audit import record_audit
from followup.models import Clinic, StaffUser
from followup.reporting import charts
from followup.reporting.formats import local_midnight, report_csv
from followup.reporting.reports import ANSWERS, Report, build_report
from followup.web import labels
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import render

router = staff_pages()
DEFAULT_DAYS = 30


def _period(clinic: Clinic, now: datetime, since: str, until: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(clinic.timezone)
    today = now.astimezone(tz).date()
    start = _day(since) or today - timedelta(days=DEFAULT_DAYS - 1)
    last = _day(until)
    end = local_midnight(last + timedelta(days=1), tz) if last else now
    return local_midnight(start, tz), max(end, local_midnight(start, tz))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _load(
    session: DbSession, staff: StaffUser, runtime: RuntimeDep, since: str, until: str, action: str
) -> Report:
    clinic = staff_clinic(session, staff)
    start, end = _period(clinic, runtime.clock.now(), since, until)
    record_audit(
        session,
        at=runtime.clock.now(),
        actor=staff.email,
        action=action,
        clinic_id=clinic.id,
        staff_user_id=staff.id,
        detail={"since": start.isoformat(), "until": end.isoformat()},
    )
    return build_report(session, clinic, start, end)


@router.get("/reports")
def report_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
) -> Response:
    report = _load(session, staff, runtime, since, until, "report.view")
    tz = ZoneInfo(report.timezone)
    context: dict[str, Any] = {
        "report": report,
        "since": report.since.astimezone(tz).date().isoformat(),
        "until": until,
        "answers": ANSWERS,
        "days": _days_by_outcome(report),
        "charts": _charts(report, labels.plan_titles(runtime.templates_dir)),
        "query": request.url.query,
    }
    return render(request, "reports.html", context)


@router.get("/reports.csv")
def report_download(
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
) -> Response:
    report = _load(session, staff, runtime, since, until, "report.export")
    name = f"followup-report-{report.since:%Y%m%d}-{report.until:%Y%m%d}.csv"
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _days_by_outcome(report: Report) -> list[tuple[str, dict[str, int]]]:
    """Per day, channels added up (the table beside the chart also shows them apart)."""
    days: dict[str, dict[str, int]] = {}
    for row in report.messages:
        totals = days.setdefault(row.day.isoformat(), dict.fromkeys(charts.OUTCOME_NAMES, 0))
        for name in charts.OUTCOME_NAMES:
            totals[name] += getattr(row, name)
    return sorted(days.items())


def _charts(report: Report, titles: Mapping[str, str]) -> dict[str, Any]:
    """The report's charts, their labels in words (steps, treatment titles)."""
    days = _days_by_outcome(report)
    series = [charts.Series(n, [t[n] for _, t in days]) for n in charts.OUTCOME_NAMES]

    def shares(
        rows: list[Any], name: Callable[[str], str] = str
    ) -> list[tuple[str, list[tuple[str, int]]]]:
        return [(name(r.group), [(a, getattr(r, a)) for a in ANSWERS]) for r in rows]

    return {
        "messages": charts.column_chart("Messages per day", [d[5:] for d, _ in days], series),
        "replies": charts.bar_chart(
            "Reply rate per step",
            [(labels.step_label(r.step), r.rate) for r in report.replies],
            percent=True,
            x_title="patients who replied (%)",
        ),
        "by_step": charts.share_chart(
            "Answers per step", shares(report.answers_by_step, labels.step_label)
        ),
        "by_kind": charts.share_chart(
            "Answers per treatment",
            shares(report.answers_by_kind, lambda kind: labels.treatment_title(kind, titles)),
        ),
        "by_practitioner": charts.share_chart(
            "Answers per practitioner", shares(report.answers_by_practitioner)
        ),
        "escalations": charts.bar_chart(
            "Median minutes to acknowledge",
            [
                (e.priority, None if e.ack_median_s is None else round(e.ack_median_s / 60))
                for e in report.escalations
            ],
            unit="min",
            x_title="median time to acknowledge (minutes)",
        ),
    }
