"""CSV cells a spreadsheet would run as formulas are written as text (OWASP's rule)."""

from __future__ import annotations

import csv
import io

import pytest

from followup.core.csv_export import csv_text, safe_cell


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://x.example","click")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Dr Adams", "2026-04-01", "0.4000", "", "a=b", " =x"])
def test_ordinary_text_is_unchanged(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_numbers_we_write_are_not_text_and_stay_numbers() -> None:
    assert [safe_cell(-3), safe_cell(-0.5), safe_cell(None)] == [-3, -0.5, ""]


def test_the_document_reads_back_with_every_cell_as_text() -> None:
    text = csv_text(
        ["name", "note"], [['=HYPERLINK("http://x.example","y")', 'say "hi", then'], ["@me", None]]
    )
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "note"],
        ['\'=HYPERLINK("http://x.example","y")', 'say "hi", then'],
        ["'@me", ""],
    ]
