"""Reply classification: a patient's text reply -> intent + urgency.

Pure and deterministic: no database, no network, no clock. The words live in a TOML
lexicon (followup/data/lexicon.toml, extendable per clinic), compiled once into a few
regular expressions; this module holds only the order of the checks:

1. carrier keywords (the whole reply is STOP, START, HELP, ...) -> urgent is False;
2. red-flag symptoms anywhere, unless negated ("no fever") or resolved ("fever is gone");
3. a clear opt-out / opt-in request inside a sentence ("please stop texting me");
4. check-in answers (worse / same / better, negations, one-letter typos);
5. else `other` -- but a red flag with no answer is `worse`: it is clearly not better.

`urgent` is independent of the intent: "stop texting me, I have a fever" is an opt-out
that staff must still see.
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any


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


# --- text folding -------------------------------------------------------------------

_PUNCT = frozenset(".,;:!?")
_FOLD = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
        "œ": "oe", "æ": "ae",
        # A line break ends a clause like a full stop does ("No fever\nPus on my chin").
        "\n": ".", "\r": ".", "\u2028": ".", "\u2029": ".", "\x85": ".",
    }
)  # fmt: skip
# The combining-mark blocks: enough to fold Latin accents without a per-char Python loop.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# French elisions become two words (l'infection -> l infection); other apostrophes go
# (don't -> dont), so "dont" and "don't" read the same.
_ELISION = re.compile(r"\b(qu|[^\W\d_])'(?=\w)")
_TOKEN = re.compile(r"[^\W_]+|[.,;:!?]")


def fold(text: str) -> list[str]:
    """Words and clause punctuation of `text`, folded for matching (the original is kept
    for display by the caller): NFKC, casefold, no accents, straight quotes."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFD", folded))
    folded = _ELISION.sub(r"\1 ", folded).replace("'", "")
    return _TOKEN.findall(folded)


# --- pattern compilation ------------------------------------------------------------


@dataclass(frozen=True)
class _Syntax:
    """What the pattern compiler needs from the lexicon: how clauses end, what `*` skips."""

    clause_start: str
    clause_end: str
    wildcard: str


def _syntax(breakers: frozenset[str], negators: frozenset[str]) -> _Syntax:
    words = sorted(breakers)
    # One fixed-width lookbehind per breaker: Python's re has no variable-width ones.
    behind = "".join(f"|(?<=(?<!\\S){re.escape(word)} )" for word in words)
    ahead = "|".join(re.escape(word) for word in words) or "(?!)"
    excluded = "|".join(re.escape(word) for word in sorted(breakers | negators)) or "(?!)"
    return _Syntax(
        clause_start=f"(?:^|(?<=[.,;:!?] ){behind})",
        clause_end=f"(?=$| [.,;:!?]| (?:{ahead})(?!\\S))",
        wildcard=f"(?!(?:{excluded})(?!\\S))[^\\W_]+",
    )


def _alternative(alt: str, syntax: _Syntax) -> tuple[str, str | None]:
    """The regex for one alternative, and its first character (None: any word)."""
    if alt == "*":
        return syntax.wildcard, None
    if alt in _PUNCT:
        return re.escape(alt), alt
    words = fold(alt.removesuffix("*"))
    if not words or any(word in _PUNCT for word in words):
        raise ValueError(f"{alt!r} is not a word")
    body = " ".join(re.escape(word) for word in words)
    return (body + r"[^\W_]*" if alt.endswith("*") else body), words[0][0]


