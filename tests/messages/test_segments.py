"""SMS segment counting, checked against hand-computed carrier vectors."""

from __future__ import annotations

import pytest

from followup.messages.segments import SmsAnalysis, analyze_sms, is_gsm7


def test_empty_body_is_one_segment() -> None:
    assert analyze_sms("") == SmsAnalysis("GSM-7", 1, 0)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    # 160 septets fit one message; split messages carry 153 each (2 x 153 = 306).
    assert analyze_sms("a" * length) == SmsAnalysis("GSM-7", segments, length)


def test_extension_characters_cost_two_septets() -> None:
    assert analyze_sms("{" * 80) == SmsAnalysis("GSM-7", 1, 160)


def test_81_braces_need_two_segments_not_three() -> None:
    # 81 x 2 = 162 septets: too many for one message, so parts of 153 septets.
    # Part 1 takes 76 braces (152 septets); a 77th would straddle the boundary
    # (153-154), so it moves whole to part 2, which then holds the last 5 braces
    # (10 septets). Packing gives 2 parts; 162/153 rounded up also gives 2.
    assert analyze_sms("{" * 81) == SmsAnalysis("GSM-7", 2, 162)


def test_escape_pair_is_never_split_across_segments() -> None:
    # 152 plain septets then "€" (2 septets) then more: plain division would say
    # ceil(306/153) = 2, but the euro sign cannot start at septet 153 of part 1,
    # so part 1 ends at 152 and the rest (2 + 152 = 154 septets) overflows part 2.
    body = "a" * 152 + "€" + "a" * 152
    assert analyze_sms(body) == SmsAnalysis("GSM-7", 3, 306)


def test_every_extension_character_costs_two() -> None:
    assert analyze_sms("^{}\\[~]|€\f").units == 20


def test_one_emoji_switches_to_ucs2() -> None:
    # An emoji outside the BMP is a surrogate pair: 2 UTF-16 units.
    assert analyze_sms("a" * 68 + "🙂") == SmsAnalysis("UCS-2", 1, 70)
    assert analyze_sms("a" * 69 + "🙂") == SmsAnalysis("UCS-2", 2, 71)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_boundaries(length: int, segments: int) -> None:
    body = "ê" + "a" * (length - 1)
    assert analyze_sms(body) == SmsAnalysis("UCS-2", segments, length)


def test_surrogate_pair_is_never_split_across_segments() -> None:
    # 66 units, then an emoji that would occupy units 67-68 of a 67-unit part:
    # it moves whole to part 2. Total 134 units, which division would call 2 parts.
    body = "ê" + "a" * 65 + "🙂" + "a" * 66
    assert analyze_sms(body) == SmsAnalysis("UCS-2", 3, 134)


def test_curly_quote_forces_ucs2() -> None:
    assert analyze_sms("Don’t pick").encoding == "UCS-2"
    assert analyze_sms("Don't pick").encoding == "GSM-7"


@pytest.mark.parametrize("char", ["é", "è", "ù", "ì", "ò", "É", "à", "Ç", "ñ", "ü", "Ä"])
def test_accented_letters_in_the_gsm_table(char: str) -> None:
    assert is_gsm7(char)


@pytest.mark.parametrize("char", ["ê", "â", "î", "ô", "û", "ç", "ë", "ï", "œ", "È", "À", "’", "«"])
def test_french_letters_outside_the_gsm_table(char: str) -> None:
    assert not is_gsm7(char)
    assert analyze_sms(f"Bonjour {char}").encoding == "UCS-2"


@pytest.mark.parametrize("char", ["é", "ñ", "Ñ", "ü", "¿", "¡"])
def test_spanish_letters_in_the_gsm_table(char: str) -> None:
    assert is_gsm7(char)


@pytest.mark.parametrize("char", ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú"])
def test_spanish_accents_outside_the_gsm_table(char: str) -> None:
    # One of these makes a Spanish text UCS-2: 67 characters a part instead of 153.
    assert not is_gsm7(char)
    assert analyze_sms(f"Hola {char}").encoding == "UCS-2"
