"""The patient list: who is enrolled and what goes out when, in the clinic's local time."""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from followup.core.audit import record_audit
from followup.models import Patient, ScheduledMessage, Treatment
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import page_count, render

router = staff_pages()
PAGE_SIZE = 50


@router.get("/patients")
def patient_list(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    page: int = Query(1, ge=1, le=100_000),
) -> Response:
    clinic = staff_clinic(session, staff)
    total = session.scalar(select(func.count(Patient.id)).where(Patient.clinic_id == clinic.id))
    # The page's ids first (an index-only walk), then only those rows: a deep page doesn't
    # load and sort every patient of the clinic.
    page_ids = (
        select(Patient.id)
        .where(Patient.clinic_id == clinic.id)
        .order_by(Patient.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    patients = session.scalars(
        select(Patient)
        .where(Patient.id.in_(page_ids.scalar_subquery()))
        .order_by(Patient.id.desc())
        .options(selectinload(Patient.treatments))
    ).all()
    messages = _messages_by_treatment(session, [t.id for p in patients for t in p.treatments])
    record_audit(
        session,
        at=runtime.clock.now(),
        actor=staff.email,
        action="patient.list",
        clinic_id=clinic.id,
        staff_user_id=staff.id,
        detail={"page": page},
    )
    return render(
        request,
        "patients.html",
        {
            "clinic": clinic,
            "patients": patients,
            "messages": messages,
            "page": page,
            "pages": page_count(total or 0, PAGE_SIZE),
            "total": total or 0,
            "Treatment": Treatment,
        },
    )


def _messages_by_treatment(
    session: DbSession, treatment_ids: list[int]
) -> dict[int, list[ScheduledMessage]]:
    """The page's messages in one query, grouped by treatment."""
    messages: dict[int, list[ScheduledMessage]] = {}
    if treatment_ids:
        for message in session.scalars(
            select(ScheduledMessage)
            .where(ScheduledMessage.treatment_id.in_(treatment_ids))
            .order_by(ScheduledMessage.send_at, ScheduledMessage.channel)
        ):
            messages.setdefault(message.treatment_id or 0, []).append(message)
    return messages
