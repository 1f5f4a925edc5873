"""Patient search from the top bar: by name, phone number (any way it is written) or email,
in the signed-in staff member's clinic only. The query lives in
followup.reporting.patient_search; showing the results is audited like the patient list."""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.responses import Response

from followup.core.audit import record_audit
from followup.reporting.patient_search import MAX_QUERY_LENGTH, search_patients
from followup.web.access import staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import render

router = staff_pages()


@router.get("/search")
def search_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    q: str = Query("", max_length=MAX_QUERY_LENGTH),
) -> Response:
    clinic = staff_clinic(session, staff)
    result = search_patients(session, clinic, q)
    if result.kind is not None:
        # Who was looked for shows in the ids found; the typed text (a name, a number) is
        # not copied into the audit log.
        record_audit(
            session,
            at=runtime.clock.now(),
            actor=staff.email,
            action="patient.search",
            clinic_id=clinic.id,
            staff_user_id=staff.id,
            detail={
                "by": result.kind.value,
                "found": len(result.patients),
                "patient_ids": [patient.id for patient in result.patients],
            },
        )
    return render(
        request, "search.html", {"clinic": clinic, "result": result, "search_query": result.query}
    )
