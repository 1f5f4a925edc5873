"""The render context of a plan message: what the templates are given."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from followup.delivery.context import render_context
from followup.models import Channel, Language

NOW = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
CLINIC = SimpleNamespace(
    name="Bow River Dermatology and Laser Aesthetics Centre",
    sms_name="Bow River Skin",
    timezone="America/Edmonton",
    contact_phone="+14035550134",
)
PATIENT = SimpleNamespace(id=1, first_name="Maya", language=Language.EN)
TREATMENT = SimpleNamespace(id=2, kind="microneedling", treated_at=NOW)


def test_sms_uses_the_clinic_short_name_and_email_the_full_name(templates_dir: Path) -> None:
    sms = render_context(
        CLINIC, PATIENT, TREATMENT, "day1", templates_dir, None, NOW, channel=Channel.SMS
    )
    email = render_context(
        CLINIC, PATIENT, TREATMENT, "day1", templates_dir, None, NOW, channel=Channel.EMAIL
    )
    assert sms["clinic"] == {"name": "Bow River Skin", "phone": "(403) 555-0134"}
    assert email["clinic"] == {"name": CLINIC.name, "phone": "(403) 555-0134"}


def test_without_a_short_name_sms_uses_the_full_name(templates_dir: Path) -> None:
    clinic = SimpleNamespace(**{**vars(CLINIC), "sms_name": None})
    sms = render_context(
        clinic, PATIENT, TREATMENT, "day1", templates_dir, None, NOW, channel=Channel.SMS
    )
    assert sms["clinic"]["name"] == CLINIC.name  # type: ignore[index]
