"""A clinic file extends the red-flag tables like every other; a mistake names the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.replies import LexiconError, classify, evidence, load_lexicon, red_flag_reasons


def _clinic(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinic.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_clinic_file_adds_a_concept_with_its_own_words(tmp_path: Path) -> None:
    lexicon = load_lexicon(
        _clinic(
            tmp_path,
            '[words]\nnumb = ["numb", "tingly"]\n'
            '[red_flags.concepts.numbness]\ntitle = "numbness"\n'
            'with_parts = "numbness of {parts}"\nwhen = ["numb + part"]\n',
        )
    )
    result = classify("my lips feel numb", lexicon)
    assert "urgent:numbness" in result.matched
    assert red_flag_reasons(result, lexicon)[-1] == "numbness of the lips"
    assert not classify("numb", lexicon).urgent  # numb alone: the rule asks for a part
    assert not classify("my lips feel numb").urgent  # the packaged lexicon is untouched


def test_clinic_file_adds_words_to_a_packaged_group_and_body_part(tmp_path: Path) -> None:
    lexicon = load_lexicon(
        _clinic(tmp_path, '[words]\nswelling = ["ballooned"]\n[body_parts.lips]\nwords = ["gob"]\n')
    )
    assert classify("my gob ballooned", lexicon).matched[:2] == (
        "urgent:swelling",
        "site:swelling:lips",
    )


def test_older_clinic_files_with_urgent_symptoms_still_work(tmp_path: Path) -> None:
    lexicon = load_lexicon(_clinic(tmp_path, '[urgent.symptoms]\nburn = ["burning sensation"]\n'))
    assert classify("a burning sensation", lexicon).matched == ("urgent:burn",)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('[red_flags.concepts.x]\ntitle = "x"\nwhen = ["nothing + part"]', "'nothing' must be"),
        ('[red_flags.concepts.x]\ntitle = "x"\nwhen = ["pain + nowhere"]', "'nowhere' is not"),
        ('[red_flags.concepts.x]\nwhen = ["pain"]', "needs a title"),
        ('[red_flags.concepts.x]\ntitle = "x"\nwhen = ["pain"]\nlevel = 3', "unknown key"),
        ('[red_flags.concepts.x]\ntitle = "x"\nwith_parts = "x"\nwhen = ["pain"]', "{parts}"),
        ('[words]\nnumb = "numb"', "[words.numb] must be a list"),
        ('[words]\nnumb = ["38-40.5"]', "both bounds"),
        ('[spelling.typos]\nfeaver = "feeling"', "red-flag words"),
        ("[red_flags]\nnear = 9", "[red_flags.near]"),
    ],
)
def test_a_mistake_in_the_red_flag_tables_names_the_file(
    tmp_path: Path, content: str, complaint: str
) -> None:
    with pytest.raises(LexiconError, match=r"clinic\.toml") as caught:
        load_lexicon(_clinic(tmp_path, content))
    assert complaint in str(caught.value)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_evidence_and_reasons_never_raise(text: str) -> None:
    result = classify(text)
    for found in evidence(text, result):
        assert all(0 <= start <= end <= len(text) for start, end in found.spans)
    assert len(red_flag_reasons(result)) == sum(m.startswith("urgent:") for m in result.matched)


def test_a_100_kb_paste_is_read_like_a_short_reply() -> None:
    assert classify("very swollen lips " * 6000).matched == classify("very swollen lips").matched
    assert classify("no fever, " * 10000) == classify("no fever,")
    assert not classify("no fever, " * 10000).urgent


def test_older_clinic_files_with_urgent_exceptions_still_work(tmp_path: Path) -> None:
    lexicon = load_lexicon(_clinic(tmp_path, '[urgent]\nexceptions = ["fever dream"]\n'))
    assert not classify("had a fever dream lol", lexicon).urgent
    assert classify("I have a fever", lexicon).urgent
