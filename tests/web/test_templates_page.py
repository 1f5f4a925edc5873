"""The templates page: the signed-in clinic's own texts, one treatment at a time, filterable
by treatment, channel and language with plain GET parameters."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from followup.models import Clinic
from tests.web_fixtures import ClinicRows


def _cards(page: str) -> list[str]:
    return re.findall(r'<h2 id="t-\d+">([^<]+)</h2>', page)


def test_templates_are_rendered_for_the_signed_in_clinic(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        clinic = session.get(Clinic, two_clinics[0].clinic.id)
        assert clinic is not None
        clinic.sms_name = "Bow River"
        clinic.contact_phone = "+14035550111"
    page = staff_client.get("/templates?channel=sms&lang=en").text
    assert "Bow River: Redness, tightness" in page  # SMS bodies use the clinic's short name
    assert "(403) 555-0111" in page
    assert "Bow Valley Skin &amp; Laser" not in page  # not the made-up sample clinic
    assert "Other Clinic" not in page
    email = staff_client.get("/templates?channel=email&lang=en").text
    assert "Bow River Skin Clinic" in email  # emails use the full name


def test_one_treatment_is_shown_by_default(staff_client: TestClient) -> None:
    page = staff_client.get("/templates").text
    cards = _cards(page)
    assert len(cards) == 18  # 3 steps x 2 channels x 3 languages
    assert {card.split(" · ")[0] for card in cards} == {"Chemical peel"}
    assert "Showing 18 of 36 templates." in page


def test_templates_filter_by_treatment_channel_and_language(staff_client: TestClient) -> None:
    page = staff_client.get("/templates?treatment=microneedling&channel=sms&lang=fr").text
    assert _cards(page) == [
        "Microneedling · Day 1 · SMS · French",
        "Microneedling · Day 3 · SMS · French",
        "Microneedling · Day 7 · SMS · French",
    ]
    assert '<option value="microneedling" selected>' in page
    assert len(_cards(staff_client.get("/templates?treatment=all").text)) == 36
    nothing = staff_client.get("/templates?treatment=tattoo-removal").text
    assert _cards(nothing) == []
    assert "No templates match" in nothing


def test_each_template_text_box_can_take_focus_and_has_a_name(staff_client: TestClient) -> None:
    page = staff_client.get("/templates?treatment=all").text
    boxes = re.findall(r'<pre class="body" tabindex="0" role="region" aria-label="([^"]+)"', page)
    assert len(boxes) == 36
    assert "Microneedling · Day 3 · Email · English: text" in boxes