def _compile_pattern(pattern: str, syntax: _Syntax) -> tuple[str, frozenset[str] | None]:
    """The regex for one pattern, and the characters it can start with (None: any)."""
    tokens = pattern.split()
    head = tail = ""
    if tokens[:1] == ["^"]:
        head, tokens = syntax.clause_start, tokens[1:]
    if tokens[-1:] == ["$"]:
        tail, tokens = syntax.clause_end, tokens[:-1]
    body, separated = "", False
    firsts: set[str | None] = set()
    for raw in tokens:
        optional = raw.endswith("?") and len(raw) > 1
        token = raw[:-1] if optional else raw
        if not token or "^" in token or "$" in token:
            raise ValueError(f"misplaced {raw!r}")
        alts = [_alternative(alt, syntax) for alt in token.split("|")]
        group = "(?:" + "|".join(regex for regex, _ in alts) + ")"
        if not separated:  # still at the start: this token can begin the match
            firsts.update(first for _, first in alts)
        if not optional:
            body += (" " if separated else "") + group
            separated = True
        else:  # the optional token carries its own separator
            body += f"(?: {group})?" if separated else f"(?:{group} )?"
    if not separated:
        raise ValueError("needs at least one required word")
    starts = None if None in firsts else frozenset(c for c in firsts if c is not None)
    return head + body + tail, starts


_Bucket = tuple[re.Pattern[str], tuple[str | None, ...]]


@dataclass(frozen=True)
class _Scanner:
    """Patterns compiled into regexes, bucketed by the first character of a word, tried at
    each word start: the leftmost (then first-listed) match wins, so an exception consumes
    its words before a shorter entry can fire on them. Bucketing is for speed (the webhook
    classifies every reply): one flat alternation tried at every word was ~3x slower."""

    buckets: Mapping[str, _Bucket]
    anywhere: _Bucket | None  # patterns starting with a wildcard, for other characters
    # Phrases are reported by the words they matched ("worse:getting worse"), symptoms by
    # their concept ("urgent:fever"): staff read the label, not the pattern syntax.
    with_words: bool

    def scan(self, text: str) -> Iterator[tuple[str, int, int]]:
        position, resume = 0, 0
        for word in text.split(" "):
            start, position = position, position + len(word) + 1
            if start < resume or not word:
                continue
            bucket = self.buckets.get(word[0], self.anywhere)
            match = bucket[0].match(text, start) if bucket else None
            if match is None or bucket is None:
                continue
            resume = match.end()
            label = bucket[1][(match.lastindex or 1) - 1]
            if label is not None:
                yield (f"{label}:{match.group()}" if self.with_words else label), start, resume


def _scanner(
    entries: list[tuple[str, str]],
    exceptions: list[str],
    syntax: _Syntax,
    source: str,
    with_words: bool,
) -> _Scanner:
    # Exceptions first, then longer patterns before shorter ones ("fever blister" before
    # "fever"); sorted() is stable, so equal lengths keep the file's order.
    ordered = [(p, None) for p in exceptions] + sorted(entries, key=lambda e: -len(e[0]))
    compiled: list[tuple[str, frozenset[str] | None, str | None]] = []
    for pattern, label in ordered:
        try:
            regex, starts = _compile_pattern(pattern, syntax)
            re.compile(regex)
        except (ValueError, re.error) as error:
            raise LexiconError(f"{source}: pattern {pattern!r}: {error}") from error
        compiled.append((regex, starts, label))

    def bucket(char: str | None) -> _Bucket | None:
        chosen = [(r, lab) for r, starts, lab in compiled if starts is None or char in starts]
        if not chosen:
            return None
        regex = "(?:" + "|".join(f"({r})" for r, _ in chosen) + ")(?!\\S)"
        return re.compile(regex), tuple(lab for _, lab in chosen)

    chars = sorted({c for _, starts, _ in compiled for c in starts or ()})
    buckets = {c: b for c in chars if (b := bucket(c)) is not None}
    return _Scanner(MappingProxyType(buckets), bucket(None), with_words)


# --- the lexicon --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A compiled, immutable lexicon. Build it with load_lexicon() or default_lexicon()."""

    carrier: Mapping[str, Intent]
    opt_out: _Scanner
    opt_in: _Scanner
    urgent: _Scanner
    checkin: _Scanner
    negators: _Scanner
    resolved: _Scanner
    breakers: frozenset[str]
    window: int
    after_window: int
    checkin_window: int
    negated: Mapping[Intent, Intent]
    priority: tuple[Intent, ...]
    typos: Mapping[str, Intent]  # one-word typo -> the answer it stands for


