"""Reply classification: the rules behind the table, the lexicon files, and properties."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.replies import (
    Classification,
    Intent,
    LexiconError,
    classify,
    default_lexicon,
    fold,
    load_lexicon,
)

# --- the rules ------------------------------------------------------------------------


def test_whole_message_stop_is_opt_out_and_never_urgent() -> None:
    assert classify("STOP") == Classification(Intent.OPT_OUT, False, ("opt_out:stop",))


def test_red_flag_and_answer_report_both_in_check_order() -> None:
    result = classify("Getting worse, I have a fever")
    assert result == Classification(Intent.WORSE, True, ("urgent:fever", "worse:getting worse"))


def test_red_flag_without_answer_reads_as_worse() -> None:
    assert classify("fever and pus") == Classification(
        Intent.WORSE, True, ("urgent:fever", "urgent:infection")
    )


def test_opt_out_in_a_sentence_keeps_the_red_flag() -> None:
    result = classify("stop texting me, my lips are swollen")
    assert (result.intent, result.urgent) == (Intent.OPT_OUT, True)
    assert result.matched == ("opt_out:stop texting", "urgent:swelling", "site:swelling:lips")


def test_negated_answers_are_reported_as_such() -> None:
    assert classify("not better").matched == ("worse:not better",)
    assert classify("no worse").matched == ("same:not worse",)


def test_not_the_same_is_no_answer() -> None:
    # Something changed, but which way is unknown: staff read it as `other`.
    assert classify("it's not the same").intent is Intent.OTHER


def test_typo_is_reported_with_its_target() -> None:
    assert classify("bettr").matched == ("better:~bettr",)
    assert classify("smae").matched == ("same:~smae",)


def test_typos_are_only_read_in_a_one_word_reply() -> None:
    assert classify("bettr thanks").intent is Intent.OTHER


@pytest.mark.parametrize("word", ["some", "sane", "home", "horse", "butter", "letter", "worst"])
def test_ordinary_words_are_not_typos_of_answers(word: str) -> None:
    assert classify(word).matched[:1] != (f"better:~{word}",)
    assert not any(label.split(":")[1].startswith("~") for label in classify(word).matched)


def test_resolved_red_flag_is_not_urgent_but_a_later_clause_is() -> None:
    assert not classify("the fever is gone").urgent
    assert classify("the fever is gone but the redness is spreading").urgent


def test_matching_ignores_case_accents_and_curly_quotes() -> None:
    assert fold("J’ai de la FIÈVRE") == ["j", "ai", "de", "la", "fievre"]
    assert fold("Don’t  text\tme!") == ["dont", "text", "me", "!"]


def test_line_break_ends_a_clause() -> None:
    assert fold("no fever\npus") == ["no", "fever", ".", "pus"]


# --- lexicon files ----------------------------------------------------------------------


def test_default_lexicon_is_cached() -> None:
    assert default_lexicon() is default_lexicon()


@pytest.mark.parametrize(
    ("keywords", "intent"),
    [
        ("STOP STOPALL UNSUBSCRIBE CANCEL END QUIT REVOKE OPTOUT ARRET ARRÊT", Intent.OPT_OUT),
        ("START UNSTOP YES", Intent.OPT_IN),
        ("HELP INFO AIDE", Intent.HELP),
    ],
)
def test_every_carrier_keyword_is_honoured(keywords: str, intent: Intent) -> None:
    # Carrier compliance: these must never disappear from the packaged lexicon.
    for keyword in keywords.split():
        assert classify(keyword) == Classification(intent, False, (f"{intent}:{fold(keyword)[0]}",))


def test_lexicon_cannot_be_changed_after_loading() -> None:
    lexicon = default_lexicon()
    with pytest.raises(AttributeError):
        lexicon.window = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        lexicon.carrier["stop"] = Intent.OTHER  # type: ignore[index]


def test_clinic_file_adds_a_phrase(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text('[checkin.phrases]\nworse = ["too red"]\n', encoding="utf-8")
    lexicon = load_lexicon(clinic)
    assert classify("it's too red", lexicon) == Classification(
        Intent.WORSE, False, ("worse:too red",)
    )
    assert classify("it's too red").intent is Intent.OTHER  # the default is untouched


def test_clinic_file_adds_a_red_flag_concept_and_keeps_carrier_keywords(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text(
        '[carrier]\nopt_out = ["stopp"]\n[urgent.symptoms]\nburn = ["burning sensation"]\n',
        encoding="utf-8",
    )
    lexicon = load_lexicon(clinic)
    assert classify("a burning sensation", lexicon).matched == ("urgent:burn",)
    assert classify("STOPP", lexicon).intent is Intent.OPT_OUT
    assert classify("STOP", lexicon).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("[checkin.phrases\nworse = 1", "not valid TOML"),
        ('[checkin.phrase]\nworse = ["too red"]', "unknown key [checkin.phrase]"),
        ("[checkin.phrases]\nworse = 3", "[checkin.phrases.worse]"),
        ("[checkin]\nwindow = 9", "[checkin.window]"),
        ('[checkin.phrases]\nworse = ["too? red?"]', "needs at least one required word"),
        ('[checkin.phrases]\nworse = ["^"]', "needs at least one required word"),
        ('[checkin.phrases]\nworse = ["😊"]', "is not a word"),
        ('[checkin.typos]\nbeter = "best"', "[checkin.typos]"),
        ('[negation]\nclause_breakers = ["even though"]', "single words"),
    ],
)
def test_malformed_clinic_file_names_the_file(tmp_path: Path, content: str, complaint: str) -> None:
    clinic = tmp_path / "broken-clinic.toml"
    clinic.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=r"broken-clinic\.toml") as caught:
        load_lexicon(clinic)
    assert complaint in str(caught.value)


def test_missing_clinic_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"nowhere\.toml"):
        load_lexicon(tmp_path / "nowhere.toml")


# --- properties -------------------------------------------------------------------------

# Each carrier keyword and what the README says it does.
CARRIER = {
    "stop": Intent.OPT_OUT, "STOP": Intent.OPT_OUT, "Stop": Intent.OPT_OUT,
    "unsubscribe": Intent.OPT_OUT, "arrêt": Intent.OPT_OUT, "ARRET": Intent.OPT_OUT,
    "start": Intent.OPT_IN, "yes": Intent.OPT_IN, "help": Intent.HELP, "aide": Intent.HELP,
}  # fmt: skip
# Surroundings: whitespace and punctuation (letters, digits and "_" would change the word).
surrounding = st.text(
    st.characters(whitelist_categories=("Zs", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"))
    | st.sampled_from(list(string.whitespace)),
    max_size=6,
)


@settings(max_examples=300)
@given(st.text())
def test_any_text_gives_a_valid_deterministic_classification(text: str) -> None:
    first = classify(text)
    assert isinstance(first.intent, Intent)
    assert isinstance(first.urgent, bool)
    assert all(isinstance(label, str) and ":" in label for label in first.matched)
    assert classify(text) == first


@settings(max_examples=300)
@given(
    st.sampled_from(sorted(CARRIER)), surrounding, surrounding, st.lists(st.booleans(), min_size=12)
)
def test_carrier_keyword_ignores_surroundings_and_case(
    keyword: str, before: str, after: str, uppers: list[bool]
) -> None:
    word = "".join(c.upper() if up else c.lower() for c, up in zip(keyword, uppers, strict=False))
    result = classify(f"{before}{word}{after}")
    assert (result.intent, result.urgent) == (CARRIER[keyword], False)


@given(st.text(min_size=1, max_size=400))
def test_long_and_odd_text_never_raises(text: str) -> None:
    classify(text * 3)


def test_very_long_reply_is_classified_like_a_short_one() -> None:
    # A pasted wall of text must not stall the webhook: negation reads a bounded window.
    assert classify("no fever " * 20_000) == classify("no fever")
    assert not classify("no fever " * 20_000).urgent
    assert classify("better " * 20_000).matched == ("better:better",)
