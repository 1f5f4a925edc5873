"""Red flags are symptom concepts: any form of the word, with a body part, an intensity or
a WORSE answer, whatever words the patient uses."""

from __future__ import annotations

import pytest

from followup.replies import Intent, classify


def _concepts(text: str) -> set[str]:
    return {m.removeprefix("urgent:") for m in classify(text).matched if m.startswith("urgent:")}


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # The sentences of the issue, each urgent now.
        ("WORSE, lots of new pimples and it's swollen", "swelling"),
        ("facial swelling", "swelling"),
        ("I have facial swelling", "swelling"),
        ("swelling on my face", "swelling"),
        ("it hurts a lot", "severe_pain"),
        ("it's really painful", "severe_pain"),
        ("WORSE very swollen and painful", "swelling"),
        ("no fever but my lips are swollen", "swelling"),
        # Every form of a swelling word.
        ("my lip swelled up overnight", "swelling"),
        ("eyes are all puffy this morning", "swelling"),
        ("my cheeks puffed up", "swelling"),
        ("my lips look way bigger than normal", "swelling"),
        ("my eyes are swollen shut", "swelling"),
        # Pain said to be severe, however it is said.
        ("the pain is unbearable", "severe_pain"),
        ("it hurts so much I'm crying", "severe_pain"),
        ("pain is 8/10", "severe_pain"),
        ("pain 9 out of 10", "severe_pain"),
        ("can't sleep because of the pain", "severe_pain"),
        ("my jaw is throbbing", "severe_pain"),
        ("worst pain of my life", "severe_pain"),
        # Infection: its name and its signs.
        ("there is pus on my chin", "infection"),
        ("it's weeping clear fluid", "infection"),
        ("yellow crust on my cheek", "infection"),
        ("my cheek is warm to the touch", "infection"),
        ("green stuff in the scabs", "infection"),
        # Fever, by word or by the thermometer.
        ("I feel feverish", "fever"),
        ("got the chills", "fever"),
        ("temp is 38.4", "fever"),
        ("38,6 this morning", "fever"),
        ("101F", "fever"),
        ("running a temp of 100.8", "fever"),
        # Breathing and allergy.
        ("I can't breathe properly", "allergy_breathing"),
        ("my throat feels tight", "allergy_breathing"),
        ("my tongue is swelling", "allergy_breathing"),
        ("hives on my neck", "allergy_breathing"),
        ("itchy all over my body", "allergy_breathing"),
        # Blisters and cold sores (a fever blister is not a fever).
        ("little blisters on my chin", "blisters"),
        ("I got a cold sore", "blisters"),
        # Vision, bleeding, blood flow, spreading redness.
        ("my vision is blurry", "vision"),
        ("seeing double", "vision"),
        ("it won't stop bleeding", "bleeding"),
        ("still bleeding after an hour", "bleeding"),
        ("a patch on my cheek turned white", "blanched_skin"),
        ("the skin near my nose looks grey", "blanched_skin"),
        ("part of my chin is dusky", "blanched_skin"),
        ("the redness is spreading to my neck", "spreading_redness"),
        ("red streaks going up my neck", "spreading_redness"),
        ("severe redness all over", "spreading_redness"),
    ],
)
def test_red_flag_is_urgent_whatever_the_words(text: str, concept: str) -> None:
    result = classify(text)
    assert result.urgent, result.matched
    assert concept in _concepts(text)


def test_fever_blister_is_a_blister_not_a_fever() -> None:
    assert _concepts("got a fever blister on my lip") == {"blisters"}


