"""Reading and scoring a labelled set."""

from __future__ import annotations

import pytest

from followup.replies import Intent
from followup.replies.classifier.evaluation import LabelledSetError, evaluate, read_labelled

HEADER = "text\tintent\turgent\tconcept\tlang\tnote\n"


def test_rows_are_read_with_their_concepts_and_line_breaks() -> None:
    row = "lips swollen\\nhelp\tworse\ttrue\tswelling,allergy_breathing\ten\tx\n"
    rows = read_labelled(HEADER + row)
    assert rows[0].text == "lips swollen\nhelp"
    assert rows[0].concepts == ("swelling", "allergy_breathing")
    assert (rows[0].intent, rows[0].urgent, rows[0].line) == (Intent.WORSE, True, 2)


def test_the_older_four_column_table_is_read_too() -> None:
    rows = read_labelled("text\tintent\turgent\tnote\nfever\tworse\ttrue\tx\n")
    assert (rows[0].concepts, rows[0].lang) == ((), "")


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("text\tintent\n", "line 1: the header"),
        (HEADER + "a\tworse\ttrue\n", "line 2: 3 columns"),
        (HEADER + "a\tmaybe\ttrue\t\ten\tx\n", "line 2: bad intent"),
        (HEADER + "a\tworse\tyes\t\ten\tx\n", "line 2: bad intent or urgent"),
    ],
)
def test_a_malformed_set_names_the_line(content: str, complaint: str) -> None:
    with pytest.raises(LabelledSetError, match=complaint):
        read_labelled(content)


def test_scores_count_misses_false_alarms_and_concepts() -> None:
    rows = read_labelled(
        HEADER
        + "my lips are swollen\tworse\ttrue\tswelling\ten\tx\n"
        + "much better\tbetter\tfalse\t\ten\tx\n"
        + "it feels a bit odd\tworse\ttrue\tfever\ten\tmissed\n"
        + "pus on my chin\tworse\tfalse\t\tfr\tfalse alarm\n"
    )
    result = evaluate(rows)
    assert (result.urgent_recall().hits, result.urgent_recall().total) == (1, 2)
    assert (result.false_alarms().hits, result.false_alarms().total) == (1, 2)
    assert result.false_alarms("en").total == 1
    assert result.concept_recall["fever"].value == 0.0
    assert [o.reply.line for o in result.misclassified] == [4, 5]
    assert result.confusion[(Intent.WORSE, Intent.OTHER)] == 1
