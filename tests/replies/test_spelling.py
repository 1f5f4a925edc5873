"""Everyday slips in symptom words are read as meant; a real word never is."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from followup.replies import classify, default_lexicon, load_lexicon
from followup.replies.classifier.spelling import build_speller

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("my face is swolen", "swelling"),
        ("sw0llen lips", "swelling"),
        ("swellling under my eyes", "swelling"),
        ("LIPS SWOLLLEN", "swelling"),
        ("feverr since last night", "fever"),
        ("f3ver and chills", "fever"),
        ("i think its infectd", "infection"),
        ("theres puss in the bumps", "infection"),
        ("throbing on my forehead", "severe_pain"),
        ("it hurts soooo bad", "severe_pain"),
        ("blistrs along my jaw", "blisters"),
        ("blury vision", "vision"),
        ("keeps bleding", "bleeding"),
        ("cant breath", "allergy_breathing"),
        ("no deja de sangar", "bleeding"),
        ("las paupieres sont gonfllées", "swelling"),
    ],
)
def test_a_slip_in_a_symptom_word_is_read_as_meant(text: str, concept: str) -> None:
    assert f"urgent:{concept}" in classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "fewer pimples today",
        "the sweeping is done",
        "it tastes bitter",
        "I feel better",
        "I'll never do that again",
        "seven days in and all good",
        "my hair is shiny",
        "lol",
        "the weather is hot outside",
        "hurst",  # a surname: only [spelling.typos] reads it as "hurts"
    ],
)
def test_a_real_word_is_never_read_as_a_symptom(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


def test_a_long_enough_word_is_needed_for_one_letter_slips() -> None:
    speller = default_lexicon().speller
    assert speller.correct("pain") == "pain"
    assert speller.correct("rain") == "rain"  # "pain" is too short to be guessed at
    assert speller.correct("painfl") == "painful"


def test_the_list_of_real_words_near_symptom_words_is_current() -> None:
    # After changing the red-flag words, run tools/near_words.py (needs wordfreq).
    if importlib.util.find_spec("wordfreq") is None:
        pytest.fail("wordfreq (a dev dependency) is needed: pip install -e '.[dev]'")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "near_words.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # Another form of a listed word is read by its ending, not listed one by one.
        ("hurtin so bad", "severe_pain"),  # a dropped g
        ("fevered all night", "fever"),
        ("tengo fiebrita", "fever"),  # a Spanish diminutive
        ("dolor fuertísimo", "severe_pain"),  # a Spanish superlative
        ("ça fait atrocement mal", "severe_pain"),  # a French adverb
        ("me duele terriblemente", "severe_pain"),
        ("des zones blanches sur le menton", "blanched_skin"),  # a French plural
        ("one spot got all pussy, yellow inside", "infection"),  # a form of a listed slip
    ],
)
def test_a_word_form_is_read_as_the_listed_word(text: str, concept: str) -> None:
    assert f"urgent:{concept}" in classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "way less swollen today",  # "less" is no plural of the French "les"
        "was it 38 degrees? i forget the number on the sheet",  # no French "degrés"
        "the seed oil is nice",  # "seed" is no past tense of "see": a stem keeps 3 letters
    ],
)
def test_a_word_the_lexicon_spells_is_never_read_as_another_form(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


def test_endings_come_from_the_lexicon_longest_first() -> None:
    speller = build_speller(
        ["fiebre", "rojo"], [], {}, 5, {"ita": ["a", "e"], "a": ["o"]}, listed=["roja"]
    )
    assert speller.correct("fiebrita") == "fiebre"  # "ita" before "a"
    assert speller.correct("roja") == "roja"  # a word the lexicon spells stays as typed
    assert speller.correct("rosa") == "rosa"  # no listed form: as typed


def test_a_clinic_file_can_add_an_ending(tmp_path: Path) -> None:
    # The Spanish augmentative "-ote": "hinchadote" is "hinchado" once a clinic lists it.
    clinic = tmp_path / "clinic.toml"
    clinic.write_text('[spelling.suffixes]\note = ["o"]\n', "utf-8")
    assert not classify("tengo la cara hinchadote").urgent
    assert classify("tengo la cara hinchadote", load_lexicon(clinic)).urgent
