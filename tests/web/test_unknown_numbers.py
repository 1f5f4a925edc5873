"""The unknown-numbers page: texts from numbers that match no patient, for this clinic only;
and enrolling such a number from it, a STOP from it included."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import AuditEvent, InboundMessage, Patient
from tests.web_fixtures import ClinicRows, make_reply, make_unknown_text
from tests.webapp import csrf_from, preview_digest

UNKNOWN = "+14035550142"


def test_lists_this_clinics_unknown_numbers_only(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    mine, theirs = two_clinics
    now = clock.now()
    with session_factory.begin() as session:
        make_unknown_text(session, session.merge(mine.clinic), UNKNOWN, "Do you do peels?", now)
        make_unknown_text(session, session.merge(theirs.clinic), "+17805550188", "Theirs", now)
        make_reply(session, session.merge(mine.patient), "Feeling better", now)
    page = staff_client.get("/inbox/unknown")
    assert page.status_code == 200
    assert "Do you do peels?" in page.text
    assert "(403) 555-0142" in page.text
    assert "Sat Mar 7, 14:00" in page.text  # 21:00 UTC in Edmonton
    assert "Theirs" not in page.text
    assert "(780) 555-0188" not in page.text
    assert "Feeling better" not in page.text  # a patient's reply lives on their page
    assert 'href="/enroll?phone=%2B14035550142"' in page.text
    assert 'href="/inbox/unknown" aria-current="page"' in page.text


def test_urgent_texts_are_flagged(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory.begin() as session:
        clinic = session.merge(two_clinics[0].clinic)
        make_unknown_text(session, clinic, UNKNOWN, "fever and pus", clock.now(), urgent=True)
        make_unknown_text(session, clinic, "+14035550143", "hello", clock.now())
    page = staff_client.get("/inbox/unknown").text
    assert page.count('data-testid="urgent-row"') == 1
    assert "1 text with a red flag" in page


def test_a_purged_body_is_not_shown(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory.begin() as session:
        text = make_unknown_text(
            session, session.merge(two_clinics[0].clinic), UNKNOWN, "secret", clock.now()
        )
        text.body = None
        text.body_purged_at = clock.now()
    page = staff_client.get("/inbox/unknown").text
    assert "purged" in page
    assert "secret" not in page


def test_pages_of_fifty_newest_first(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory.begin() as session:
        clinic = session.merge(two_clinics[0].clinic)
        for n in range(55):
            at = clock.now() - timedelta(minutes=n)
            make_unknown_text(session, clinic, f"+1403555{3000 + n:04d}", f"text #{n}.", at)
    first = staff_client.get("/inbox/unknown").text
    second = staff_client.get("/inbox/unknown?page=2").text
    assert first.index("text #0.") < first.index("text #49.")
    assert "text #50." not in first
    assert "Page 1 of 2 · 55 texts" in first
    assert [f"text #{n}." in second for n in (50, 54, 49)] == [True, True, False]
    assert 'href="?page=1"' in second


def test_the_view_is_audited(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    staff_client.get("/inbox/unknown?page=3")
    with session_factory() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "inbox.unknown.list")
        ).one()
    assert (event.actor, event.clinic_id, event.detail) == (
        two_clinics[0].staff.email,
        two_clinics[0].clinic.id,
        {"page": 3},
    )


def test_signed_out_redirects_to_sign_in(visitor_client: TestClient) -> None:
    response = visitor_client.get("/inbox/unknown", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_enrolling_a_number_that_texted_stop_enrolls_it_opted_out(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory.begin() as session:
        clinic = session.merge(two_clinics[0].clinic)
        make_unknown_text(
            session, clinic, UNKNOWN, "STOP", clock.now() - timedelta(days=1), intent="opt_out"
        )
    form = staff_client.get("/enroll?phone=%2B14035550142").text
    assert 'value="+14035550142"' in form
    data = {
        "csrf_token": csrf_from(form),
        "first_name": "Nora",
        "phone": UNKNOWN,
        "treated_at": "2026-03-07T13:00",
        "consent": "yes",
    }
    preview = staff_client.post("/enroll", data=data | {"step": "preview"})
    assert 'data-testid="stop-warning"' in preview.text
    confirm = {"step": "confirm", "preview_digest": preview_digest(preview.text)}
    done = staff_client.post("/enroll", data=data | confirm)
    assert done.status_code == 200
    assert "opted out: this number texted STOP" in done.text
    assert 'data-testid="opt-out"><strong>yes</strong>' in done.text
    with session_factory() as session:
        patient = session.scalars(select(Patient).where(Patient.first_name == "Nora")).one()
        assert patient.opted_out_at is not None
        # The text keeps the patient it was received for (none); the page links the new one.
        assert session.scalars(select(InboundMessage.patient_id)).all().count(None) == 1
    listed = staff_client.get("/inbox/unknown").text
    assert f'now <a href="/patients/{patient.id}">Nora</a>' in listed
    assert "Enroll this number" not in listed
