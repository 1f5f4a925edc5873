"""Sign-in tells nobody which emails exist, and throttles guessing per account and per client
address with a backoff that wears off, so a wrong attempt now and then never locks a nurse
out for good; an admin can unlock an account at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import AuditEvent, Role, StaffUser
from tests.factories import STAFF_PASSWORD, make_clinic, make_staff
from tests.webapp import csrf_from, make_client, sign_in

NURSE = "nurse@example.com"
FRONT_DESK = "frontdesk@example.com"
ADMIN = "admin@example.com"


@pytest.fixture
def app_client(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> TestClient:
    with session_factory.begin() as session:
        clinic = make_clinic(session)
        make_staff(session, clinic, email=NURSE)
        make_staff(session, clinic, email=FRONT_DESK)
        make_staff(session, clinic, email=ADMIN, role=Role.ADMIN)
    return make_client(engine, session_factory, clock, tmp_path)


def from_address(client: TestClient, address: str) -> TestClient:
    """A browser on another machine (client address) talking to the same app."""
    return TestClient(client.app, base_url=str(client.base_url), client=(address, 40000))


class Browser:
    """One browser at one address, posting the sign-in form."""

    def __init__(self, client: TestClient, address: str) -> None:
        self.client = from_address(client, address)
        self.token = csrf_from(self.client.get("/login").text)

    def attempt(self, email: str, password: str) -> httpx.Response:
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": self.token, "next": "/"},
            follow_redirects=False,
        )
        if response.status_code == 303:  # signed in: the form's token was replaced
            self.token = csrf_from(self.client.get("/login").text)
        return response

    def signs_in(self, email: str, password: str = STAFF_PASSWORD) -> bool:
        response = self.attempt(email, password)
        assert response.status_code in (303, 401), response.status_code
        return response.status_code == 303


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification argon2-cffi performs, in order."""
    calls: list[str] = []
    real_verify = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(hash)[:9])
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def test_unknown_email_wrong_password_and_blocked_account_get_the_same_answer(
    app_client: TestClient,
) -> None:
    attacker = Browser(app_client, "203.0.113.7")
    for _ in range(4):  # quick failures: the account is held back a little while
        assert not attacker.signs_in(NURSE, "guess")
    nurse = Browser(app_client, "198.51.100.20")
    answers = [
        nurse.attempt("nobody@example.com", "whatever-it-is"),
        nurse.attempt(FRONT_DESK, "not-the-password"),
        nurse.attempt(NURSE, STAFF_PASSWORD),  # right password, account held back
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].content == answers[1].content == answers[2].content
    assert "Too many" not in answers[2].text


def test_every_answer_costs_one_argon2_verification(
    app_client: TestClient,
    session_factory: sessionmaker[Session],
    verify_calls: list[str],
) -> None:
    with session_factory.begin() as session:
        front_desk = session.scalars(select(StaffUser).where(StaffUser.email == FRONT_DESK)).one()
        front_desk.active = False
    attacker = Browser(app_client, "203.0.113.7")
    for _ in range(4):
        attacker.attempt(NURSE, "guess")
    browser = Browser(app_client, "198.51.100.20")
    for email, password in (
        ("nobody@example.com", "whatever"),  # unknown email
        (ADMIN, "not-the-password"),  # wrong password
        (NURSE, STAFF_PASSWORD),  # account held back
        (FRONT_DESK, STAFF_PASSWORD),  # deactivated account
        (ADMIN, STAFF_PASSWORD),  # signs in
    ):
        verify_calls.clear()
        browser.attempt(email, password)
        assert len(verify_calls) == 1, (email, verify_calls)


def test_a_wrong_attempt_every_quarter_hour_never_keeps_a_nurse_out(
    app_client: TestClient, clock: FixedClock
) -> None:
    attackers = [Browser(app_client, f"203.0.113.{n}") for n in range(1, 15)]  # 2 h 30
    nurse = Browser(app_client, "198.51.100.20")
    for attacker in attackers[:5]:  # enough failures, from several machines, for a long hold
        attacker.attempt(NURSE, "guess")
        clock.advance(timedelta(seconds=5))
    for attacker in attackers[5:]:
        clock.advance(timedelta(minutes=15, seconds=1))
        assert not attacker.signs_in(NURSE, "guess")
        clock.advance(timedelta(minutes=1))
        assert nurse.signs_in(NURSE)


def test_a_held_back_account_opens_again_by_itself(
    app_client: TestClient, clock: FixedClock
) -> None:
    attacker = Browser(app_client, "203.0.113.7")
    nurse = Browser(app_client, "198.51.100.20")
    for _ in range(4):
        attacker.attempt(NURSE, "guess")
    assert not nurse.signs_in(NURSE)
    clock.advance(timedelta(minutes=1))
    assert nurse.signs_in(NURSE)


def test_many_failures_from_one_address_hold_back_that_address_only(
    app_client: TestClient,
) -> None:
    sprayer = Browser(app_client, "203.0.113.7")
    for n in range(12):  # one guess at each of many emails: no single account adds up
        assert not sprayer.signs_in(f"someone{n}@example.com", "Winter2026!")
    assert not sprayer.signs_in(NURSE)  # even the right password, from there
    assert Browser(app_client, "198.51.100.20").signs_in(NURSE)


def test_an_admin_unlocks_a_held_back_account(
    app_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    attacker = Browser(app_client, "203.0.113.7")
    for _ in range(12):
        attacker.attempt(NURSE, "guess")
    nurse = Browser(app_client, "198.51.100.20")
    assert not nurse.signs_in(NURSE)
    admin = from_address(app_client, "198.51.100.21")
    sign_in(admin, ADMIN, STAFF_PASSWORD)
    settings = admin.get("/settings")
    assert "Unlock" in settings.text
    with session_factory() as session:
        nurse_id = session.scalars(select(StaffUser.id).where(StaffUser.email == NURSE)).one()
    unlocked = admin.post(
        f"/settings/staff/{nurse_id}/unlock",
        data={"csrf_token": csrf_from(settings.text)},
        follow_redirects=False,
    )
    assert unlocked.status_code == 303
    assert nurse.signs_in(NURSE)
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.unlock")).one()
    assert (event.actor, event.target_id) == (ADMIN, nurse_id)
