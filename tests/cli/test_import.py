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
from tests.enrollment.import_support import build_csv

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
    assert dry.exit_code == 1, dry.output  # some rows refused
    assert "45 would be imported (dry run)" in dry.output
    assert _count(cli_env, Treatment.id) == 0

    real = CliRunner().invoke(app, base)
    assert "45 imported" in real.output
    for line in csv_file.bad_lines:
        assert f"│ {line} " in real.output
    assert _count(cli_env, Treatment.id) == 45


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
