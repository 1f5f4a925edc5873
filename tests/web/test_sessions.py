"""Server-side sessions: the cookie carries only a session id, and the server decides whether
it still opens anything. Sign-out, deactivation and a password change end sessions for good;
a session ends when idle, and in any case 12 hours after sign-in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import AuditEvent, Role, StaffUser
from tests.factories import STAFF_PASSWORD, make_staff
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from, make_client, sign_in

COOKIE = "followup_session"
NEW_PASSWORD = "another-long-password"


def copied_browser(client: TestClient) -> TestClient:
    """A second browser holding a copy of the first one's session cookie."""
    other = TestClient(client.app, base_url=str(client.base_url))
    cookie = client.cookies.get(COOKIE)
    assert cookie, "the first browser is not signed in"
    other.cookies.set(COOKIE, cookie)
    return other


def second_browser(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url=str(client.base_url))


def is_signed_out(client: TestClient, path: str = "/today") -> bool:
    response = client.get(path, follow_redirects=False)
    if response.status_code == 200:
        return False
    assert response.status_code == 303, (path, response.status_code)
    return bool(response.headers["location"].startswith("/login"))


def add_plain_staff(session_factory: sessionmaker[Session], rows: ClinicRows) -> int:
    with session_factory.begin() as session:
        clinic = session.merge(rows.clinic)
        return make_staff(session, clinic, email="plain@a.example").id


def test_a_copied_cookie_opens_nothing_after_sign_out(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    patient_page = f"/patients/{two_clinics[0].patient.id}"
    copy = copied_browser(staff_client)
    assert not is_signed_out(copy, patient_page)
    token = csrf_from(staff_client.get("/today").text)
    staff_client.post("/logout", data={"csrf_token": token})
    assert is_signed_out(staff_client, patient_page)
    assert is_signed_out(copy, patient_page)


def test_deactivating_an_account_ends_its_sessions_even_once_reactivated(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    plain_id = add_plain_staff(session_factory, two_clinics[0])
    plain = second_browser(staff_client)
    sign_in(plain, "plain@a.example", STAFF_PASSWORD)
    copy = copied_browser(plain)
    token = csrf_from(staff_client.get("/settings").text)
    for active in ("", "yes"):  # deactivate, then reactivate
        saved = staff_client.post(
            f"/settings/staff/{plain_id}",
            data={"csrf_token": token, "role": "staff", "active": active},
            follow_redirects=False,
        )
        assert saved.status_code == 303
    assert is_signed_out(plain)
    assert is_signed_out(copy)
    sign_in(plain, "plain@a.example", STAFF_PASSWORD)  # a new sign-in works again
    assert not is_signed_out(plain)


def test_a_session_ends_after_the_idle_time(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    two_clinics: tuple[ClinicRows, ClinicRows],
) -> None:
    client = make_client(engine, session_factory, clock, tmp_path, session_idle_minutes=30)
    sign_in(client, two_clinics[0].staff.email, STAFF_PASSWORD)
    clock.advance(timedelta(minutes=29))
    assert not is_signed_out(client)  # a request restarts the idle time
    clock.advance(timedelta(minutes=29))
    assert not is_signed_out(client)
    clock.advance(timedelta(minutes=31))
    assert is_signed_out(client)


def test_the_queue_polling_keeps_a_session_only_until_the_end_of_the_shift(
    staff_client: TestClient, clock: FixedClock
) -> None:
    poll = {"HX-Request": "true"}
    for _ in range(35):  # a tablet left on the queue: 11 h 40 of polls, 20 minutes apart
        clock.advance(timedelta(minutes=20))
        assert staff_client.get("/escalations/rows", headers=poll).status_code == 200
    clock.advance(timedelta(minutes=21))  # 12 h 01 after sign-in, idle only 21 minutes
    assert staff_client.get("/escalations/rows", headers=poll).status_code == 401
    assert is_signed_out(staff_client)


def test_changing_your_password_ends_your_other_sessions_and_keeps_this_one(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    email = two_clinics[0].staff.email
    phone = second_browser(staff_client)
    sign_in(phone, email, STAFF_PASSWORD)
    token = csrf_from(staff_client.get("/account").text)
    changed = staff_client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": STAFF_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert not is_signed_out(staff_client)
    assert is_signed_out(phone)
    sign_in(phone, email, NEW_PASSWORD)
    with session_factory() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "account.password.change" in actions


def test_changing_your_password_needs_the_current_one(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    token = csrf_from(staff_client.get("/account").text)
    refused = staff_client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not-my-password",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 422
    assert "current password" in refused.text
    signed_out = second_browser(staff_client)
    sign_in(signed_out, two_clinics[0].staff.email, STAFF_PASSWORD)  # unchanged


def test_an_admin_password_reset_ends_the_sessions_and_forces_a_new_password(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    plain_id = add_plain_staff(session_factory, two_clinics[0])
    plain = second_browser(staff_client)
    sign_in(plain, "plain@a.example", STAFF_PASSWORD)
    token = csrf_from(staff_client.get("/settings").text)
    reset = staff_client.post(
        f"/settings/staff/{plain_id}/reset-password", data={"csrf_token": token}
    )
    assert reset.status_code == 200
    assert reset.headers["cache-control"] == "no-store"
    temporary = _shown_password(reset.text)
    assert is_signed_out(plain)
    sign_in(plain, "plain@a.example", temporary)
    blocked = plain.get("/today", follow_redirects=False)
    assert blocked.status_code == 303
    assert blocked.headers["location"] == "/account"
    token = csrf_from(plain.get("/account").text)
    plain.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert not is_signed_out(plain)
    with session_factory() as session:
        user = session.get(StaffUser, plain_id)
        assert user is not None
        assert user.role is Role.STAFF
        events = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == plain_id)
        ).all()
    assert "staff.password.reset" in events


def _shown_password(html: str) -> str:
    marker = 'data-testid="temporary-password">'
    assert marker in html, "the page shows no temporary password"
    return html.split(marker, 1)[1].split("<", 1)[0].strip()
