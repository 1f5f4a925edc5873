"""The lexicon's pattern language, compiled to regular expressions over folded text.

The syntax (`a|b`, `stem*`, `*`, `token?`, `^`, `$`, `a_b`) is documented at the top of
followup/data/lexicon.toml. Patterns are matched against `" ".join(fold(text))`: one
space between tokens, clause punctuation a token of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from followup.replies.classifier.model import LexiconError
from followup.replies.classifier.normalize import PUNCT, fold


@dataclass(frozen=True)
class Syntax:
    """What the pattern compiler needs from the lexicon: how clauses end, what `*` skips."""

    clause_start: str
    clause_end: str
    wildcard: str


def build_syntax(breakers: frozenset[str], negators: frozenset[str]) -> Syntax:
    words = sorted(breakers)
    # One fixed-width lookbehind per breaker: Python's re has no variable-width ones.
    behind = "".join(f"|(?<=(?<!\\S){re.escape(word)} )" for word in words)
    ahead = "|".join(re.escape(word) for word in words) or "(?!)"
    excluded = "|".join(re.escape(word) for word in sorted(breakers | negators)) or "(?!)"
    return Syntax(
        clause_start=f"(?:^|(?<=[.,;:!?] ){behind})",
        clause_end=f"(?=$| [.,;:!?]| (?:{ahead})(?!\\S))",
        wildcard=f"(?!(?:{excluded})(?!\\S))[^\\W_]+",
    )


# How a match can begin: a word ("fever"), a stem ("swell" of "swell*"), a number, or
# any word (a wildcard). The scanner tries its regexes only at words that can begin one.
Head = tuple[str, str]  # ("word" | "stem" | "number" | "any", text)


def _alternative(alt: str, syntax: Syntax) -> tuple[str, Head]:
    """The regex for one alternative, and how it begins."""
    if alt == "*":
        return syntax.wildcard, ("any", "")
    if alt in PUNCT:
        return re.escape(alt), ("word", alt)
    if (bounds := _RANGE.fullmatch(alt)) is not None:
        return _number_range(bounds.group(1), bounds.group(2)), ("number", "")
    words = fold(alt.removesuffix("*"))
    if not words or any(word in PUNCT for word in words):
        raise ValueError(f"{alt!r} is not a word")
    body = " ".join(re.escape(word) for word in words)
    if not alt.endswith("*"):
        return body, ("word", words[0])
    return body + r"[^\W_]*", ("stem" if len(words) == 1 else "word", words[0])


# "38.0-44.9": a number from 38.0 to 44.9 written with decimals ("38.5", "38,5");
# "38-44": a whole number from 38 to 44. A reply's "38" is not "38.0": a bare whole number
# is more often an age or a day than a temperature, so the lexicon decides which it trusts.
_RANGE = re.compile(r"(\d+(?:\.\d)?)-(\d+(?:\.\d)?)")


def _number_range(low: str, high: str) -> str:
    decimals = "." in low or "." in high
    if decimals != ("." in low and "." in high):
        raise ValueError(f"{low}-{high}: write both bounds with a decimal, or neither")
    tenths = range(round(float(low) * 10), round(float(high) * 10) + 1)
    if not decimals:
        whole = [str(n) for n in range(int(low), int(high) + 1)]
        return f"(?:{'|'.join(whole)})"
    by_whole: dict[int, list[int]] = {}
    for tenth in tenths:
        by_whole.setdefault(tenth // 10, []).append(tenth % 10)
    alternatives = [
        f"{whole}[.,][{digits[0]}-{digits[-1]}]\\d*" for whole, digits in by_whole.items()
    ]
    return f"(?:{'|'.join(alternatives)})"


def _compile_pattern(pattern: str, syntax: Syntax) -> tuple[str, set[Head]]:
    """The regex for one pattern, and the ways it can begin."""
    tokens = pattern.split()
    head = tail = ""
    if tokens[:1] == ["^"]:
        head, tokens = syntax.clause_start, tokens[1:]
    if tokens[-1:] == ["$"]:
        tail, tokens = syntax.clause_end, tokens[:-1]
    body, separated = "", False
    heads: set[Head] = set()
    for raw in tokens:
        optional = raw.endswith("?") and len(raw) > 1
        token = raw[:-1] if optional else raw
        if not token or "^" in token or "$" in token:
            raise ValueError(f"misplaced {raw!r}")
        alts = [_alternative(alt, syntax) for alt in token.split("|")]
        group = "(?:" + "|".join(regex for regex, _ in alts) + ")"
        if not separated:  # still at the start: this token can begin the match
            heads.update(head for _, head in alts)
        if not optional:
            body += (" " if separated else "") + group
            separated = True
        else:  # the optional token carries its own separator
            body += f"(?: {group})?" if separated else f"(?:{group} )?"
    if not separated:
        raise ValueError("needs at least one required word")
    return head + body + tail, heads


Bucket = tuple[re.Pattern[str], tuple[str | None, ...]]


@dataclass(frozen=True)
class Scanner:
    """Patterns compiled into regexes, bucketed by the first character of a word, tried at
    each word that can begin one: the leftmost (then first-listed) match wins, so an
    exception consumes its words before a shorter entry can fire on them. Both are for
    speed (the webhook classifies every reply): one flat alternation tried at every word
    was ~3x slower, and most words of a long reply begin no pattern at all."""

    buckets: Mapping[str, Bucket]
    anywhere: Bucket | None  # patterns starting with a wildcard, for other characters
    # Phrases are reported by the words they matched ("worse:getting worse"), symptoms by
    # their concept ("urgent:fever"): staff read the label, not the pattern syntax.
    with_words: bool
    words: frozenset[str]  # the words a pattern can begin with
    stems: tuple[str, ...]  # the stems a pattern can begin with
    numbers: bool  # a pattern can begin with a number
    any_word: bool  # a pattern can begin with any word

    def scan(self, text: str) -> Iterator[tuple[str, int, int]]:
        words, stems, numbers, any_word = self.words, self.stems, self.numbers, self.any_word
        position, resume = 0, 0
        for word in text.split(" "):
            start, position = position, position + len(word) + 1
            if start < resume or not word:
                continue
            if not (
                any_word
                or word in words
                or word.startswith(stems)
                or (numbers and word[0].isdigit())
            ):
                continue  # no pattern begins with this word: no regex to try
            bucket = self.buckets.get(word[0], self.anywhere)
            match = bucket[0].match(text, start) if bucket else None
            if match is None or bucket is None:
                continue
            resume = match.end()
            label = bucket[1][(match.lastindex or 1) - 1]
            if label is not None:
                yield (f"{label}:{match.group()}" if self.with_words else label), start, resume


def _longest_first(entry: tuple[str, str]) -> tuple[int, int]:
    pattern = entry[0]
    words = [t for t in pattern.split() if t not in ("^", "$") and not t.endswith("?")]
    return -len(words), -len(pattern)


def build_scanner(
    entries: list[tuple[str, str]],
    exceptions: list[str],
    syntax: Syntax,
    source: str,
    with_words: bool,
) -> Scanner:
    """A scanner for labelled `entries`; matching an exception yields nothing. Raises
    LexiconError naming `source` and the pattern if one does not compile."""
    # Exceptions first, then patterns of more words before fewer ("fever blister" before
    # "fever", whatever the lengths of their lists), then longer before shorter; sorted()
    # is stable, so ties keep the file's order.
    ordered = [(p, None) for p in exceptions] + sorted(entries, key=_longest_first)
    compiled: list[tuple[str, frozenset[str] | None, str | None]] = []
    heads: set[Head] = set()
    for pattern, label in ordered:
        try:
            regex, begins = _compile_pattern(pattern, syntax)
        except ValueError as error:
            raise LexiconError(f"{source}: pattern {pattern!r}: {error}") from error
        heads |= begins
        compiled.append((regex, _first_characters(begins), label))

    def bucket(char: str | None) -> Bucket | None:
        chosen = [(r, lab) for r, starts, lab in compiled if starts is None or char in starts]
        if not chosen:
            return None
        regex = "(?:" + "|".join(f"({r})" for r, _ in chosen) + ")(?!\\S)"
        try:
            return re.compile(regex), tuple(lab for _, lab in chosen)
        except re.error:  # compiling each pattern alone is slow: only to name the culprit
            for (pattern, _), (one, _, _) in zip(ordered, compiled, strict=True):
                try:
                    re.compile(one)
                except re.error as error:
                    raise LexiconError(f"{source}: pattern {pattern!r}: {error}") from error
            raise

    chars = sorted({c for _, starts, _ in compiled for c in starts or ()})
    buckets = {c: b for c in chars if (b := bucket(c)) is not None}
    return Scanner(
        MappingProxyType(buckets),
        bucket(None),
        with_words,
        words=frozenset(text for kind, text in heads if kind == "word"),
        stems=tuple(sorted(text for kind, text in heads if kind == "stem")),
        numbers=any(kind == "number" for kind, _ in heads),
        any_word=any(kind == "any" for kind, _ in heads),
    )


def _first_characters(heads: set[Head]) -> frozenset[str] | None:
    """The characters a pattern can begin with (None: any word)."""
    if any(kind == "any" for kind, _ in heads):
        return None
    digits = "0123456789" if any(kind == "number" for kind, _ in heads) else ""
    return frozenset(text[0] for kind, text in heads if text) | frozenset(digits)
