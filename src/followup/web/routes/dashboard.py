"""Today: what needs the staff member now, on one page; and the operations banner every
signed-in page polls (a stopped worker, a late backlog)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from followup.escalations.worklists import (
    QueueFilter,
    escalation_queue,
    messages_needing_person,
    messages_today,
)
from followup.reporting.operations import dashboard_alarm
from followup.reporting.timeline import staff_names
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import redirect, render

router = staff_pages()
# Today is a summary: the first rows of each list, with links to the full lists.
TODAY_ROWS = 50


@router.get("/", include_in_schema=False)
def home() -> Response:
    return redirect("/today")


@router.get("/today")
def today(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep
) -> Response:
    """Open escalations (urgent first, with age and SLA), today's sends, failures."""
    clinic = staff_clinic(session, staff)
    now = runtime.clock.now()
    return render(
        request,
        "today.html",
        {
            "clinic": clinic,
            "now": now,
            "queue": escalation_queue(session, clinic, now, QueueFilter(), TODAY_ROWS),
            "outgoing": messages_today(session, clinic, now, TODAY_ROWS),
            "failures": messages_needing_person(session, clinic, TODAY_ROWS),
            "names": staff_names(session, clinic.id),
            "today_rows": TODAY_ROWS,
        },
    )


@router.get("/status/banner", include_in_schema=False)
def operations_banner(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep
) -> Response:
    """The banner every page polls: empty while the service keeps up."""
    now = runtime.clock.now()
    alarm = dashboard_alarm(session, now, staff.clinic_id)
    return render(request, "partials/operations_banner.html", {"alarm": alarm, "now": now})
