"""CSV files for import tests: good rows, and bad rows of each kind at known lines."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HEADER = ["first_name", "last_name", "phone", "treatment", "treated_at", "timezone", "practitioner"]
BAD_KINDS = ("phone", "treatment", "future", "timezone", "duplicate_in_file", "duplicate_in_db")


@dataclass
class CsvFile:
    text: str
    good_lines: list[int] = field(default_factory=list)
    bad_lines: dict[int, str] = field(default_factory=dict)  # line -> kind


def good_row(n: int, now: datetime) -> list[str]:
    treated = (now - timedelta(days=1, minutes=n % 600)).strftime("%Y-%m-%d %H:%M")
    kind = "chemical-peel" if n % 4 == 0 else "microneedling"
    return [f"P{n}", "Test", f"403-555-{n:04d}", kind, treated, "", f"Dr {n % 3}"]


def bad_row(kind: str, n: int, now: datetime, earlier: list[str], in_db: list[str]) -> list[str]:
    row = good_row(n, now)
    if kind == "phone":
        row[2] = "555-01"
    elif kind == "treatment":
        row[3] = "tattoo-removal"
    elif kind == "future":
        row[4] = (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    elif kind == "timezone":
        row[5] = "Mars/Olympus_Mons" if n % 2 else "+25:00"
    elif kind == "duplicate_in_file":
        row = list(earlier)
    elif kind == "duplicate_in_db":
        row = list(in_db)
    return row


def build_csv(rows: int, bad_every: int, now: datetime, in_db: list[str]) -> CsvFile:
    """`rows` data rows; every `bad_every`-th is bad, cycling through BAD_KINDS."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    result = CsvFile(text="")
    last_good: list[str] = []
    for n in range(rows):
        line = n + 2
        if n % bad_every == bad_every - 1:
            kind = BAD_KINDS[(n // bad_every) % len(BAD_KINDS)]
            writer.writerow(bad_row(kind, n, now, last_good, in_db))
            result.bad_lines[line] = kind
        else:
            last_good = good_row(n, now)
            writer.writerow(last_good)
            result.good_lines.append(line)
    result.text = out.getvalue()
    return result


# Cells no booking system should send, and none of which may become a server error.
CELLS_HEADER = "first_name,last_name,phone,treatment,treated_at,timezone\n"
WHEN = "2026-03-06 15:00"
# Each refused for one field: (line, field, row).
BAD_CELLS = [
    (2, "first_name", f"Ma\x00ya,Smith,403-555-7001,microneedling,{WHEN},"),
    (3, "treated_at", "Ana,Smith,403-555-7002,microneedling,0001-01-01T00:00-07:00,"),
    (4, "treated_at", "Bo,Smith,403-555-7003,microneedling,0001-01-01 10:00,"),
    (5, "last_name", f"Cy,{'L' * 101},403-555-7004,microneedling,{WHEN},"),
    (6, "first_name", f"Di\x1b[31m,Smith,403-555-7005,microneedling,{WHEN},"),
    (7, "timezone", f"Ed,Smith,403-555-7006,microneedling,{WHEN},America/Edm\x00onton"),
]
GOOD_ROW = f"Flo,Smith,403-555-7007,microneedling,{WHEN},"


def bad_cells_csv() -> str:
    """Every row of BAD_CELLS, then one good row (line 8)."""
    return CELLS_HEADER + "".join(row + "\n" for _, _, row in BAD_CELLS) + GOOD_ROW + "\n"
