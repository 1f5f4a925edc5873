"""The independent labelled sets (en/fr/es): the targets that gate the build.

- tests/data/triage.tsv: the project's own set;
- tests/data/triage-paraphrases.tsv: paraphrases written to measure how the classifier
  generalises (every concept in many words, forms, languages and negations, and hard
  negatives that mention symptom words);
- tests/data/triage-paraphrases-2.tsv: a second set of fresh paraphrases, written after
  the classifier was changed for the first and before it was run on it;
- tests/data/triage-paraphrases-3.tsv: the kinds of misses and false alarms a blind
  evaluation found (dusky skin, spreading redness, bleeding by duration, bare scores, a
  relative writing for the patient; questions, history, fears, other people's stories),
  each kind next to hard negatives, written before the classifier was changed for them.

Figures: `followup replies evaluate tests/data/<file>`."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.replies.classifier.evaluation import Evaluation, evaluate, read_labelled

DATA = Path(__file__).resolve().parents[1] / "data"
# Each set and the size it was written at: a set that shrinks by accident fails here.
SETS = {
    "triage.tsv": 650,
    "triage-paraphrases.tsv": 1000,
    "triage-paraphrases-2.tsv": 250,
    "triage-paraphrases-3.tsv": 185,
}


@pytest.fixture(scope="module", params=sorted(SETS))
def labelled(request: pytest.FixtureRequest) -> tuple[str, Evaluation]:
    name: str = request.param
    return name, evaluate(read_labelled((DATA / name).read_text("utf-8")))


def test_the_set_is_the_size_it_was_written(labelled: tuple[str, Evaluation]) -> None:
    name, result = labelled
    assert len(result.outcomes) >= SETS[name]
    assert set(result.languages) == {"en", "fr", "es"}


def test_every_urgent_reply_is_read_as_urgent(labelled: tuple[str, Evaluation]) -> None:
    _, result = labelled
    missed = [o.reply.text for o in result.outcomes if o.reply.urgent and not o.result.urgent]
    assert missed == []


def test_false_alarms_stay_at_one_percent_or_less(labelled: tuple[str, Evaluation]) -> None:
    _, result = labelled
    assert result.false_alarms().value <= 0.01


def test_intents_are_right_97_percent_of_the_time(labelled: tuple[str, Evaluation]) -> None:
    _, result = labelled
    assert result.intent_accuracy().value >= 0.97


def test_every_labelled_concept_is_reported(labelled: tuple[str, Evaluation]) -> None:
    _, result = labelled
    assert all(ratio.value == 1.0 for ratio in result.concept_recall.values())


def test_the_paraphrase_set_is_two_fifths_ordinary_replies() -> None:
    # Hard negatives keep the false-alarm figure honest: about 40% are not urgent.
    rows = read_labelled((DATA / "triage-paraphrases.tsv").read_text("utf-8"))
    assert sum(not row.urgent for row in rows) / len(rows) >= 0.38
