"""Write src/followup/data/near_words.txt: the real words (English, French, Spanish) that
the speller would otherwise read as a red-flag word ("fewer" as "fever").

    .venv/bin/python tools/near_words.py          # rewrite the file
    .venv/bin/python tools/near_words.py --check  # exit 1 when the file is out of date

Run it after changing the red-flag words of src/followup/data/lexicon.toml; a test runs
the check. Needs wordfreq (a dev dependency): its en/fr/es word lists with frequencies.
(pyspellchecker's Spanish list lacks everyday words such as "puede", "está", "gracias".)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import wordfreq

from followup.replies import default_lexicon, fold
from followup.replies.classifier.spelling import build_speller

LANGUAGES = ("en", "fr", "es")
# A word rarer than this (Zipf scale: 2.0 is once in ten million words) is more often a
# slip than a word: "painfull" (1.75) is read as "painful", "fewer" (4.3) is left alone.
MIN_ZIPF = 2.0
TARGET = Path(__file__).resolve().parents[1] / "src/followup/data/near_words.txt"
HEADER = """\
# Real words (en, fr, es) one slip from a red-flag word: never read as that word.
# Written by tools/near_words.py from wordfreq's word lists (Zipf frequency {zipf} or
# more); tests/replies/test_spelling.py keeps it current. Do not edit by hand: add a
# word to [spelling] exclusions, or a slip to [spelling.typos], in lexicon.toml instead.
"""


def dictionary_words() -> set[str]:
    """Every word of the word lists frequent enough, folded as replies are."""
    words: set[str] = set()
    for lang in LANGUAGES:
        for word, frequency in wordfreq.get_frequency_dict(lang, wordlist="best").items():
            folded = fold(word)
            if wordfreq.freq_to_zipf(frequency) >= MIN_ZIPF and len(folded) == 1:
                words.update(w for w in folded if w.isalpha())
    return words


def near_words() -> list[str]:
    """The dictionary words a speller that knew no real word would change."""
    speller = default_lexicon().speller
    naive = build_speller(speller.targets, (), {}, speller.min_length)
    # A word stretched past two of a letter ("soooo") is read as the word before any list.
    stretched = re.compile(r"(.)\1\1")
    words = (w for w in dictionary_words() if not stretched.search(w))
    return sorted(w for w in words if naive.correct(w) != w)


def render(words: list[str]) -> str:
    return HEADER.format(zipf=MIN_ZIPF) + "".join(f"{word}\n" for word in words)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    wanted = render(near_words())
    if args.check:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != wanted:
            print(f"{TARGET} is out of date: run tools/near_words.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(wanted, "utf-8")
    print(f"{TARGET}: {wanted.count(chr(10)) - HEADER.count(chr(10))} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
