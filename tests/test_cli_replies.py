"""`followup replies classify`: stdin lines in, one classification per line out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from followup.cli import _register, app

_register()
runner = CliRunner()


def test_json_lines_one_object_per_reply_and_empty_lines_skipped() -> None:
    result = runner.invoke(
        app, ["replies", "classify", "--json"], input="STOP\n\n   \nWORSE, I have a fever\n"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"text": "STOP", "intent": "opt_out", "urgent": False, "matched": ["opt_out:stop"]},
        {
            "text": "WORSE, I have a fever",
            "intent": "worse",
            "urgent": True,
            "matched": ["urgent:fever", "worse:worse"],
        },
    ]


def test_json_keeps_the_original_text_for_display() -> None:
    result = runner.invoke(app, ["replies", "classify", "--json"], input="Ça va MIEUX 😊\n")
    assert json.loads(result.stdout) == {
        "text": "Ça va MIEUX 😊",
        "intent": "better",
        "urgent": False,
        "matched": ["better:mieux"],
    }


def test_table_shows_each_reply_with_its_intent() -> None:
    result = runner.invoke(app, ["replies", "classify"], input="much better\nno fever, but pus\n")
    assert result.exit_code == 0, result.output
    assert "much better" in result.stdout
    assert "better" in result.stdout
    assert "URGENT" in result.stdout
    assert "urgent:infection" in result.stdout


def test_clinic_lexicon_extends_the_packaged_one(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text('[checkin.phrases]\nworse = ["too red"]\n', encoding="utf-8")
    result = runner.invoke(
        app, ["replies", "classify", "--json", "--lexicon", str(clinic)], input="too red\n"
    )
    assert json.loads(result.stdout)["intent"] == "worse"


def test_malformed_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text("[checkin.phrases\n", encoding="utf-8")
    result = runner.invoke(app, ["replies", "classify", "--lexicon", str(clinic)], input="x\n")
    assert result.exit_code == 2
    assert "clinic.toml" in result.stderr
    assert "not valid TOML" in result.stderr
