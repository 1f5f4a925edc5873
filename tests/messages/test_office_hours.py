"""Office hours in the patient's words, and what counts as office hours at all."""

from __future__ import annotations

from datetime import time
from types import SimpleNamespace

import pytest

from followup.messages.office_hours import (
    OfficeHours,
    OfficeHoursError,
    days_mask,
    describe_office_hours,
    parse_days,
    parse_times,
)

WEEKDAYS_9_TO_5 = OfficeHours(frozenset(range(5)), time(9, 0), time(17, 0))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "Monday to Friday, 9 am to 5 pm"),
        ("fr", "du lundi au vendredi, de 9 h à 17 h"),
        ("es", "de lunes a viernes, de 9:00 a 17:00"),
    ],
)
def test_weekdays_nine_to_five_in_each_language(lang: str, words: str) -> None:
    assert describe_office_hours(WEEKDAYS_9_TO_5, lang) == words


@pytest.mark.parametrize(
    ("days", "lang", "words"),
    [
        ("mon,wed,fri", "en", "Monday, Wednesday and Friday"),
        ("mon,wed,fri", "fr", "le lundi, le mercredi et le vendredi"),
        ("mon,wed,fri", "es", "los lunes, miércoles y viernes"),
        ("mon,wed-fri,sun", "en", "Monday, Wednesday to Friday and Sunday"),
        ("mon,wed-fri,sun", "fr", "le lundi, du mercredi au vendredi et le dimanche"),
        ("mon,wed-fri,sun", "es", "los lunes, de miércoles a viernes y los domingos"),
        ("sat", "es", "los sábados"),
        ("mon-sat", "es", "de lunes a sábado"),
        ("mon-sun", "en", "every day"),
        ("mon-sun", "fr", "tous les jours"),
        ("mon-sun", "es", "a diario"),
    ],
)
def test_days_read_as_ranges_and_lists(days: str, lang: str, words: str) -> None:
    hours = OfficeHours(parse_days(days), time(9, 0), time(17, 0))
    assert describe_office_hours(hours, lang).startswith(words + ", ")


@pytest.mark.parametrize(
    ("opens", "closes", "lang", "words"),
    [
        (time(8, 30), time(12, 0), "en", "8:30 am to noon"),
        (time(0, 0), time(12, 30), "en", "midnight to 12:30 pm"),
        (time(8, 30), time(16, 45), "fr", "de 8 h 30 à 16 h 45"),
        (time(8, 30), time(16, 45), "es", "de 8:30 a 16:45"),
    ],
)
def test_times_in_each_language(opens: time, closes: time, lang: str, words: str) -> None:
    hours = OfficeHours(frozenset({0}), opens, closes)
    assert describe_office_hours(hours, lang).endswith(", " + words)


def test_an_unknown_language_gets_english() -> None:
    assert describe_office_hours(WEEKDAYS_9_TO_5, "de") == "Monday to Friday, 9 am to 5 pm"


def test_hours_come_from_a_clinic_bit_set() -> None:
    clinic = SimpleNamespace(
        office_days=0b1000101, office_opens_at=time(10, 0), office_closes_at=time(14, 0)
    )
    hours = OfficeHours.of(clinic)
    assert hours.days == {0, 2, 6}
    assert hours.mask == days_mask({0, 2, 6}) == 0b1000101


@pytest.mark.parametrize(
    ("text", "days"),
    [("mon-fri", {0, 1, 2, 3, 4}), (" Sat , sun ", {5, 6}), ("mon-wed,fri", {0, 1, 2, 4})],
)
def test_days_are_parsed_from_codes_and_ranges(text: str, days: set[int]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("", "at least one day"), ("monday", "not a day"), ("fri-mon", "backwards")],
)
def test_bad_days_are_refused_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(OfficeHoursError, match=complaint):
        parse_days(text)


def test_hours_must_close_after_they_open() -> None:
    with pytest.raises(OfficeHoursError, match="close later") as caught:
        OfficeHours(frozenset({0}), time(17, 0), time(9, 0))
    assert caught.value.field == "office_closes_at"


def test_hours_need_a_day() -> None:
    with pytest.raises(OfficeHoursError, match="at least one day"):
        OfficeHours(frozenset(), time(9, 0), time(17, 0))


def test_times_are_parsed_from_a_range() -> None:
    assert parse_times("08:30-16:45") == (time(8, 30), time(16, 45))
    with pytest.raises(OfficeHoursError, match="like 09:00-17:00"):
        parse_times("9-5")
