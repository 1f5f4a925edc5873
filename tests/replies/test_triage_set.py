"""The independent labelled set (tests/data/triage.tsv, en/fr/es): the targets that gate
the build. Figures: `followup replies evaluate tests/data/triage.tsv`."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.replies.classifier.evaluation import Evaluation, evaluate, read_labelled

TRIAGE = Path(__file__).resolve().parents[1] / "data" / "triage.tsv"


@pytest.fixture(scope="module")
def result() -> Evaluation:
    return evaluate(read_labelled(TRIAGE.read_text("utf-8")))


def test_the_set_is_the_size_it_was_written(result: Evaluation) -> None:
    assert len(result.outcomes) >= 650
    assert set(result.languages) == {"en", "fr", "es"}


def test_every_urgent_reply_is_read_as_urgent(result: Evaluation) -> None:
    missed = [o.reply.text for o in result.outcomes if o.reply.urgent and not o.result.urgent]
    assert missed == []


def test_false_alarms_stay_at_one_percent_or_less(result: Evaluation) -> None:
    assert result.false_alarms().value <= 0.01


def test_intents_are_right_97_percent_of_the_time(result: Evaluation) -> None:
    assert result.intent_accuracy().value >= 0.97


def test_every_labelled_concept_is_reported(result: Evaluation) -> None:
    assert all(ratio.value == 1.0 for ratio in result.concept_recall.values())
