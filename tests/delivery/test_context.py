"""The render context of a plan message: what the templates are given."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from followup.delivery.context import format_day, render_context
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


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "March 1, 2026"), ("fr", "1er mars 2026"), ("es", "1 de marzo de 2026")],
)
def test_the_treatment_day_is_written_in_the_patients_language(lang: str, words: str) -> None:
    assert format_day(date(2026, 3, 1), lang) == words


def test_a_spanish_speaking_patient_gets_a_spanish_date(templates_dir: Path) -> None:
    patient = SimpleNamespace(id=1, first_name="Sofía", language=Language.ES)
    context = render_context(CLINIC, patient, TREATMENT, "day1", templates_dir, None, NOW)
    assert context["treatment"]["treated_on"] == "8 de marzo de 2026"  # type: ignore[index]