# Tables an extension may add new keys to; everywhere else an unknown key is a typo.
_OPEN_TABLES = ("urgent.symptoms", "checkin.typos")
_CARRIER_INTENTS = (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP)
_CHECKIN_INTENTS = (Intent.WORSE, Intent.SAME, Intent.BETTER)


def _lookup(doc: Mapping[str, Any], dotted: str, source: str) -> Any:
    value: Any = doc
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise LexiconError(f"{source}: missing [{dotted}]")
        value = value[key]
    return value


def _strings(doc: Mapping[str, Any], dotted: str, source: str) -> list[str]:
    value = _lookup(doc, dotted, source)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(f"{source}: [{dotted}] must be a list of strings")
    return value


def _words(doc: Mapping[str, Any], dotted: str, source: str) -> frozenset[str]:
    folded = [" ".join(fold(word)) for word in _strings(doc, dotted, source)]
    if any(not word or " " in word for word in folded):
        raise LexiconError(f"{source}: [{dotted}] entries must be single words")
    return frozenset(folded)


def _by_intent(
    doc: Mapping[str, Any], section: str, intents: tuple[Intent, ...], source: str
) -> dict[str, Intent]:
    """[section.<intent>] word lists, inverted: word -> intent."""
    return {word: i for i in intents for word in _words(doc, f"{section}.{i}", source)}


def _answers(doc: Mapping[str, Any], dotted: str, source: str) -> dict[str, Intent]:
    """A table or list whose values name check-in answers (worse, same, better)."""
    value = _lookup(doc, dotted, source)
    pairs = list(value.items() if isinstance(value, dict) else enumerate(value))
    names = {intent.value for intent in _CHECKIN_INTENTS}
    if not all(isinstance(name, str) and name in names for _, name in pairs):
        raise LexiconError(f"{source}: [{dotted}] values must be worse, same or better")
    return {" ".join(fold(str(key))): Intent(name) for key, name in pairs}


def _number(doc: Mapping[str, Any], dotted: str, source: str) -> int:
    value = _lookup(doc, dotted, source)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 20:
        raise LexiconError(f"{source}: [{dotted}] must be a whole number from 0 to 20")
    return value


def _build(doc: Mapping[str, Any], source: str) -> Lexicon:
    breakers = _words(doc, "negation.clause_breakers", source)
    negators = _strings(doc, "negation.negators", source)
    syntax = _syntax(breakers, frozenset(" ".join(fold(n)) for n in negators))

    def scanner(name: str, entries: list[tuple[str, str]], exceptions: str = "") -> _Scanner:
        skipped = _strings(doc, exceptions, source) if exceptions else []
        return _scanner(entries, skipped, syntax, f"{source} [{name}]", name != "urgent")

    def labelled(dotted: str, label: str) -> list[tuple[str, str]]:
        return [(pattern, label) for pattern in _strings(doc, dotted, source)]

    symptoms = _lookup(doc, "urgent.symptoms", source)
    if not isinstance(symptoms, dict):
        raise LexiconError(f"{source}: [urgent.symptoms] must be a table of lists")
    urgent = [e for c in symptoms for e in labelled(f"urgent.symptoms.{c}", f"urgent:{c}")]
    answers = [e for i in _CHECKIN_INTENTS for e in labelled(f"checkin.phrases.{i}", i)]
    priority = tuple(_answers(doc, "checkin.priority", source).values())
    negated = _answers(doc, "checkin.negated", source)
    if len(set(priority)) != len(_CHECKIN_INTENTS) or not set(negated) <= set(priority):
        raise LexiconError(f"{source}: [checkin] priority (each answer once) or negated is wrong")
    return Lexicon(
        carrier=MappingProxyType(_by_intent(doc, "carrier", _CARRIER_INTENTS, source)),
        opt_out=scanner("opt_out", labelled("opt_out.phrases", "opt_out"), "opt_out.exceptions"),
        opt_in=scanner("opt_in", labelled("opt_in.phrases", "opt_in"), "opt_in.exceptions"),
        urgent=scanner("urgent", urgent, "urgent.exceptions"),
        checkin=scanner("checkin", answers, "checkin.exceptions"),
        negators=scanner("negators", labelled("negation.negators", "neg"), "negation.pseudo"),
        resolved=scanner("resolved", labelled("negation.resolved", "resolved")),
        breakers=breakers,
        window=_number(doc, "negation.window", source),
        after_window=_number(doc, "negation.after_window", source),
        checkin_window=_number(doc, "checkin.window", source),
        negated=MappingProxyType({Intent(k): v for k, v in negated.items()}),
        priority=priority,
        typos=MappingProxyType(_typos(doc, source)),
    )


