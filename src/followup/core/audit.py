"""Audit trail: every view of a patient and every change, with who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from followup.models import AuditEvent, StaffUser


def record_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    clinic_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    staff_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        clinic_id=clinic_id,
        actor=actor,
        staff_user_id=staff_user_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail or {},
        at=at,
    )
    session.add(event)
    return event


def record_staff_audit(
    session: Session,
    staff: StaffUser,
    action: str,
    target: tuple[str, int],
    now: datetime,
    **detail: object,
) -> AuditEvent:
    """What a signed-in staff member did to one row of their clinic."""
    return record_audit(
        session,
        at=now,
        actor=staff.email,
        action=action,
        clinic_id=staff.clinic_id,
        staff_user_id=staff.id,
        target_type=target[0],
        target_id=target[1],
        detail=dict(detail),
    )
