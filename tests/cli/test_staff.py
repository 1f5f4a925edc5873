"""`followup staff reset-password EMAIL` and `followup staff unlock EMAIL`: what an admin does
on the settings page, from the command line, audited as "cli"; bad input is one line on
stderr and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from followup.admin import throttle
from followup.admin.sign_in import SignedIn, SignInRefused, sign_in
from followup.cli import _register, app
from followup.core.db import make_engine, make_session_factory
from followup.models import AuditEvent, StaffUser, ThrottleScope

_register()
EMAIL = "nurse@example.com"
PASSWORD = "a-long-cli-password"
ADDRESS = "198.51.100.20"


@pytest.fixture
def sessions(cli_env: URL) -> Iterator[sessionmaker[Session]]:
    """The CLI's database, with one staff account added through the CLI."""
    added = CliRunner().invoke(
        app,
        ["staff", "add", "--clinic", "bow-river", "--email", EMAIL, "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    engine = make_engine(cli_env)
    yield make_session_factory(engine)
    engine.dispose()


def attempt(sessions: sessionmaker[Session], password: str) -> SignedIn | None:
    """A sign-in now: the command line reads the real clock, so these do too."""
    try:
        return sign_in(sessions, EMAIL, password, ADDRESS, datetime.now(UTC))
    except SignInRefused:
        return None


def hold_back(sessions: sessionmaker[Session]) -> None:
    """Twenty failures counted against the email just now: held back for 15 minutes."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        failures = throttle.counter(session, ThrottleScope.ACCOUNT, EMAIL, now)
        for _ in range(20):
            throttle.count_failure(failures, now)


def audit_actions(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEvent))]


def test_unlock_lets_a_held_back_account_sign_in_at_once(
    sessions: sessionmaker[Session],
) -> None:
    hold_back(sessions)
    assert attempt(sessions, PASSWORD) is None  # held back, right password or not
    result = CliRunner().invoke(app, ["staff", "unlock", "Nurse@Example.com"])
    assert result.exit_code == 0, result.output
    assert f"{EMAIL}: unlocked" in result.output
    assert attempt(sessions, PASSWORD) is not None
    assert ("cli", "staff.unlock") in audit_actions(sessions)


def test_unlocking_an_account_that_is_not_held_back_says_so(
    sessions: sessionmaker[Session],
) -> None:
    result = CliRunner().invoke(app, ["staff", "unlock", EMAIL])
    assert result.exit_code == 0, result.output
    assert "was not held back" in result.output


def test_reset_password_prints_a_temporary_password_that_must_be_replaced(
    sessions: sessionmaker[Session],
) -> None:
    before = attempt(sessions, PASSWORD)
    assert before is not None
    assert not before.password_change_required
    result = CliRunner().invoke(app, ["staff", "reset-password", EMAIL])
    assert result.exit_code == 0, result.stderr
    temporary = result.stdout.strip()
    assert len(temporary) >= 12
    assert "shown once" in result.stderr
    assert attempt(sessions, PASSWORD) is None
    after = attempt(sessions, temporary)
    assert after is not None
    assert after.password_change_required
    with sessions() as session:
        user = session.scalars(select(StaffUser)).one()
        assert temporary not in user.password_hash
    assert ("cli", "staff.password.reset") in audit_actions(sessions)


@pytest.mark.parametrize("command", ["unlock", "reset-password"])
def test_an_unknown_email_is_one_line_and_exit_code_2(
    sessions: sessionmaker[Session], command: str
) -> None:
    result = CliRunner().invoke(app, ["staff", command, "nobody@example.com"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: no staff account for 'nobody@example.com'"
    ]
    assert audit_actions(sessions) == []
