"""Text folding: a reply (or a lexicon entry) -> the words and punctuation that are matched."""

from __future__ import annotations

import re
import unicodedata

# Clause punctuation: kept as tokens of its own by fold(), never part of a word.
PUNCT = frozenset(".,;:!?")
_FOLD = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
        "œ": "oe", "æ": "ae",
        # The degree sign is a unit word of its own: "39°" -> "39 deg" (a temperature).
        "\u00b0": " deg ",
        # A line break ends a clause like a full stop does ("No fever\nPus on my chin").
        "\n": ".", "\r": ".", "\u2028": ".", "\u2029": ".", "\x85": ".",
    }
)  # fmt: skip
# The combining-mark blocks: enough to fold Latin accents without a per-char Python loop.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# French elisions become two words (l'infection -> l infection); other apostrophes go
# (don't -> dont), so "dont" and "don't" read the same.
_ELISION = re.compile(r"\b(qu|[^\W\d_])'(?=\w)")
# A number keeps its decimals ("38.5", "38,5": a temperature) and leaves a unit as a word
# of its own ("38c" -> "38", "c"); a word with a digit inside stays whole ("sw0llen").
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W_]+|[.,;:!?]")
# What fold_spans() folds one at a time: a line break (a clause end) or a run of non-space.
_CHUNK = re.compile(r"[\n\r\u2028\u2029\x85]|[^\s]+")


def fold(text: str) -> list[str]:
    """Words and clause punctuation of `text`, folded for matching (the original is kept
    for display by the caller): NFKC, casefold, no accents, straight quotes."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFD", folded))
    folded = _ELISION.sub(r"\1 ", folded).replace("'", "")
    return _TOKEN.findall(folded)


def fold_spans(text: str) -> list[tuple[str, int, int]]:
    """fold(text), each token with the (start, end) of the text it came from, so staff can
    be shown the patient's own words. Slower than fold(): for display, not the webhook."""
    return [
        (token, chunk.start(), chunk.end())
        for chunk in _CHUNK.finditer(text)
        for token in fold(chunk.group())
    ]
