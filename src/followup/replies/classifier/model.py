"""The classifier's vocabulary, shared by every part of it: intents, the result, the error."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    WORSE = "worse"
    BETTER = "better"
    SAME = "same"
    OTHER = "other"


@dataclass(frozen=True)
class Classification:
    intent: Intent
    urgent: bool
    # The lexicon entries that fired, in check order: "opt_out:stop", "urgent:fever",
    # "worse:getting worse", "worse:not better" (a negated answer), "better:~bettr" (typo).
    matched: tuple[str, ...]


class LexiconError(ValueError):
    """A lexicon file cannot be read, parsed or compiled; the message names the file."""
