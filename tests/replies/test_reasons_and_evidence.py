"""Staff see why a reply is urgent: the red flags in words, and the patient's own words."""

from __future__ import annotations

from followup.replies import Classification, Intent, classify, evidence, red_flag_reasons


def test_reasons_name_the_body_part_when_one_was_named() -> None:
    result = classify("my lips are swollen and I have a fever")
    assert red_flag_reasons(result) == ["swelling of the lips", "fever"]


def test_reasons_without_a_body_part_use_the_title() -> None:
    assert red_flag_reasons(classify("it's swollen and it hurts a lot")) == [
        "swelling",
        "severe pain",
    ]


def test_reasons_join_several_body_parts() -> None:
    assert red_flag_reasons(classify("my lips and eyes are puffy")) == [
        "swelling of the lips and the eyes"
    ]


def test_reasons_come_from_the_stored_classification_alone() -> None:
    stored = Classification(Intent.WORSE, True, ("urgent:fever", "worse:worse"))
    assert red_flag_reasons(stored) == ["fever"]
    assert red_flag_reasons(Classification(Intent.BETTER, False, ("better:better",))) == []


def test_an_unknown_concept_is_still_shown() -> None:
    stored = Classification(Intent.WORSE, True, ("urgent:burning_sensation",))
    assert red_flag_reasons(stored) == ["burning sensation"]


def test_evidence_points_at_the_patients_words() -> None:
    text = "No fever. My LIPS are sw0llen!!"
    found = evidence(text, classify(text))
    assert [(e.concept, e.words) for e in found] == [("swelling", ("LIPS", "sw0llen!!"))]
    (start, end) = found[0].spans[1]
    assert text[start:end] == "sw0llen!!"


def test_evidence_of_a_combination_shows_each_word() -> None:
    text = "it hurts a lot"
    assert [e.words for e in evidence(text, classify(text))] == [("hurts", "a lot")]


def test_no_red_flag_no_evidence() -> None:
    assert evidence("much better thanks", classify("much better thanks")) == []