@pytest.mark.parametrize(
    "text",
    [
        "worse, lots of new pimples",
        "WORSE",
        "redness is a bit worse",
        "getting worse, more red and itchy",
        "a bit sore and tender",
        "mild redness and tightness",
        "very dry and flaky",
        "a few pimples on my chin",
        "mild itch on my cheeks",
        "it stings a little when I wash",
        "my face feels tight",
        "pain is 3/10",
        "my temperature is 37.2",
        "temp normal 98.6",
        "I'm 38 years old",
        "I washed with warm water",
        "a few whiteheads popped up",
        "the pimples are getting bigger",
    ],
)
def test_normal_after_care_is_not_urgent(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


def test_worse_alone_stays_a_normal_escalation() -> None:
    result = classify("worse, lots of new pimples")
    assert (result.intent, result.urgent) == (Intent.WORSE, False)


def test_worse_plus_a_symptom_word_is_urgent() -> None:
    assert classify("worse and my skin feels hot").urgent
    assert not classify("better and my skin feels hot").urgent
    assert not classify("worse, the weather is hot").urgent  # warmth of the skin only


@pytest.mark.parametrize(
    "text",
    [
        "what if I get a fever?",
        "how do I prevent infection",
        "signs of infection?",
        "what are the signs of infection to watch for?",
        "what if it swells up later, who do I call?",
        "if I get a cold sore do I need antivirals?",
        "I used to get cold sores as a kid, do I need antivirals?",
        "how much swelling is too much?",
        "can the numbing cream make your vision blurry?",
    ],
)
def test_hypothetical_or_informational_mentions_are_not_urgent(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


def test_a_question_about_ones_own_symptom_is_urgent() -> None:
    assert classify("is it normal to get blisters? I have a few on my forehead").urgent
    assert classify("how long will my eyes be this puffy?").urgent
    assert classify("how much longer will my lips be this swollen?").urgent


@pytest.mark.parametrize(
    "text",
    [
        # A habit may be the start of one: staff read it rather than a rule guessing.
        "I usually get cold sores after lasers and there's one on my lip",
        "I often get cold sores, should I take something?",
        "trying to avoid touching the pus",
    ],
)
def test_a_mention_that_may_be_a_report_stays_urgent(text: str) -> None:
    assert classify(text).urgent


def test_red_flag_reports_the_body_part_it_named() -> None:
    assert classify("my lips are swollen").matched == ("urgent:swelling", "site:swelling:lips")


def test_a_red_flag_makes_the_answer_worse() -> None:
    result = classify("much better, just some pus on the chin")
    assert (result.intent, result.urgent) == (Intent.WORSE, True)
    assert "better:much better" in result.matched  # staff still see what was said


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # Paraphrases neither the lexicon's authors nor the labelled set spelled out.
        ("my whole face blew up overnight", "swelling"),
        ("my lips are twice their normal size", "swelling"),
        ("mes lèvres ont doublé de volume", "swelling"),
        ("it's excruciating", "severe_pain"),
        ("ça me lance toute la nuit", "severe_pain"),
        ("je respire difficilement", "allergy_breathing"),
        ("tongue feels thick", "allergy_breathing"),
        ("sangrado abundante", "bleeding"),
        ("j'ai la vue qui baisse", "vision"),
        ("a spot on my nose turned dark purple and it's cold", "blanched_skin"),
        ("the redness is getting bigger and moving down my neck", "spreading_redness"),
        ("feeling hot and cold, shivering", "fever"),
        ("I've got a temperature of 39", "fever"),
    ],
)
def test_paraphrases_are_read_by_concept(text: str, concept: str) -> None:
    assert concept in _concepts(text), classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "should I be worried about infection?",
        "can I get a cold sore from this?",
        "the cream says may cause redness and swelling",
        "my phone blew up with texts",
        "a purple bruise on my cheek",
        "the sun was so hot today",
        "j'ai super chaud aujourd'hui",
    ],
)
def test_more_mentions_that_are_not_reports(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # Breathing or swallowing said to be hard, in either order and any language.
        ("struggling to swallow", "allergy_breathing"),
        ("cant catch my breath", "allergy_breathing"),
        ("j'arrive pas à avaler", "allergy_breathing"),
        ("j'ai de la misère à respirer", "allergy_breathing"),
        ("me cuesta trabajo respirar", "allergy_breathing"),
        # A pain score of 7 or more right next to the pain, written any way.
        ("pain 8", "severe_pain"),
        ("8/10 pain", "severe_pain"),
        ("its like a 9 pain wise", "severe_pain"),
        ("el dolor está en 9", "severe_pain"),
        # Size said by a multiplier.
        ("ummm my lips are like 3x their normal size??", "swelling"),
        ("mes lèvres ont triplé de volume", "swelling"),
        ("my face ballooned overnight", "swelling"),
        # Temperatures with a degree sign, or in degrees in the Celsius languages.
        ("39° this morning", "fever"),
        ("tengo 38 grados", "fever"),
        # A rash over the whole body is an allergy, not the treated face's redness.
        ("rash all over my body", "allergy_breathing"),
        ("salpullido en todo el cuerpo", "allergy_breathing"),
        # Texting and regional intensifiers.
        ("painful af", "severe_pain"),
        ("ça fait mal en esti", "severe_pain"),
        ("me duele un chingo", "severe_pain"),
        ("the pain woke me up at 3am", "severe_pain"),
        ("can't stop the bleeding", "bleeding"),
        ("no me para de sangrar", "bleeding"),
    ],
)
def test_a_red_flag_is_found_by_its_parts_not_a_listed_phrase(text: str, concept: str) -> None:
    assert concept in _concepts(text), classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "pain 3/10",
        "on a scale of 1-10 the pain is maybe 2",
        "sore for 7 days now but fine",  # a number of days is no score
        "it hurts since day 8",
        "pimples are really bad, it hurts a little",  # mild pain is not severe pain
        "hace 38 grados afuera, puedo salir?",  # the weather
        "is 37.5 a fever?",  # below a fever
        "my back is itchy",
        "my arms are red from the sun",
        "my skin looks white from the zinc sunscreen",
        "i have a giant pimple on my chin",
        "my kid has a fever so i might have to reschedule",  # someone else's symptom
        "my dog has a swollen paw lol unrelated, face is good",
        "fever free",
    ],
)
def test_ordinary_replies_with_symptom_words_stay_ordinary(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "why did blisters appear on my lip?",  # asked, but about one's own blisters
        "my husband is worried because my face is swollen",  # someone else, my symptom
        "my son says my lips are swollen",
        "my friends think it's infected",
    ],
)
def test_a_report_inside_a_question_or_about_others_stays_urgent(text: str) -> None:
    assert classify(text).urgent, classify(text).matched
