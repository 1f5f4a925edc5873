"""`followup enroll --csv` and `followup token`: the commands an operator runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from followup.cli import _register, app
from followup.core.db import make_engine
from followup.models import ApiToken, Treatment
from tests.enrollment.import_support import (
    BAD_CELLS,
    CELLS_HEADER,
    GOOD_ROW,
    bad_cells_csv,
    build_csv,
)

_register()


def _count(url: URL, column: object) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count(column))) or 0  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_csv_dry_run_then_import(cli_env: URL, tmp_path: Path) -> None:
    csv_file = build_csv(rows=50, bad_every=10, now=datetime.now(UTC), in_db=[])
    path = tmp_path / "treatments.csv"
    path.write_text(csv_file.text)
    base = ["enroll", "--clinic", "bow-river", "--csv", str(path)]

    dry = CliRunner().invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 2, dry.output  # some rows refused
    assert "45 would be imported (dry run)" in dry.output
    assert _count(cli_env, Treatment.id) == 0

    real = CliRunner().invoke(app, base)
    assert "45 imported" in real.output
    for line in csv_file.bad_lines:
        assert f"{path}:{line}: " in real.stderr
    assert _count(cli_env, Treatment.id) == 45


def test_each_refused_row_is_one_line_and_the_exit_code_is_2(cli_env: URL, tmp_path: Path) -> None:
    path = tmp_path / "treatments.csv"
    path.write_text(bad_cells_csv(), encoding="utf-8")
    result = CliRunner().invoke(app, ["enroll", "--clinic", "bow-river", "--csv", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    refused = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(refused) == len(BAD_CELLS)
    for (line, field, _), shown in zip(BAD_CELLS, refused, strict=True):
        assert shown.startswith(f"{path}:{line}: {field}: ")
    assert f"{path}: 7 rows, 1 imported, 6 refused" in result.stdout
    assert _count(cli_env, Treatment.id) == 1


def test_a_file_the_reader_cannot_take_is_one_line_and_exit_2(cli_env: URL, tmp_path: Path) -> None:
    path = tmp_path / "treatments.csv"
    path.write_text(CELLS_HEADER + GOOD_ROW + "\nGus," + "x" * 140_000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["enroll", "--clinic", "bow-river", "--csv", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "line 3" in result.stderr
    assert _count(cli_env, Treatment.id) == 0


def test_enroll_names_every_bad_option_on_its_own_line(cli_env: URL) -> None:
    args = ["enroll", "--clinic", "bow-river", "--first-name", "Ma\x1bya", "--phone", "12"]
    result = CliRunner().invoke(app, [*args, "--treated-at", "0001-01-01T10:00-07:00"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    fields = [line.split(":", 2)[1].strip() for line in result.stderr.splitlines()]
    assert fields == ["first_name", "phone", "treated_at"]
    assert _count(cli_env, Treatment.id) == 0


def test_enroll_warns_of_the_same_name_on_another_number(cli_env: URL) -> None:
    base = ["enroll", "--clinic", "bow-river", "--first-name", "Maya", "--last-name", "Rossi"]
    when = ["--treated-at", "2026-03-07T14:00"]
    first = CliRunner().invoke(app, [*base, "--phone", "403 555 0101", *when])
    assert first.exit_code == 0, first.output
    assert "warning" not in first.output
    second = CliRunner().invoke(app, [*base, "--phone", "403 555 0102", *when])
    assert second.exit_code == 0, second.output
    assert "warning: A patient with the same name is enrolled" in second.output
    assert _count(cli_env, Treatment.id) == 2


def test_single_patient_options_are_required_without_csv(cli_env: URL) -> None:
    result = CliRunner().invoke(app, ["enroll", "--clinic", "bow-river"])
    assert result.exit_code == 2
    assert "--csv" in result.output


def test_token_create_list_revoke(cli_env: URL) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "--clinic", "bow-river", "--name", "Jane"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("fu_")
    listed = runner.invoke(app, ["token", "list", "--clinic", "bow-river"])
    assert secret[:11] in listed.output
    assert secret not in listed.output
    revoked = runner.invoke(app, ["token", "revoke", "--clinic", "bow-river", secret[:11]])
    assert revoked.exit_code == 0, revoked.output
    assert _count(cli_env, ApiToken.revoked_at) == 1
