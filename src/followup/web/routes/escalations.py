"""The escalation queue, one escalation's page, and what staff do about it.

The queue refreshes itself: the rows and the badge in the top bar are HTMX partials polled
every few seconds, so a new WORSE reply shows up without a reload. An escalation's page
polls its own state the same way (`/live`), so a second nurse sees "acknowledged by ..."
within seconds; the poll answers 204 (nothing to swap) while nothing changed, so nothing
on the page moves under a nurse's hands. The actions call the escalation lifecycle in
followup.escalations.lifecycle; this module only translates HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from followup.core.audit import record_audit
from followup.escalations import lifecycle
from followup.escalations.worklists import (
    QUEUE_LIMIT,
    UNRESOLVED,
    QueueFilter,
    escalation_queue,
    handling_times,
    open_counts,
    sla_for,
)
from followup.models import (
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    InboundMessage,
    Patient,
    StaffUser,
)
from followup.reporting.conversation import conversation
from followup.reporting.timeline import StaffDirectory, staff_names
from followup.reporting.treatment_context import treatment_context
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import flash, redirect, render
from followup.web.scoped import clinic_escalation, clinic_patient, clinic_staff_member

router = staff_pages()
actions = staff_actions()

STATUS_FILTERS: dict[str, tuple[EscalationStatus, ...]] = {
    "active": UNRESOLVED,
    "open": (EscalationStatus.OPEN,),
    "acknowledged": (EscalationStatus.ACKNOWLEDGED,),
    "resolved": (EscalationStatus.RESOLVED,),
}


def _queue_filter(staff: StaffUser, priority: str, status: str, mine: bool) -> QueueFilter:
    return QueueFilter(
        priority=EscalationPriority(priority)
        if priority in {p.value for p in EscalationPriority}
        else None,
        statuses=STATUS_FILTERS.get(status, UNRESOLVED),
        assigned_to_id=staff.id if mine else None,
    )


def _queue_context(
    session: DbSession,
    staff: StaffUser,
    runtime: RuntimeDep,
    filters: dict[str, str],
    limit: int = QUEUE_LIMIT,
) -> dict[str, object]:
    clinic = staff_clinic(session, staff)
    queue_filter = _queue_filter(
        staff, filters["priority"], filters["status"], filters["mine"] == "1"
    )
    return {
        "clinic": clinic,
        "queue": escalation_queue(session, clinic, runtime.clock.now(), queue_filter, limit),
        "names": staff_names(session, clinic.id),
        "filters": filters,
        "limit": limit,
    }


@router.get("/escalations")
def queue_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    priority: str = "",
    status: str = "active",
    mine: str = "",
) -> Response:
    filters = {"priority": priority, "status": status, "mine": mine}
    return render(request, "escalations.html", _queue_context(session, staff, runtime, filters))


@router.get("/escalations/rows")
def queue_rows(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    priority: str = "",
    status: str = "active",
    mine: str = "",
    limit: int = Query(QUEUE_LIMIT, ge=1, le=QUEUE_LIMIT),
) -> Response:
    """The queue's table alone, polled by the queue page and Today."""
    filters = {"priority": priority, "status": status, "mine": mine}
    context = _queue_context(session, staff, runtime, filters, limit)
    return render(request, "partials/queue_rows.html", context)


@router.get("/escalations/badge")
def badge(request: Request, session: DbSession, staff: CurrentStaff) -> Response:
    """The count of open escalations in the top bar, polled on every page."""
    counts = open_counts(session, staff.clinic_id)
    return render(request, "partials/badge.html", {"counts": counts})


@router.get("/escalations/{escalation_id:int}")
def escalation_page(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
) -> Response:
    clinic = staff_clinic(session, staff)
    escalation = clinic_escalation(session, staff, escalation_id)
    patient = clinic_patient(session, staff, escalation.patient_id)
    now = runtime.clock.now()
    record_audit(
        session,
        at=now,
        actor=staff.email,
        action="escalation.view",
        clinic_id=clinic.id,
        staff_user_id=staff.id,
        target_type="escalation",
        target_id=escalation.id,
        detail={"patient_id": patient.id},
    )
    members = session.scalars(
        select(StaffUser)
        .where(StaffUser.clinic_id == clinic.id)
        .order_by(StaffUser.name, StaffUser.email)
    ).all()
    directory = StaffDirectory.of(members)
    context = _live_context(session, clinic, escalation, now, directory.by_id)
    context.update(_story(session, runtime, clinic, escalation, patient, directory))
    context["colleagues"] = [member for member in members if member.active]
    return render(request, "escalation.html", context)


