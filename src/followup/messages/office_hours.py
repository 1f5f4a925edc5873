"""A clinic's office hours (when staff read patients' texts), checked and put into words.

Pure: takes the clinic's three columns (`office_days`, a bit set of `date.weekday()`
numbers with bit 0 for Monday; `office_opens_at`; `office_closes_at`) and returns text
for the patient's language. Nothing here knows about SMS; the acknowledgement template
(`_replies/ack.sms.<lang>.txt`) decides what to say around the words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Protocol

__all__ = [
    "ALL_DAYS",
    "DAY_CODES",
    "OfficeHours",
    "OfficeHoursError",
    "days_mask",
    "describe_office_hours",
    "parse_days",
    "parse_times",
]

ALL_DAYS = 0b1111111
# Short codes for forms and the command line, in date.weekday() order.
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OfficeHoursError(ValueError):
    """Office hours that can't be stored; `field` names the form field or option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class HasOfficeHours(Protocol):
    """An ORM Clinic, or the webhook's ClinicFacts."""

    @property
    def office_days(self) -> int: ...
    @property
    def office_opens_at(self) -> time: ...
    @property
    def office_closes_at(self) -> time: ...


@dataclass(frozen=True)
class OfficeHours:
    """The days the clinic reads messages (0 is Monday) and one daily opening time."""

    days: frozenset[int]
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not self.days:
            raise OfficeHoursError("office_days", "choose at least one day")
        if not self.days <= set(range(7)):
            raise OfficeHoursError("office_days", f"not weekdays: {sorted(self.days)}")
        if self.opens >= self.closes:
            raise OfficeHoursError(
                "office_closes_at", "office hours must close later in the day than they open"
            )

    @classmethod
    def of(cls, clinic: HasOfficeHours) -> OfficeHours:
        return cls.from_columns(clinic.office_days, clinic.office_opens_at, clinic.office_closes_at)

    @classmethod
    def from_columns(cls, days: int, opens: time, closes: time) -> OfficeHours:
        return cls(frozenset(day for day in range(7) if days >> day & 1), opens, closes)

    @property
    def mask(self) -> int:
        """The `office_days` column's value."""
        return days_mask(self.days)


def days_mask(days: Iterable[int]) -> int:
    return sum(1 << day for day in set(days))


def parse_days(text: str) -> frozenset[int]:
    """'mon-fri', 'mon,wed,fri', 'mon-fri,sat' (the codes in DAY_CODES) -> weekday numbers."""
    days: set[int] = set()
    for part in filter(None, (piece.strip().lower() for piece in text.split(","))):
        first, _, last = part.partition("-")
        try:
            start = DAY_CODES.index(first.strip())
            end = DAY_CODES.index(last.strip()) if last else start
        except ValueError:
            raise OfficeHoursError(
                "office_days", f"{part!r} is not a day or range like mon-fri (days: mon ... sun)"
            ) from None
        if end < start:
            raise OfficeHoursError("office_days", f"{part!r} runs backwards; write e.g. mon-fri")
        days.update(range(start, end + 1))
    if not days:
        raise OfficeHoursError("office_days", "choose at least one day")
    return frozenset(days)


def parse_times(text: str) -> tuple[time, time]:
    """'09:00-17:00' -> (opening, closing) times."""
    opens, _, closes = text.partition("-")
    try:
        return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
    except ValueError:
        raise OfficeHoursError(
            "office_hours", f"{text!r} is not a range of times like 09:00-17:00"
        ) from None


@dataclass(frozen=True)
class _Words:
    every_day: str
    day_range: Callable[[int, int], str]  # three or more days in a row
    one_day: Callable[[int], str]  # a day that is not part of a range
    and_: str
    clock: Callable[[time], str]
    hours: str  # "{days}", "{opens}", "{closes}"
    # Days named one by one and no range: one phrase for all ("los lunes y jueves").
    only_single_days: Callable[[Sequence[int]], str] | None = None


def _clock_en(moment: time) -> str:
    if moment.minute == 0 and moment.hour in (0, 12):
        return "noon" if moment.hour else "midnight"  # "12 pm" is read both ways
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'am' if moment.hour < 12 else 'pm'}"


def _clock_fr(moment: time) -> str:
    return f"{moment.hour} h {moment.minute:02d}" if moment.minute else f"{moment.hour} h"


def _clock_es(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
# Spanish says "los sábados" for a habit; lunes to viernes are the same in the plural.
_ES_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_ES_PLURAL = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábados", "domingos")

_WORDS = {
    "en": _Words(
        every_day="every day",
        day_range=lambda a, b: f"{_EN_DAYS[a]} to {_EN_DAYS[b]}",
        one_day=lambda day: _EN_DAYS[day],
        and_=" and ",
        clock=_clock_en,
        hours="{days}, {opens} to {closes}",
    ),
    "fr": _Words(
        every_day="tous les jours",
        day_range=lambda a, b: f"du {_FR_DAYS[a]} au {_FR_DAYS[b]}",
        one_day=lambda day: f"le {_FR_DAYS[day]}",
        and_=" et ",
        clock=_clock_fr,
        hours="{days}, de {opens} à {closes}",
    ),
    "es": _Words(
        # "a diario" rather than "todos los días": the same meaning, and no "í", which
        # would make the text message UCS-2 (see README, "Languages and SMS encoding").
        every_day="a diario",
        day_range=lambda a, b: f"de {_ES_DAYS[a]} a {_ES_DAYS[b]}",
        one_day=lambda day: f"los {_ES_PLURAL[day]}",
        and_=" y ",
        clock=_clock_es,
        hours="{days}, de {opens} a {closes}",
        only_single_days=lambda days: "los " + _join([_ES_PLURAL[d] for d in days], " y "),
    ),
}


def describe_office_hours(hours: OfficeHours, lang: str) -> str:
    """'Monday to Friday, 9 am to 5 pm' / 'du lundi au vendredi, de 9 h à 17 h' /
    'de lunes a viernes, de 9:00 a 17:00'. English for a language without words here."""
    words = _WORDS.get(lang, _WORDS["en"])
    return words.hours.format(
        days=_days_phrase(hours.days, words),
        opens=words.clock(hours.opens),
        closes=words.clock(hours.closes),
    )


def _days_phrase(days: frozenset[int], words: _Words) -> str:
    if len(days) == 7:
        return words.every_day
    # Three days in a row or more read as a range; one or two are named one by one.
    runs = _runs(sorted(days))
    if words.only_single_days and all(len(run) < 3 for run in runs):
        return words.only_single_days(sorted(days))
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(words.day_range(run[0], run[-1]))
        else:
            parts.extend(words.one_day(day) for day in run)
    return _join(parts, words.and_)


def _runs(days: list[int]) -> list[list[int]]:
    """Consecutive days together, Monday first: [0, 1, 2, 4] -> [[0, 1, 2], [4]]."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _join(items: Sequence[str], and_: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + and_ + items[-1]
