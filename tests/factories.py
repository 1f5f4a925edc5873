"""Small factories for rows, so tests say only what matters to them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from followup.admin.clinics import create_clinic, create_staff
from followup.enrollment.enroll import EnrollmentRequest, EnrollmentResult, enroll
from followup.models import ChannelPreference, Clinic, Language, Role, StaffUser

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates" / "messages"
STAFF_PASSWORD = "a-long-test-password"


def make_clinic(session: Session, **overrides: object) -> Clinic:
    values: dict[str, object] = {
        "name": "Bow River Skin Clinic",
        "timezone": "America/Edmonton",
        "contact_phone": "+14035550134",
        "sender_number": "+14035550199",
        "country": "CA",
    }
    values.update(overrides)
    return create_clinic(session, **values)  # type: ignore[arg-type]


def make_staff(
    session: Session, clinic: Clinic, email: str = "nurse@example.com", role: Role = Role.STAFF
) -> StaffUser:
    return create_staff(session, clinic, email=email, password=STAFF_PASSWORD, role=role)


def make_enrollment(
    session: Session,
    clinic: Clinic,
    *,
    now: datetime,
    first_name: str = "Maya",
    phone: str = "+14035550101",
    email: str | None = None,
    channel: ChannelPreference = ChannelPreference.SMS,
    language: Language = Language.EN,
    treatment: str = "microneedling",
    treated_at: datetime | None = None,
) -> EnrollmentResult:
    request = EnrollmentRequest(
        first_name=first_name,
        phone=phone,
        email=email,
        channel=channel,
        language=language,
        treatment=treatment,
        treated_at=treated_at or now - timedelta(hours=1),
    )
    return enroll(session, clinic, request, templates_dir=TEMPLATES_DIR, now=now, actor="test")
