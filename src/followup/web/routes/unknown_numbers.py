"""Texts from numbers that match no patient of the clinic, newest first. They reach no
escalation queue, so this page is where staff see them (a red flag from a new patient's
phone, someone asking to book) and enroll the number."""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select

from followup.core.audit import record_audit
from followup.models import InboundMessage, Patient
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import page_count, render

router = staff_pages()
PAGE_SIZE = 50


@router.get("/inbox/unknown")
def unknown_numbers(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    page: int = Query(1, ge=1, le=100_000),
) -> Response:
    clinic = staff_clinic(session, staff)
    # Both queries walk the (clinic_id, patient_id, received_at) index.
    unknown = (InboundMessage.clinic_id == clinic.id, InboundMessage.patient_id.is_(None))
    total, urgent = session.execute(
        select(
            func.count(InboundMessage.id),
            func.coalesce(func.sum(case((InboundMessage.urgent, 1), else_=0)), 0),
        ).where(*unknown)
    ).one()
    texts = session.scalars(
        select(InboundMessage)
        .where(*unknown)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    record_audit(
        session,
        at=runtime.clock.now(),
        actor=staff.email,
        action="inbox.unknown.list",
        clinic_id=clinic.id,
        staff_user_id=staff.id,
        detail={"page": page},
    )
    return render(
        request,
        "unknown_numbers.html",
        {
            "clinic": clinic,
            "texts": texts,
            "page": page,
            "pages": page_count(total, PAGE_SIZE),
            "total": total,
            "urgent": urgent,
            "enrolled": _enrolled_since(session, clinic.id, {t.from_address for t in texts}),
        },
    )


def _enrolled_since(session: DbSession, clinic_id: int, phones: set[str]) -> dict[str, Patient]:
    """The page's numbers that are a patient's by now (a text keeps the patient it was
    received for), so staff don't enroll them twice."""
    if not phones:
        return {}
    patients = session.scalars(
        select(Patient)
        .where(Patient.clinic_id == clinic_id, Patient.phone.in_(sorted(phones)))
        .order_by(Patient.id.desc())
    )
    return {patient.phone: patient for patient in patients}
