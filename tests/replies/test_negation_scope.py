"""Negation and resolution reach their clause, not the whole message."""

from __future__ import annotations

import pytest

from followup.replies import Intent, classify


@pytest.mark.parametrize(
    "text",
    [
        "no swelling",
        "the swelling has gone down",
        "doesn't hurt anymore",
        "pas de fièvre",
        "sin dolor",
        "no fever, no chills, no pus",
        "my face is not swollen",
        "no pus or swelling",
        "didn't swell at all",
        "not hot to the touch",
        "the redness isn't spreading at all",
        "no white or grey patches",
        "the pain is not severe",
        "had a fever yesterday but it broke overnight",
        "the hives went away after the antihistamine",
        "the bleeding stopped",
        "eyes aren't puffy anymore",
        "la enflure est partie",
        "ya no está hinchado",
    ],
)
def test_absent_or_resolved_symptom_is_not_urgent(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "no fever but my lips are swollen",
        "No fever. Pus on my chin though",
        "No fever\nPus on my chin",
        "no fever, lips are swollen",
        "the fever is gone but the redness is spreading",
        "pas de fièvre mais les lèvres sont gonflées",
        "sin fiebre pero tengo los labios hinchados",
        "doesn't hurt at all but there's pus in a couple spots",
    ],
)
def test_negation_stops_at_its_clause(text: str) -> None:
    assert classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "the swelling isn't going down",
        "the fever hasn't gone away",
        "la fièvre n'est pas partie",
        "je vois flou et ça passe pas",
    ],
)
def test_a_resolution_that_is_negated_resolves_nothing(text: str) -> None:
    assert classify(text).urgent, classify(text).matched


def test_a_symptom_named_as_over_reads_as_better() -> None:
    result = classify("the swelling went down")
    assert (result.intent, result.urgent) == (Intent.BETTER, False)


def test_a_plain_negation_is_no_answer() -> None:
    assert classify("no fever").intent is Intent.OTHER


def test_a_resolution_later_in_the_clause_with_a_new_subject_counts() -> None:
    assert not classify("the little blister popped and it healed").urgent
    assert not classify("la petite cloque a percé et c'est guéri").urgent


def test_uncertainty_is_not_a_negation() -> None:
    assert classify("not sure if it's infected").urgent
    assert classify("no sé si está infectado").urgent


@pytest.mark.parametrize(
    "text",
    [
        "no sign of blisters or cold sores",  # a negation reaches across an "or" list
        "pas de fièvre ni de frissons",
        "la rougeur ne s'étend pas",  # the French "pas" after the verb
        "ça enfle pas",
        "can swelling happen days later?",  # asked about, not reported
        "se puede hinchar después de unos días?",
        "est-ce que l'enflure peut arriver plus tard ?",
    ],
)
def test_a_negation_or_a_question_reaches_its_symptom(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "c'est enflé pas mal",  # Quebec "pas mal": quite a lot
        "is swelling normal?",  # asked by a patient who has it: as the labelled set reads it
        "will the swelling get worse?",
        "no fever or chills, but my lips are swollen",
    ],
)
def test_what_only_looks_like_a_denial_stays_urgent(text: str) -> None:
    assert classify(text).urgent, classify(text).matched


def test_a_symptom_no_longer_there_in_french_reads_as_better() -> None:
    result = classify("les yeux ne sont plus gonflés")
    assert (result.intent, result.urgent) == (Intent.BETTER, False)


@pytest.mark.parametrize(
    "text",
    [
        "the swelling on my lips went down",  # the place between symptom and resolution
        "la hinchazón de los labios ya bajó",
        "le gonflement des paupières a disparu",
    ],
)
def test_a_resolution_after_the_place_of_the_symptom_counts(text: str) -> None:
    result = classify(text)
    assert (result.intent, result.urgent) == (Intent.BETTER, False), result.matched


@pytest.mark.parametrize(
    "text",
    [
        "ma joue gonfle de plus en plus",
        "swelling on my lips is not gone",
        "red streaks going down my neck",
    ],
)
def test_what_only_looks_like_a_resolution_stays_urgent(text: str) -> None:
    assert classify(text).urgent, classify(text).matched
