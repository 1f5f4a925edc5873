"""The enroll form: every bad field is named at once beside its field, nothing a person can
type is a server error, and Confirm enrolls exactly the schedule the preview showed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import Patient, ScheduledMessage, Treatment
from tests.webapp import csrf_from

# The clinic's clock reads Sat Mar 7, 14:00 in Edmonton (21:00 UTC).
EDMONTON = ZoneInfo("America/Edmonton")
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "first_name": "Nora",
        "last_name": "Blake",
        "phone": "403 555 0142",
        "email": "",
        "channel": "sms",
        "language": "en",
        "treatment": "microneedling",
        "treated_at": "2026-03-07T13:30",
        "practitioner": "Dr Okafor",
        "consent": "yes",
    }
    form.update(overrides)
    return form


def _submit(client: TestClient, form: dict[str, str], step: str = "preview") -> Response:
    token = csrf_from(client.get("/enroll").text)
    return client.post("/enroll", data={"csrf_token": token, **form, "step": step})


def _confirm(client: TestClient, preview: Response, form: dict[str, str]) -> Response:
    """Press Confirm on `preview` after (maybe) changing the fields to `form`: the page's
    hidden fields go with it, as a browser sends them."""
    hidden = dict(_HIDDEN.findall(preview.text))
    return client.post("/enroll", data={**hidden, **form, "step": "confirm"})


def _treatments(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(Treatment.id))) or 0


def _error_for(page: str, field: str) -> str:
    """The error shown for `field`, checked to be tied to its input for screen readers."""
    error = re.search(rf'<p class="error" id="err-{field}"[^>]*>([^<]+)</p>', page)
    assert error, f"no error shown for {field}"
    control = re.search(rf'<(?:input|select)[^>]* (?:id="{field}")[^>]*>', page)
    assert control, f"no control {field}"
    assert 'aria-invalid="true"' in control.group(0)
    assert f'aria-describedby="err-{field}"' in control.group(0)
    assert re.search(r'class="[^"]*\binvalid\b', control.group(0))
    return error.group(1)


def test_every_bad_field_is_named_at_once_beside_its_field(staff_client: TestClient) -> None:
    bad = _form(
        first_name=" ",
        phone="12",
        channel="both",
        email="nora-at-example",
        treated_at="2026-03-09T10:00",
        consent="",
    )
    page = _submit(staff_client, bad)
    assert page.status_code == 422
    for field in ("first_name", "phone", "email", "treated_at", "consent"):
        assert _error_for(page.text, field)
    assert "future" in _error_for(page.text, "treated_at")
    assert 'data-testid="schedule-preview"' not in page.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Ma\x00ya"),
        ("last_name", "Bl\x1b[2Jake"),
        ("practitioner", "Dr\u202eakafO"),
        ("first_name", "N" * 101),
        ("treated_at", "0001-01-01T10:00"),
        ("treated_at", "1999-12-31T23:59"),
        ("treated_at", "2026-02-30T10:00"),
        ("channel", "fax"),
        ("language", "xx"),
        ("treatment", "../../etc"),
    ],
)
def test_what_cannot_be_stored_is_a_field_error_not_a_server_error(
    staff_client: TestClient, session_factory: sessionmaker[Session], field: str, value: str
) -> None:
    for step in ("preview", "confirm"):
        page = _submit(staff_client, _form(**{field: value}), step)
        assert page.status_code == 422, page.text
        assert _error_for(page.text, field)
    assert _treatments(session_factory) == 2  # the two clinics' own patients


def test_confirm_enrolls_the_previewed_schedule(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    preview = _submit(staff_client, _form())
    assert 'data-testid="schedule-preview"' in preview.text
    done = _confirm(staff_client, preview, _form())
    assert done.status_code == 200
    assert "Nora Blake is enrolled" in done.text
    assert _treatments(session_factory) == 3


def test_confirm_after_the_date_changed_shows_the_new_schedule_instead(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    preview = _submit(staff_client, _form(treated_at="2026-03-07T13:30"))
    assert "Sun Mar 8, 10:00" in preview.text
    changed = _form(treated_at="2026-03-05T13:30")
    again = _confirm(staff_client, preview, changed)
    assert again.status_code == 409
    assert 'data-testid="preview-changed"' in again.text
    assert "Mon Mar 9" not in again.text  # day 1 of the new date was Mar 6, day 3 Mar 8
    assert "Sun Mar 8, 10:00" in again.text
    assert _treatments(session_factory) == 2
    done = _confirm(staff_client, again, changed)
    assert "Nora Blake is enrolled" in done.text
    assert _treatments(session_factory) == 3


def test_confirm_after_a_step_expired_shows_the_new_schedule_instead(
    staff_client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 7, 9, 30, tzinfo=EDMONTON))
    # Day 1 (Mar 5) is late but useful until day 3 goes out, Mar 7 at 10:00.
    form = _form(treated_at="2026-03-04T10:00")
    preview = _submit(staff_client, form)
    assert "too late" not in preview.text
    clock.advance(timedelta(hours=1))  # 10:30: day 3 is due, day 1 is stale
    again = _confirm(staff_client, preview, form)
    assert again.status_code == 409
    assert 'data-testid="preview-changed"' in again.text
    assert "too late" in again.text
    assert _treatments(session_factory) == 2
    assert "is enrolled" in _confirm(staff_client, again, form).text
    with session_factory() as session:
        day1 = session.scalars(
            select(ScheduledMessage)
            .join(Patient, Patient.id == ScheduledMessage.patient_id)
            .where(Patient.first_name == "Nora", ScheduledMessage.step == "day1")
        ).one()
        assert day1.status.value == "expired"


def test_confirm_a_minute_later_enrolls_the_same_schedule(
    staff_client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    form = _form(treated_at="2026-03-05T10:00")  # day 1 goes out as soon as allowed
    preview = _submit(staff_client, form)
    clock.advance(timedelta(minutes=1))
    assert "Nora Blake is enrolled" in _confirm(staff_client, preview, form).text


def test_a_tampered_preview_is_previewed_again(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    preview = _submit(staff_client, _form())
    forged = preview.text.replace('name="preview_digest" value="', 'name="preview_digest" value="x')
    again = _confirm(staff_client, preview.__class__(200, text=forged), _form())
    assert again.status_code == 409
    assert _treatments(session_factory) == 2


def test_the_same_name_treatment_and_day_on_another_number_is_a_warning(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    first = _submit(staff_client, _form())
    assert "is enrolled" in _confirm(staff_client, first, _form()).text
    same_name = _form(first_name="nora", last_name="BLAKE", phone="403 555 0199")
    preview = _submit(staff_client, same_name)
    assert 'data-testid="same-name-warning"' in preview.text
    assert "(403) 555-0142" in preview.text
    other_day = _submit(staff_client, same_name | {"treated_at": "2026-03-06T13:30"})
    assert 'data-testid="same-name-warning"' not in other_day.text
    # A warning, not a refusal: confirming enrolls the second patient.
    assert "is enrolled" in _confirm(staff_client, preview, same_name).text
    assert _treatments(session_factory) == 4
