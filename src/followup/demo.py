"""A demo clinic for `make run`: a staff login and patients at different stages of their plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.clinics import create_clinic, create_staff
from followup.enrollment import EnrollmentRequest, enroll
from followup.models import ChannelPreference, Clinic, Language, Role

DEMO_SLUG = "bow-river"
DEMO_EMAIL = "nurse@bowriver.example"
DEMO_PASSWORD = "followup-demo"  # noqa: S105 - printed by `make run`; demo database only

_DEMO_PATIENTS = [
    # first, last, phone, email, channel, language, days since treatment
    ("Maya", "Chen", "+14035550101", "maya@example.com", ChannelPreference.BOTH, Language.EN, 0),
    ("Liam", "Tremblay", "+15875550102", None, ChannelPreference.SMS, Language.FR, 2),
    ("Ava", "Singh", "+14035550103", "ava@example.com", ChannelPreference.SMS, Language.EN, 4),
    ("Noah", "Wilson", "+17805550104", None, ChannelPreference.SMS, Language.EN, 6),
    ("Zoe", "Martin", "+14035550105", "zoe@example.com", ChannelPreference.EMAIL, Language.EN, 8),
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    created: bool


def seed_demo(session: Session, *, templates_dir: Path, now: datetime) -> DemoLogin:
    """Create the demo clinic once; later runs find it and change nothing."""
    if session.scalar(select(Clinic.id).where(Clinic.slug == DEMO_SLUG)) is not None:
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=False)
    clinic = create_clinic(
        session,
        name="Bow River Skin Clinic",
        slug=DEMO_SLUG,
        timezone="America/Edmonton",
        contact_phone="+14035550134",
        sender_number="+14035550199",
        contact_email="care@bowriver.example",
        country="CA",
    )
    create_staff(
        session,
        clinic,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        role=Role.ADMIN,
        name="Demo Nurse",
    )
    for first, last, phone, email, channel, language, days_ago in _DEMO_PATIENTS:
        enroll(
            session,
            clinic,
            EnrollmentRequest(
                first_name=first,
                last_name=last,
                phone=phone,
                email=email,
                channel=channel,
                language=language,
                treatment="microneedling",
                treated_at=now - timedelta(days=days_ago, hours=2),
                practitioner="Dr. Okafor",
            ),
            templates_dir=templates_dir,
            now=now,
            actor="demo",
        )
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=True)
