"""`followup report` and `followup purge` from the command line."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from followup.cli import app
from followup.core.db import make_engine
from followup.models import Clinic
from tests.enrollment.import_support import build_csv
from tests.reporting.seed import (
    FORMULA_NAME,
    SINCE,
    UNTIL,
    formula_cells,
    name_practitioner,
    seed_history,
)


def _import(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(build_csv(rows=10, bad_every=100, now=datetime.now(UTC), in_db=[]).text)
    result = CliRunner().invoke(app, ["enroll", "--clinic", "bow-river", "--csv", str(path)])
    assert result.exit_code == 0, result.output


def test_report_json_csv_and_tables(cli_env: URL, tmp_path: Path) -> None:
    _import(tmp_path)
    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    base = ["report", "--clinic", "bow-river", "--since", since]
    as_json = CliRunner().invoke(app, [*base, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["opt_outs"] == {"patients": 10, "opted_out": 0, "rate": 0.0}
    as_csv = CliRunner().invoke(app, [*base, "--csv"])
    assert as_csv.output.splitlines()[0] == "section,group,channel,metric,value"
    assert "opt_outs,,,patients,10" in as_csv.output
    tables = CliRunner().invoke(app, base)
    assert "Opt-outs: 0 of 10" in tables.output


def test_report_csv_writes_formula_like_names_as_text(cli_env: URL) -> None:
    engine = make_engine(cli_env)
    try:
        with Session(engine) as session, session.begin():
            clinic = session.scalars(select(Clinic).where(Clinic.slug == "bow-river")).one()
            seed_history(session, clinic, random.Random(6))
            name_practitioner(session, "Dr Adams", FORMULA_NAME)
    finally:
        engine.dispose()
    period = ["--since", SINCE.date().isoformat(), "--until", UNTIL.date().isoformat()]
    result = CliRunner().invoke(app, ["report", "--clinic", "bow-river", *period, "--csv"])
    assert result.exit_code == 0, result.output
    assert "'" + FORMULA_NAME.replace('"', '""') in result.output
    assert formula_cells(result.output) == []


def test_report_refuses_a_bad_date(cli_env: URL) -> None:
    result = CliRunner().invoke(app, ["report", "--clinic", "bow-river", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "--since" in result.output


def test_purge_is_a_dry_run_unless_told(cli_env: URL) -> None:
    dry = CliRunner().invoke(app, ["purge", "--older-than", "30"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output
    real = CliRunner().invoke(app, ["purge", "--older-than", "30", "--execute"])
    assert "purged." in real.output
