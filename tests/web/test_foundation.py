"""The first web pages: health, sign-in, and the patient list with schedules."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import AuditEvent
from tests.factories import STAFF_PASSWORD, make_clinic, make_enrollment, make_staff
from tests.webapp import csrf_from, make_client, sign_in


@pytest.fixture
def client(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> TestClient:
    with session_factory.begin() as session:
        clinic = make_clinic(session)
        make_staff(session, clinic)
        make_enrollment(session, clinic, now=clock.now())
        other = make_clinic(session, name="Other Clinic", sender_number="+14035550177")
        make_enrollment(session, other, now=clock.now(), first_name="Zed", phone="+17805550111")
    return make_client(engine, session_factory, clock, tmp_path)


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",  # no worker is alive, but nothing is due either
        "database": "ok",
        "workers": 0,
        "spooled_replies": 0,
    }


def test_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/patients", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/patients"


def test_sign_in_shows_own_clinic_patients_in_local_time(client: TestClient) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    page = client.get("/patients")
    assert page.status_code == 200
    assert "Maya" in page.text
    assert "Zed" not in page.text  # another clinic's patient
    assert "Sun Mar 8, 10:00" in page.text  # day 1, Edmonton time after the DST change
    cookie = page.headers.get("set-cookie") or client.cookies.get("followup_session")
    assert cookie


def test_session_cookie_is_httponly_lax_and_secure(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "nurse@example.com", "password": STAFF_PASSWORD,
              "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )  # fmt: skip
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" in header


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": "nurse@example.com", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 403


def test_patient_list_view_is_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    client.get("/patients")
    with session_factory() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "patient.list" in actions


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    page = client.get("/patients")
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_favicon_is_answered_and_linked(visitor_client: TestClient) -> None:
    icon = visitor_client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in visitor_client.get("/login").text
