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


def test_json_lines_keep_exactly_their_four_keys() -> None:
    result = runner.invoke(
        app, ["replies", "classify", "--json"], input="my lips are swollen\nno fever\n"
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [sorted(line) for line in lines] == [["intent", "matched", "text", "urgent"]] * 2
    assert lines[0]["matched"][0] == "urgent:swelling"


# --- replies evaluate ---------------------------------------------------------------------

HEADER = "text\tintent\turgent\tconcept\tlang\tnote\n"


def _labelled(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "labelled.tsv"
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_evaluate_prints_the_figures_and_passes_when_nothing_urgent_is_missed(
    tmp_path: Path,
) -> None:
    path = _labelled(
        tmp_path,
        "my lips are swollen\tworse\ttrue\tswelling\ten\tx\n"
        "tengo fiebre\tworse\ttrue\tfever\tes\tx\n"
        "much better\tbetter\tfalse\t\ten\tx\n"
        "ok thanks\tsame\tfalse\t\ten\twrong on purpose\n",
    )
    result = runner.invoke(app, ["replies", "evaluate", str(path)])
    assert result.exit_code == 0, result.output
    for shown in ("urgent recall", "false alarms", "100.0% (2/2)", "swelling", "Intents"):
        assert shown in result.stdout
    assert "ok thanks" in result.stdout  # the misclassified row


def test_evaluate_fails_and_says_so_when_an_urgent_reply_is_missed(tmp_path: Path) -> None:
    path = _labelled(tmp_path, "it feels a bit odd\tworse\ttrue\tfever\ten\tx\n")
    result = runner.invoke(app, ["replies", "evaluate", str(path)])
    assert result.exit_code == 1
    assert "1 urgent replies not read as urgent" in result.stderr


def test_evaluate_json_is_one_object_with_the_figures(tmp_path: Path) -> None:
    path = _labelled(tmp_path, "no fever\tother\tfalse\t\ten\tx\n")
    result = runner.invoke(app, ["replies", "evaluate", "--json", str(path)])
    figures = json.loads(result.stdout)
    assert figures["false_alarms"] == {"hits": 0, "total": 1, "rate": 0.0}
    assert figures["by_language"]["en"]["intent_accuracy"]["rate"] == 1.0
    assert figures["misclassified"] == []


def test_evaluate_reads_the_older_four_column_table(tmp_path: Path) -> None:
    path = _labelled(tmp_path, "fever\tworse\ttrue\tx\n", header="text\tintent\turgent\tnote\n")
    assert runner.invoke(app, ["replies", "evaluate", str(path)]).exit_code == 0


def test_evaluate_an_unreadable_file_or_header_exits_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["replies", "evaluate", str(tmp_path / "nowhere.tsv")])
    assert missing.exit_code == 2
    bad = runner.invoke(app, ["replies", "evaluate", str(_labelled(tmp_path, "", "a\tb\n"))])
    assert bad.exit_code == 2
    assert "header" in bad.stderr
