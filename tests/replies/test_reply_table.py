"""The reply table: realistic replies and how they must be classified.

tests/data/replies.tsv holds one reply a row (text, intent, urgent, note), tab-separated;
a literal backslash-n in the text stands for a line break.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from followup.replies import Intent, classify

TABLE = Path(__file__).parents[1] / "data" / "replies.tsv"


def _rows() -> list[pytest.ParameterSet]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            pytest.param(
                row["text"].replace("\\n", "\n"),
                Intent(row["intent"]),
                {"true": True, "false": False}[row["urgent"]],
                id=f"{number}-{row['note']}",
            )
            for number, row in enumerate(reader, start=2)
        ]


def test_table_is_large_enough() -> None:
    assert len(_rows()) >= 150


@pytest.mark.parametrize(("text", "intent", "urgent"), _rows())
def test_reply_is_classified_as_the_table_says(text: str, intent: Intent, urgent: bool) -> None:
    result = classify(text)
    assert (result.intent, result.urgent) == (intent, urgent), result.matched