def _story(
    session: DbSession,
    runtime: RuntimeDep,
    clinic: Clinic,
    escalation: Escalation,
    patient: Patient,
    directory: StaffDirectory,
) -> dict[str, object]:
    """The patient, the conversation and where the patient stood when the reply came."""
    zone = ZoneInfo(clinic.timezone)
    bubbles = conversation(session, patient, zone, runtime.templates_dir, directory)
    # The conversation loaded the patient's replies: this one comes from the session.
    reply = (
        session.get(InboundMessage, escalation.inbound_message_id)
        if escalation.inbound_message_id
        else None
    )
    treatment = treatment_context(
        session, patient.id, escalation.treatment_id, escalation.opened_at, zone,
        runtime.templates_dir,
    )  # fmt: skip
    return {"patient": patient, "reply": reply, "bubbles": bubbles, "treatment": treatment}


@router.get("/escalations/{escalation_id:int}/live")
def escalation_live(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    state: str = "",
) -> Response:
    """The page's changing part (status, who acknowledged, resolution, the buttons), polled;
    204 while its state is the one the page already shows."""
    clinic = staff_clinic(session, staff)
    escalation = clinic_escalation(session, staff, escalation_id)
    if state == live_state(escalation):
        return Response(status_code=204)
    context = _live_context(session, clinic, escalation, runtime.clock.now())
    return render(request, "partials/escalation_live.html", context)


def live_state(escalation: Escalation) -> str:
    """A short fingerprint of what the live part shows: it changes when any of it does."""
    shown = (
        escalation.status.value,
        escalation.acknowledged_by_id,
        escalation.assigned_to_id,
        escalation.resolved_at.isoformat() if escalation.resolved_at else None,
        escalation.resolved_by_id,
        escalation.outcome,
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]


def _live_context(
    session: DbSession,
    clinic: Clinic,
    escalation: Escalation,
    now: datetime,
    names: dict[int, str] | None = None,
) -> dict[str, object]:
    return {
        "clinic": clinic,
        "escalation": escalation,
        "names": staff_names(session, clinic.id) if names is None else names,
        "age": now - escalation.opened_at,
        "sla": sla_for(clinic, escalation.priority),
        "times": handling_times(escalation),
        "state": live_state(escalation),
    }


def _act(
    request: Request,
    session: DbSession,
    staff: StaffUser,
    escalation_id: int,
    action: Callable[[Escalation], object],
    done: str,
    focus: str,
) -> Response:
    """Run one action and go back to the escalation, focused where the nurse was (`focus`:
    an id on escalation.html); once resolved, the actions are gone: focus what happened."""
    escalation = clinic_escalation(session, staff, escalation_id)
    try:
        action(escalation)
    except lifecycle.StaffActionError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, done)
    if escalation.status is EscalationStatus.RESOLVED:
        focus = "what"
    return redirect(f"/escalations/{escalation.id}", focus=focus)


@actions.post("/escalations/{escalation_id:int}/acknowledge")
def acknowledge(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
) -> Response:
    now = runtime.clock.now()
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.acknowledge(session, e, staff, now),
        "Acknowledged.",
        "act",
    )


@actions.post("/escalations/{escalation_id:int}/assign")
def assign(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    assignee_id: Annotated[int, Form()],
) -> Response:
    now = runtime.clock.now()
    assignee = clinic_staff_member(session, staff, assignee_id)
    done = f"Assigned to {assignee.name or assignee.email}."
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.assign(session, e, assignee, staff, now),
        done,
        "assignee",
    )


@actions.post("/escalations/{escalation_id:int}/note")
def add_note(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    body: Annotated[str, Form()],
) -> Response:
    now = runtime.clock.now()
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.add_note(session, e, staff, body, now),
        "Note added.",
        "note-body",
    )


@actions.post("/escalations/{escalation_id:int}/reply")
def reply(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    body: Annotated[str, Form()],
) -> Response:
    now = runtime.clock.now()
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.reply_to_patient(session, e, staff, body, now),
        "Reply queued: it goes out by SMS in a few seconds.",
        "reply-body",
    )


@actions.post("/escalations/{escalation_id:int}/reopen")
def reopen(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    now = runtime.clock.now()
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.reopen(session, e, staff, now, reason),
        "Reopened: it is back in the queue.",
        "act",
    )


@actions.post("/escalations/{escalation_id:int}/resolve")
def resolve(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    escalation_id: int,
    outcome: Annotated[str, Form()],
) -> Response:
    now = runtime.clock.now()
    return _act(
        request,
        session,
        staff,
        escalation_id,
        lambda e: lifecycle.resolve(session, e, staff, outcome, now),
        "Resolved.",
        "what",
    )
