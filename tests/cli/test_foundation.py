"""The command line a newcomer uses first: migrate, add a clinic and staff, enroll."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from followup.cli import _register, app
from followup.core.db import make_engine
from followup.core.passwords import verify_password
from followup.models import Language, Patient, ScheduledMessage, StaffUser

_register()


def _count(url: URL, model: type) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


ENROLL = [
    "enroll", "--clinic", "bow-river", "--first-name", "Maya", "--phone", "403 555 0101",
    "--treatment", "microneedling", "--treated-at", "2026-03-07T14:00",
]  # fmt: skip


def test_enroll_prints_the_schedule_in_clinic_time(cli_env: URL) -> None:
    result = CliRunner().invoke(app, ENROLL)
    assert result.exit_code == 0, result.output
    assert "day1" in result.output
    assert "2026-03-08 10:00 MDT" in result.output  # after the spring-forward
    assert "2026-03-14 10:00 MDT" in result.output
    assert _count(cli_env, ScheduledMessage) == 3


def test_enrolling_twice_does_not_make_a_second_schedule(cli_env: URL) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ENROLL).exit_code == 0
    again = runner.invoke(app, ENROLL)
    assert again.exit_code == 2
    assert "already enrolled" in again.output
    assert _count(cli_env, ScheduledMessage) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--phone", "555"), "phone"),
        (("--treatment", "tattoo"), "treatment"),
        (("--treated-at", "2999-01-01T10:00"), "future"),
        (("--treated-at", "yesterday"), "ISO 8601"),
        (("--clinic", "nowhere"), "no clinic"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    cli_env: URL, change: tuple[str, str], message: str
) -> None:
    args = list(ENROLL)
    args[args.index(change[0]) + 1] = change[1]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _count(cli_env, Patient) == 0


def test_enroll_takes_spanish_and_refuses_an_unknown_language(cli_env: URL) -> None:
    unknown = CliRunner().invoke(app, [*ENROLL, "--lang", "de"])
    assert unknown.exit_code == 2
    assert "language: 'de' is not a language we write messages in (use one of: en, fr, es)" in (
        " ".join(unknown.output.split())
    )
    assert _count(cli_env, Patient) == 0
    spanish = CliRunner().invoke(app, [*ENROLL, "--lang", "ES"])
    assert spanish.exit_code == 0, spanish.output
    engine = make_engine(cli_env)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(Patient.language)) is Language.ES
    finally:
        engine.dispose()


def test_clinics_are_added_and_listed_with_their_office_hours(cli_env: URL) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["clinic", "add", "--name", "Sur", "--tz", "America/Edmonton", "--phone", "4035550135",
         "--office-days", "mon-wed,sat", "--office-hours", "08:30-12:00"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "reads messages Monday to Wednesday and Saturday, 8:30 am to noon" in added.output
    bow, sur = runner.invoke(app, ["clinic", "list"]).output.splitlines()
    assert bow.startswith("bow-river")
    assert bow.endswith("America/Edmonton        Monday to Friday, 9 am to 5 pm")
    assert sur.startswith("sur")
    assert sur.endswith("Monday to Wednesday and Saturday, 8:30 am to noon")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--office-days", "fri-mon", "--office-days: 'fri-mon' runs backwards"),
        ("--office-days", "weekdays", "--office-days: 'weekdays' is not a day"),
        ("--office-hours", "9-5", "--office-hours: '9-5' is not a range of times"),
        ("--office-hours", "17:00-09:00", "--office-hours: office hours must close later"),
    ],
)
def test_bad_office_hours_for_a_clinic_are_refused(
    cli_env: URL, option: str, value: str, message: str
) -> None:
    args = ["clinic", "add", "--name", "X", "--tz", "America/Edmonton", "--phone", "4035550136"]
    result = CliRunner().invoke(app, [*args, option, value])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_time_zone_for_a_clinic_is_refused(cli_env: URL) -> None:
    result = CliRunner().invoke(
        app, ["clinic", "add", "--name", "X", "--tz", "Mars/Olympus", "--phone", "4035550134"]
    )
    assert result.exit_code == 2
    assert "unknown time zone" in result.output


def test_staff_add_reads_password_from_stdin_and_stores_only_a_hash(cli_env: URL) -> None:
    result = CliRunner().invoke(
        app,
        ["staff", "add", "--clinic", "bow-river", "--email", "Nurse@Example.com", "--role",
         "admin", "--password-stdin"],
        input="correct horse battery\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    engine = make_engine(cli_env)
    with engine.connect() as conn:
        stored = conn.execute(select(StaffUser.email, StaffUser.password_hash)).one()
    engine.dispose()
    assert stored.email == "nurse@example.com"
    assert stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, "correct horse battery")


def test_a_wrong_setting_stops_the_command_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOLLOWUP_SMS_TRANSPORT", "pigeon")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "FOLLOWUP_SMS_TRANSPORT" in result.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in (["db", "upgrade"], ["clinic", "add"], ["staff", "add"], ["enroll"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
