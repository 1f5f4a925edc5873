"""The audit log, for admins: who saw or changed what, newest first."""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import and_, or_, select

from followup.models import AuditEvent
from followup.web.access import admin_pages
from followup.web.deps import CurrentStaff, DbSession, staff_clinic
from followup.web.pages import render

router = admin_pages()
PAGE_SIZE = 100


@router.get("/audit")
def audit_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    before: int | None = Query(None, ge=1),
    action: str = Query("", max_length=64),
) -> Response:
    """Keyset pages (`before` = the last event seen), newest first along the (clinic, at)
    index, so page 500 costs what page 1 does and nothing is sorted in memory."""
    clinic = staff_clinic(session, staff)
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic.id)
    if before is not None:
        last = session.get(AuditEvent, before)
        if last is not None and last.clinic_id == clinic.id:
            query = query.where(
                or_(
                    AuditEvent.at < last.at,
                    and_(AuditEvent.at == last.at, AuditEvent.id < last.id),
                )
            )
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    order = (AuditEvent.at.desc(), AuditEvent.id.desc())
    events = session.scalars(query.order_by(*order).limit(PAGE_SIZE + 1)).all()
    return render(
        request,
        "audit.html",
        {
            "clinic": clinic,
            "events": events[:PAGE_SIZE],
            "next_before": events[PAGE_SIZE - 1].id if len(events) > PAGE_SIZE else None,
            "action": action,
        },
    )
