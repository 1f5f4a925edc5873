"""Every CSV we hand to a person is written here, so a cell can never run as a formula.

Spreadsheets read a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a
carriage return) as a formula: a practitioner named `=HYPERLINK("http://evil","x")` in a
report would become a live link, or worse. OWASP's rule for CSV injection: such a cell is
prefixed with a single quote, which spreadsheets show as text. Numbers we write ourselves
(int, float) are not text and pass unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | None


def safe_cell(value: Cell) -> str | int | float:
    """`value` as a spreadsheet will take it literally (None is an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A CSV document (header first, `\\n` line ends, quoting as needed), every cell safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()