def _typos(doc: Mapping[str, Any], source: str) -> dict[str, Intent]:
    """Every one-edit typo of a long enough answer, plus the curated ones. A typo of two
    answers, or a real word ([checkin.typo_exclusions]), is left out."""
    shortest = _number(doc, "checkin.typo_min_length", source)
    targets = _by_intent(doc, "checkin.typo_targets", _CHECKIN_INTENTS, source)
    seen: dict[str, set[Intent]] = {}
    for target, intent in targets.items():
        for typo in _one_edit(target) if len(target) >= shortest else ():
            seen.setdefault(typo, set()).add(intent)
    excluded = _words(doc, "checkin.typo_exclusions", source) | set(targets)
    table = {typo: intents.pop() for typo, intents in seen.items() if len(intents) == 1}
    table = {typo: intent for typo, intent in table.items() if typo not in excluded}
    return table | _answers(doc, "checkin.typos", source)


def _one_edit(word: str) -> set[str]:
    """All strings one Damerau edit from `word`: a deletion, swap, substitution or insertion."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = string.ascii_lowercase
    return (
        {head + tail[1:] for head, tail in splits if tail}
        | {head + tail[1] + tail[0] + tail[2:] for head, tail in splits if len(tail) > 1}
        | {head + c + tail[1:] for head, tail in splits if tail for c in letters}
        | {head + c + tail for head, tail in splits for c in letters}
    ) - {word}


def _merge(base: dict[str, Any], extra: Mapping[str, Any], source: str, where: str = "") -> None:
    """Extend `base` with `extra` in place: lists append, tables recurse, nothing is removed."""
    for key, value in extra.items():
        dotted = f"{where}.{key}" if where else key
        if key not in base:
            if where not in _OPEN_TABLES:
                raise LexiconError(f"{source}: unknown key [{dotted}]")
            base[key] = value
        elif isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, source, dotted)
        elif isinstance(base[key], list) and isinstance(value, list):
            base[key] = base[key] + value
        else:
            raise LexiconError(f"{source}: [{dotted}] can only be extended with a list or table")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LexiconError(f"{source}: not valid TOML: {error}") from error


def _packaged_text() -> str:
    return resources.files("followup").joinpath("data/lexicon.toml").read_text("utf-8")


def load_lexicon(*paths: Path) -> Lexicon:
    """The packaged lexicon, extended by each clinic file in turn (lists are appended; a
    clinic file cannot remove a carrier keyword). Raises LexiconError naming the file."""
    doc = _parse(_packaged_text(), "packaged lexicon.toml")
    lexicon = _build(doc, "packaged lexicon.toml")
    for path in paths:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise LexiconError(f"{path}: cannot read lexicon: {error}") from error
        _merge(doc, _parse(text, str(path)), str(path))
        lexicon = _build(doc, str(path))  # a compile error here is this file's doing
    return lexicon


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, compiled once per process."""
    return load_lexicon()


