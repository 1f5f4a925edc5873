"""The kinds of misses and false alarms a blind evaluation found (issue 11 follow-up): each
mechanism that closes one, with the hard negative next to it."""

from __future__ import annotations

import pytest

from followup.replies import Intent, classify


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("the skin by my nose looks lacy and purplish", "blanched_skin"),
        ("tengo la mejilla con manchas como de red", "blanched_skin"),
        ("the redness has gone way past where you treated", "spreading_redness"),
        ("la rougeur s'est rendue jusqu'au cou", "spreading_redness"),
        ("been bleeding since breakfast", "bleeding"),
        ("held pressure for 15 minutes and it's still going", "bleeding"),
        ("it's an 8", "severe_pain"),
        ("ça fait mal sans bon sens", "severe_pain"),
        ("38 degrees and climbing", "fever"),
        ("tengo febrícula de 38", "fever"),
        ("little sacs of clear fluid on my lip", "blisters"),
        ("me salieron ámpulas", "blisters"),
        ("je siffle quand je respire", "allergy_breathing"),
        ("j'vois pu clair", "vision"),
    ],
)
def test_a_red_flag_said_another_way_is_urgent(text: str, concept: str) -> None:
    result = classify(text)
    assert result.urgent
    assert f"urgent:{concept}" in result.matched


@pytest.mark.parametrize(
    "text",
    [
        "my wife had her peel yesterday and her face is really swollen",
        "ma fille a eu son traitement hier et elle a le visage enflé",
        "le escribo por mi hija, tiene la cara hinchada",
    ],
)
def test_a_relative_writing_for_the_patient_reports_her_symptoms(text: str) -> None:
    assert classify(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "my husband has a fever so I need to move my appointment",
        "my sister had her peel at another clinic and got blisters, will that happen to me?",
        "mon chum a la grippe, il fait de la fièvre, je peux venir quand même?",
        "my boyfriend cut himself shaving and bled a lot lol",
        "saw on tiktok people get blurry vision",
    ],
)
def test_someone_elses_symptom_is_not_urgent(text: str) -> None:
    assert not classify(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "I usually get cold sores, should I take my pills before?",
        "d'habitude j'enfle facilement",
        "had hives years ago from penicillin",
        "what does an infection look like?",
        "es normal que salgan ampollas? pregunto nomás",
        "was worried i'd swell up but nope",
        "j'avais peur d'enfler mais non",
    ],
)
def test_history_questions_and_fears_are_not_urgent(text: str) -> None:
    assert not classify(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        # Without a word that shows the habit is meant, one may be starting now.
        "I usually get cold sores and there's one on my lip",
        # "Just curious" reaches questions only, not a statement beside them.
        "just curious, my lips are swollen",
        # A clause about the patient after a person's: not carried over.
        "my son has the flu, my lips are swollen",
    ],
)
def test_the_limits_of_each_mechanism_keep_reports_urgent(text: str) -> None:
    assert classify(text).urgent


@pytest.mark.parametrize(
    "text", ["les yeux sont pu enflés", "j'ai pu de fièvre", "swelling down, pain down"]
)
def test_a_symptom_no_longer_there_reads_as_better(text: str) -> None:
    result = classify(text)
    assert not result.urgent
    assert result.intent is Intent.BETTER


@pytest.mark.parametrize(
    "text", ["it's a 10/10, love it", "temp is 37.4", "pain is like a 2", "im at 38 weeks"]
)
def test_numbers_that_are_no_red_flag(text: str) -> None:
    assert not classify(text).urgent


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("pain is eight out of ten", "severe_pain"),
        ("it's a nine out of 10", "severe_pain"),
        ("la douleur est très vive", "severe_pain"),
        ("j'ai une douleur aiguë sur la joue", "severe_pain"),
        ("j'ai mal, je n'arrive pas à trouver le sommeil", "severe_pain"),
        ("the bleeding takes ages to stop", "bleeding"),
        ("ça saigne et ça prend une éternité à arrêter", "bleeding"),
    ],
)
def test_scores_in_words_sharp_pain_and_slow_bleeding_are_urgent(text: str, concept: str) -> None:
    result = classify(text)
    assert result.urgent
    assert f"urgent:{concept}" in result.matched


@pytest.mark.parametrize(
    "text",
    [
        "ten out of ten would recommend",
        "no pain, maybe a two out of ten",
        "la rougeur est vive mais ça ne fait pas mal",
        "the bleeding took ages to stop but it's fine now",
        "pain was eight out of ten yesterday but it's gone now",
    ],
)
def test_praise_low_scores_bright_redness_and_bleeding_that_stopped_are_not(text: str) -> None:
    assert not classify(text).urgent
