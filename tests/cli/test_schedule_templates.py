"""`followup schedule preview` and `followup templates check`, driven through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from followup.cli import _register, app

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "messages"
BEFORE_TREATMENT = "2026-03-07T12:00-07:00"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def _preview(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["schedule", "preview", *args])
    return result.exit_code, result.stdout, result.stderr


# --- schedule preview --------------------------------------------------------------


def test_preview_json_gives_utc_and_local_times_per_channel(runner: CliRunner) -> None:
    code, out, _ = _preview(
        runner,
        "--treated-at",
        "2026-03-07T14:00",
        "--tz",
        "America/Edmonton",
        "--now",
        BEFORE_TREATMENT,
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["step"], r["channel"]) for r in rows] == [
        ("day1", "sms"),
        ("day1", "email"),
        ("day3", "sms"),
        ("day3", "email"),
        ("day7", "sms"),
        ("day7", "email"),
    ]
    assert [r["send_at"] for r in rows[::2]] == [
        "2026-03-08T16:00:00Z",
        "2026-03-10T16:00:00Z",
        "2026-03-14T16:00:00Z",
    ]
    assert rows[0]["local_time"] == "2026-03-08T10:00:00-06:00"
    assert not any(r["expired"] for r in rows)


def test_preview_of_a_past_treatment_marks_missed_steps_expired(runner: CliRunner) -> None:
    code, out, _ = _preview(
        runner,
        "--treated-at",
        "2026-03-07T14:00",
        "--tz",
        "America/Edmonton",
        "--now",
        "2026-03-11T12:00",
        "--json",
    )
    assert code == 0
    expired = {(r["step"], r["expired"]) for r in json.loads(out)}
    assert expired == {("day1", True), ("day3", False), ("day7", False)}


def test_preview_send_time_and_plan_options(runner: CliRunner) -> None:
    code, out, _ = _preview(
        runner,
        "--treated-at",
        "2026-06-01T15:00+02:00",
        "--tz",
        "Europe/Paris",
        "--plan",
        "chemical-peel",
        "--send-time",
        "09:30",
        "--now",
        "2026-06-01T15:00+02:00",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert sorted({r["step"] for r in rows}) == ["day1", "day2", "day5"]
    assert rows[0]["local_time"] == "2026-06-02T09:30:00+02:00"


def test_preview_table_shows_local_and_utc(runner: CliRunner) -> None:
    code, out, _ = _preview(
        runner,
        "--treated-at",
        "2026-03-07T14:00",
        "--tz",
        "America/Edmonton",
        "--now",
        BEFORE_TREATMENT,
    )
    assert code == 0
    assert "2026-03-08 10:00 MDT" in out
    assert "2026-03-08 16:00Z" in out


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--treated-at", "2026-03-07T14:00", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["--treated-at", "2026-03-07T14:00", "--tz", "../../etc/passwd"], "unknown time zone"),
        (["--treated-at", "next tuesday", "--tz", "UTC"], "not an ISO 8601"),
        (["--treated-at", "2026-03-07T14:00", "--tz", "UTC", "--plan", "botox"], "unknown plan"),
        (["--treated-at", "2026-03-07T14:00", "--tz", "UTC", "--send-time", "7pm"], "HH:MM"),
        (["--treated-at", "2026-03-07T14:00", "--tz", "UTC", "--send-time", "10:00Z"], "HH:MM"),
        (["--treated-at", "2026-03-07T14:00", "--tz", "America"], "unknown time zone"),
        (["--treated-at", "2026-03-07", "--tz", "UTC", "--now", "soon"], "--now"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    runner: CliRunner, args: list[str], complaint: str
) -> None:
    code, out, err = _preview(runner, *args)
    assert code == 2
    assert complaint in err
    assert err.count("\n") == 1
    assert out == ""


# --- templates check ---------------------------------------------------------------


def test_check_json_lists_every_rendered_template(runner: CliRunner) -> None:
    result = runner.invoke(app, ["templates", "check", "--json"])
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    plan_items = [i for i in items if i["plan"] != "_replies"]
    assert len(plan_items) == 36  # 2 plans x 3 steps x 2 channels x 3 languages
    sms = [i for i in plan_items if i["channel"] == "sms"]
    emails = [i for i in plan_items if i["channel"] == "email"]
    assert {i["lang"] for i in items} == {"en", "fr", "es"}
    assert all(i["encoding"] == "GSM-7" and i["segments"] <= 3 for i in sms)
    assert all(i["budget"] == "GSM-7 ≤3" for i in sms)
    assert all(i["subject"] and i["body"] and i["html"] for i in emails)
    assert "microneedling/day1.sms.en.txt" in {i["template"] for i in sms}
    assert result.stderr == ""


def test_check_renders_every_automatic_reply_in_every_language(runner: CliRunner) -> None:
    result = runner.invoke(app, ["templates", "check", "--json"])
    replies = [i for i in json.loads(result.stdout) if i["plan"] == "_replies"]
    assert {(i["step"], i["lang"]) for i in replies} >= {
        (name, lang) for name in ("opt_out", "help", "ack", "worse") for lang in ("en", "fr", "es")
    }
    assert {i["step"] for i in replies} >= {"ack (no clinic)", "delayed (no clinic)"}
    assert all(i["encoding"] == "GSM-7" and i["segments"] <= 2 for i in replies)
    assert all(i["budget"] == "GSM-7 ≤2" for i in replies)


def test_check_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["templates", "check"])
    assert result.exit_code == 0
    assert "microneedling/day7" in result.stdout
    assert "GSM-7" in result.stdout


def _broken_copy(tmp_path: Path, relative: str, content: str) -> Path:
    templates = tmp_path / "messages"
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATES, templates)
    (templates / relative).write_text(content)
    return templates


def test_check_fails_on_a_typo_and_names_the_file(runner: CliRunner, tmp_path: Path) -> None:
    templates = _broken_copy(
        tmp_path, "chemical-peel/day2.sms.fr.txt", "Bonjour {{ patient.frist_name }}\n"
    )
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "chemical-peel/day2.sms.fr.txt line 1" in error
    assert "frist_name" in error


def test_check_fails_on_an_sms_over_three_segments(runner: CliRunner, tmp_path: Path) -> None:
    templates = _broken_copy(tmp_path, "microneedling/day3.sms.en.txt", "word " * 100)
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "microneedling/day3.sms.en.txt: 4 SMS segments" in result.stderr


def test_check_fails_on_ucs2_and_names_the_culprit(runner: CliRunner, tmp_path: Path) -> None:
    templates = _broken_copy(tmp_path, "microneedling/day3.sms.fr.txt", "Ça va ? Et vous, ça va ?")
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    # Only the culprit is named: capital Ç is in the GSM table, lowercase ç is not.
    assert "error: microneedling/day3.sms.fr.txt: UCS-2, not GSM-7 because of ['ç']" in (
        result.stderr
    )


def test_check_fails_on_a_spanish_accent_gsm7_lacks(runner: CliRunner, tmp_path: Path) -> None:
    # é and ñ travel in GSM-7; á, í, ó and ú make the whole text UCS-2.
    ok = _broken_copy(tmp_path / "ok", "chemical-peel/day5.sms.es.txt", "¿Qué tal? Mañana.\n")
    assert runner.invoke(app, ["templates", "check", "--templates-dir", str(ok)]).exit_code == 0
    bad = _broken_copy(tmp_path / "bad", "chemical-peel/day5.sms.es.txt", "Un día más.\n")
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(bad)])
    assert result.exit_code == 1
    assert "chemical-peel/day5.sms.es.txt: UCS-2, not GSM-7 because of ['á', 'í']" in result.stderr


def test_check_fails_on_a_reply_over_two_segments(runner: CliRunner, tmp_path: Path) -> None:
    templates = _broken_copy(tmp_path, "_replies/thanks.sms.es.txt", "gracias " * 40)
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "error: _replies/thanks.sms.es.txt: 3 SMS segments (max 2)" in result.stderr


def test_check_fails_on_a_broken_reply_and_names_the_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    templates = _broken_copy(tmp_path, "_replies/ack.sms.fr.txt", "{{ clinic.horaires }}\n")
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "_replies/ack.sms.fr.txt" in result.stderr


def test_check_reports_a_malformed_plan(runner: CliRunner, tmp_path: Path) -> None:
    templates = _broken_copy(tmp_path, "microneedling/plan.toml", "title = ")
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "microneedling/plan.toml" in result.stderr


def test_check_missing_directory_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_check_fails_when_a_language_misses_a_step(runner: CliRunner, tmp_path: Path) -> None:
    templates = tmp_path / "messages"
    shutil.copytree(TEMPLATES, templates)
    (templates / "chemical-peel" / "day5.sms.fr.txt").unlink()
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "error: chemical-peel/day5: no sms template in 'fr'" in result.stderr


def test_check_fails_when_a_plan_does_not_speak_a_patient_language(
    runner: CliRunner, tmp_path: Path
) -> None:
    # A Spanish-speaking patient can be enrolled in any plan: each must have Spanish.
    templates = tmp_path / "messages"
    shutil.copytree(TEMPLATES, templates)
    for path in (templates / "chemical-peel").glob("*.es.*"):
        path.unlink()
    result = runner.invoke(app, ["templates", "check", "--templates-dir", str(templates)])
    assert result.exit_code == 1
    assert "error: chemical-peel/day1: no sms template in 'es'" in result.stderr
    assert "error: chemical-peel/day5: no email template in 'es'" in result.stderr
