"""Everyday slips in symptom words, read as the word meant: "swolen", "sw0llen", "feverrr";
and other forms of a symptom word read as the form the lexicon lists: "hurtin" (hurting),
"fevered" (fever), "fiebrita" (fiebre), "fuertísimo" (fuerte), "zones" (zone).

A word is corrected only into a word of the red-flag vocabulary, and never when it is a
real word itself: "fewer" is not "fever", "sweeping" is not "weeping". Real words come from
the lexicon's [spelling] exclusions and data/near_words.txt (every en/fr/es dictionary word
one slip from a symptom word; tools/near_words.py writes it, a test keeps it current).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from types import MappingProxyType

# Digits typed for letters: "sw0llen", "f3ver", "b1ister".
_LEET = str.maketrans("013457", "oieast")
_LEET_L = str.maketrans("1", "l")
_CACHE_LIMIT = 50_000  # distinct words remembered per process; then it starts again
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")  # a letter three times or more: "soooo"


def collapse(word: str) -> str:
    """The word with each run of one letter written once: "swolllen" -> "swolen"."""
    return "".join(letter for letter, _ in groupby(word))


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Within one Damerau edit: a deletion, insertion, substitution or swap of neighbours."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) > len(b):
        a, b = b, a
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[start:] == b[start + 1 :]
    swapped = a[start + 1 : start + 2] + a[start : start + 1]
    return a[start + 1 :] == b[start + 1 :] or (
        swapped == b[start : start + 2] and a[start + 2 :] == b[start + 2 :]
    )


@dataclass(frozen=True, eq=False)
class Speller:
    """Corrects one folded token at a time; built once per lexicon."""

    targets: frozenset[str]  # the words slips are read as
    known: frozenset[str]  # words never changed: the lexicon's own and real words
    curated: Mapping[str, str]  # slips a person listed ("puss" -> "pus")
    collapsed: Mapping[str, str]  # collapse(target) -> target
    by_deletion: Mapping[str, tuple[str, ...]]  # target less one letter -> targets
    min_length: int  # one-edit slips only for targets this long ("pain" -> "rain" is no slip)
    # Word endings and what they replace (longest first): "in" -> ("ing",), "ita" -> ("a",
    # "e"). Lets the lexicon list one form of a word instead of every inflection of it.
    suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Words the lexicon spells anywhere (negators, answers...): never read as another form
    # ("less" is no plural of "les", "dont" no inflection of "do").
    listed: frozenset[str] = frozenset()
    _cache: dict[str, str] = field(default_factory=dict)

    def correct(self, token: str) -> str:
        """The target `token` is a slip of, or `token` itself."""
        cached = self._cache.get(token)
        if cached is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            cached = self._cache[token] = self._correct(token)
        return cached

    def forget(self) -> None:
        """Forget the words seen so far (for benchmarks: read the next as if new)."""
        self._cache.clear()

    def _correct(self, token: str) -> str:
        if token in self.curated:
            return self.curated[token]
        if _STRETCHED.search(token):  # "soooo", "painnnn": no word has a letter thrice
            for shorter in (_STRETCHED.sub(r"\1", token), _STRETCHED.sub(r"\1\1", token)):
                if shorter in self.targets:
                    return shorter
            token = _STRETCHED.sub(r"\1\1", token)
        if token in self.targets:
            return token
        # An inflection is no slip: a real word ("zones", "fevered") is read by its form too.
        lemma = None if token in self.listed else self._lemma(token)
        if lemma is not None:
            return lemma
        if token in self.known or len(token) < 3 or token.isdigit():
            return token
        if not token.isalpha():
            for undigit in (token.translate(_LEET), token.translate(_LEET_L)):
                if undigit.isalpha():
                    fixed = self._correct(undigit)
                    if fixed in self.targets:
                        return fixed
            return token
        found = self.collapsed.get(collapse(token))
        if found is None and len(token) >= self.min_length - 1:
            found = self._nearest(token)
        return token if found is None else found

    def _lemma(self, token: str) -> str | None:
        """The listed form of `token` by its ending, if the lexicon lists one: a stem of at
        least three letters is kept, so "seed" is not "see" and "quita" is not "ca"."""
        for suffix, replacements in self.suffixes:
            stem = token[: len(token) - len(suffix)]
            if len(stem) < 3 or not token.endswith(suffix):
                continue
            for replacement in replacements:
                form = stem + replacement
                if form in self.targets:
                    return form
                if form in self.curated:  # a listed slip's other form: "pussy" -> "puss"
                    return self.curated[form]
        return None

    def _nearest(self, token: str) -> str | None:
        # A letter left out is the commonest slip: "sangar" is "sangrar" before "sangra".
        missing = sorted(self.by_deletion.get(token, ()))
        if missing:
            return missing[0]
        candidates: set[str] = set()
        for shorter in _deletions(token):
            if shorter in self.targets:  # a letter too many
                candidates.add(shorter)
            candidates.update(self.by_deletion.get(shorter, ()))  # one changed or swapped
        matches = sorted(t for t in candidates if _one_edit(token, t))
        return matches[0] if matches else None


def build_speller(
    targets: Iterable[str],
    known: Iterable[str],
    curated: Mapping[str, str],
    min_length: int,
    suffixes: Mapping[str, Iterable[str]] | None = None,
    listed: Iterable[str] = (),
) -> Speller:
    """A speller for `targets`; `known` words (real or the lexicon's own) stay as typed."""
    words = frozenset(targets)
    collapsed: dict[str, str] = {}
    by_deletion: dict[str, list[str]] = {}
    for word in sorted(words):
        collapsed.setdefault(collapse(word), word)
        if len(word) >= min_length:
            for shorter in _deletions(word):
                by_deletion.setdefault(shorter, []).append(word)
    return Speller(
        targets=words,
        known=frozenset(known) | words,
        curated=MappingProxyType(dict(curated)),
        collapsed=MappingProxyType(collapsed),
        by_deletion=MappingProxyType({k: tuple(v) for k, v in by_deletion.items()}),
        min_length=min_length,
        listed=frozenset(listed),
        suffixes=tuple(
            (ending, tuple(replacements))
            for ending, replacements in sorted(
                (suffixes or {}).items(), key=lambda item: (-len(item[0]), item[0])
            )
        ),
    )