# --- classification -----------------------------------------------------------------


def classify(text: str, lexicon: Lexicon | None = None) -> Classification:
    """Classify one reply. Never raises on any text; same text, same answer."""
    lex = lexicon if lexicon is not None else default_lexicon()
    tokens = fold(text)
    words = [token for token in tokens if token not in _PUNCT]
    # Carriers test the whole message: "STOP!!!", " stop. ", "Arrêt" -- but not "nonstop".
    if words and len(set(words)) == 1 and words[0] in lex.carrier:
        intent = lex.carrier[words[0]]
        return Classification(intent, False, (f"{intent}:{words[0]}",))
    scanned = " ".join(tokens)
    urgent = _red_flags(lex, scanned)
    for scanner, intent in ((lex.opt_out, Intent.OPT_OUT), (lex.opt_in, Intent.OPT_IN)):
        request = next((label for label, _, _ in scanner.scan(scanned)), None)
        if request is not None:
            return Classification(intent, bool(urgent), (request, *urgent))
    answer, answers = _checkin(lex, scanned, words)
    if answer is None:
        # A red flag with no check-in word ("fever and pus") is clearly not better.
        answer = Intent.WORSE if urgent else Intent.OTHER
    return Classification(answer, bool(urgent), urgent + answers)


# Negation looks a few words around a match; reading at most this many characters per
# word keeps a very long reply linear (a 100 kB paste must not stall the webhook).
_WORD_SPAN = 48


def _clause_words(lex: Lexicon, scanned: str, at: int, limit: int, backwards: bool) -> str:
    """Up to `limit` words of `scanned` before (or after) `at`, within the same clause."""
    span = _WORD_SPAN * (limit + 1)
    if backwards:
        words = scanned[max(0, at - span) : at].split()[::-1]
        cut = at > span  # the farthest word may be cut in half: drop it
    else:
        words = scanned[at : at + span].split()
        cut = at + span < len(scanned)
    kept: list[str] = []
    for word in words[: len(words) - 1] if cut else words:
        if len(kept) == limit or word in _PUNCT or word in lex.breakers:
            break
        kept.append(word)
    return " ".join(kept[::-1] if backwards else kept)


def _negated(lex: Lexicon, scanned: str, start: int, limit: int) -> bool:
    before = _clause_words(lex, scanned, start, limit, backwards=True)
    return next(lex.negators.scan(before), None) is not None


def _red_flags(lex: Lexicon, scanned: str) -> tuple[str, ...]:
    fired: list[str] = []
    for label, start, end in lex.urgent.scan(scanned):
        if label in fired or _negated(lex, scanned, start, lex.window):
            continue
        after = _clause_words(lex, scanned, end, lex.after_window, backwards=False)
        if next(lex.resolved.scan(after), None) is None:
            fired.append(label)
    return tuple(fired)


def _checkin(lex: Lexicon, scanned: str, words: list[str]) -> tuple[Intent | None, tuple[str, ...]]:
    found: list[tuple[Intent, str]] = []
    for label, start, _ in lex.checkin.scan(scanned):
        intent, phrase = label.split(":", 1)
        answer = Intent(intent)
        if _negated(lex, scanned, start, lex.checkin_window):
            flipped = lex.negated.get(answer)
            if flipped is None:  # "not the same": changed, but which way is unknown
                continue
            answer, label = flipped, f"{flipped}:not {phrase}"
        found.append((answer, label))
    if not found and len(words) == 1 and words[0] in lex.typos:
        # A typo only counts as the whole reply: "bettr" yes, "bettr thanks" no.
        found.append((lex.typos[words[0]], f"{lex.typos[words[0]]}:~{words[0]}"))
    if not found:
        return None, ()
    best = min(found, key=lambda item: lex.priority.index(item[0]))[0]
    return best, tuple(dict.fromkeys(label for _, label in found))  # each label once
