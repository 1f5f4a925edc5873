"""The lexicon: the packaged TOML, extended by clinic files, validated and compiled.

followup/data/lexicon.toml is read with importlib.resources; a clinic file can only
extend it (lists append, new symptom concepts and typos), never remove from it.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from followup.replies.classifier.concepts import RedFlagRules, build_red_flags, literal_words
from followup.replies.classifier.model import Intent, LexiconError
from followup.replies.classifier.normalize import fold
from followup.replies.classifier.patterns import Scanner, build_scanner, build_syntax
from followup.replies.classifier.spelling import Speller, build_speller


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A compiled, immutable lexicon. Build it with load_lexicon() or default_lexicon()."""

    carrier: Mapping[str, Intent]
    opt_out: Scanner
    opt_in: Scanner
    red_flags: RedFlagRules
    speller: Speller  # symptom words typed with a slip, read as meant
    checkin: Scanner
    negators: Scanner
    no_longer: Scanner  # negators that say a symptom is over ("no more", "ya no")
    resolved: Scanner
    breakers: frozenset[str]
    carry_over: frozenset[str]  # a clause starting so continues the one before ("but it")
    joins: frozenset[str]  # "and": a new subject may follow inside a clause
    alternatives: frozenset[str]  # "or": a negation reaches across the list ("no X or Y")
    places: frozenset[str]  # "on", "de": a place after a symptom ("on my lips went down")
    trailing: frozenset[str]  # negators after the verb: "ça passe pas"
    window: int
    after_window: int
    checkin_window: int
    negated: Mapping[Intent, Intent]
    priority: tuple[Intent, ...]
    typos: Mapping[str, Intent]  # one-word typo -> the answer it stands for


# Tables an extension may add new keys to; everywhere else an unknown key is a typo.
_OPEN_TABLES = (
    "words",
    "body_parts",
    "red_flags.concepts",
    "spelling.typos",
    "spelling.suffixes",
    "checkin.typos",
    "urgent.symptoms",
)
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


def _build(doc: Mapping[str, Any], source: str, packaged_words: frozenset[str] | None) -> Lexicon:
    breakers = _words(doc, "negation.clause_breakers", source)
    negators = _strings(doc, "negation.negators", source)
    syntax = build_syntax(breakers, frozenset(" ".join(fold(n)) for n in negators))

    def scanner(name: str, entries: list[tuple[str, str]], exceptions: str = "") -> Scanner:
        skipped = _strings(doc, exceptions, source) if exceptions else []
        return build_scanner(entries, skipped, syntax, f"{source} [{name}]", True)

    def labelled(dotted: str, label: str) -> list[tuple[str, str]]:
        return [(pattern, label) for pattern in _strings(doc, dotted, source)]

    answers = [e for i in _CHECKIN_INTENTS for e in labelled(f"checkin.phrases.{i}", i)]
    priority = tuple(_answers(doc, "checkin.priority", source).values())
    negated = _answers(doc, "checkin.negated", source)
    if len(set(priority)) != len(_CHECKIN_INTENTS) or not set(negated) <= set(priority):
        raise LexiconError(f"{source}: [checkin] priority (each answer once) or negated is wrong")
    red_flags = build_red_flags(doc, syntax, source)
    return Lexicon(
        carrier=MappingProxyType(_by_intent(doc, "carrier", _CARRIER_INTENTS, source)),
        opt_out=scanner("opt_out", labelled("opt_out.phrases", "opt_out"), "opt_out.exceptions"),
        opt_in=scanner("opt_in", labelled("opt_in.phrases", "opt_in"), "opt_in.exceptions"),
        red_flags=red_flags,
        speller=_speller(doc, source, red_flags.words & (packaged_words or red_flags.words)),
        checkin=scanner("checkin", answers, "checkin.exceptions"),
        negators=scanner("negators", labelled("negation.negators", "neg"), "negation.pseudo"),
        no_longer=scanner("no_longer", labelled("negation.no_longer", "over")),
        resolved=scanner(
            "resolved", labelled("negation.resolved", "resolved"), "negation.not_resolved"
        ),
        breakers=breakers,
        carry_over=_words(doc, "negation.carry_over", source),
        joins=_words(doc, "negation.joins", source),
        alternatives=_words(doc, "negation.alternatives", source),
        places=_words(doc, "negation.places", source),
        trailing=_words(doc, "negation.trailing", source),
        window=_number(doc, "negation.window", source),
        after_window=_number(doc, "negation.after_window", source),
        checkin_window=_number(doc, "checkin.window", source),
        negated=MappingProxyType({Intent(k): v for k, v in negated.items()}),
        priority=priority,
        typos=MappingProxyType(_typos(doc, source)),
    )


def _speller(doc: Mapping[str, Any], source: str, targets: frozenset[str]) -> Speller:
    """Slips are read only into the packaged vocabulary: data/near_words.txt lists the real
    words near it, and nobody has checked the real words near a clinic's own."""
    curated = _lookup(doc, "spelling.typos", source)
    if not isinstance(curated, dict) or not all(
        isinstance(word, str) and " ".join(fold(word)) in targets for word in curated.values()
    ):
        raise LexiconError(f"{source}: [spelling.typos] values must be red-flag words")
    # Real words: the lists, and every word the lexicon itself spells ("puede", "pude").
    listed = literal_words(_all(doc))
    known = _words(doc, "spelling.exclusions", source) | _near_words() | listed
    folded = {" ".join(fold(k)): " ".join(fold(v)) for k, v in curated.items()}
    minimum = _number(doc, "spelling.min_length", source)
    return build_speller(targets, known, folded, minimum, _suffixes(doc, source), listed)


def _suffixes(doc: Mapping[str, Any], source: str) -> dict[str, list[str]]:
    """[spelling.suffixes]: an ending -> the endings of the listed form ("" drops it)."""
    table = _lookup(doc, "spelling", source).get("suffixes", {})
    if not isinstance(table, dict) or not all(
        isinstance(ending, str)
        and ending.isalpha()
        and isinstance(forms, list)
        and all(isinstance(form, str) and (form == "" or form.isalpha()) for form in forms)
        for ending, forms in table.items()
    ):
        raise LexiconError(f"{source}: [spelling.suffixes] maps an ending to a list of endings")
    return {ending: list(forms) for ending, forms in table.items()}


def _all(value: Any) -> list[str]:
    """Every string inside lists of the document, wherever it is."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _all(item)]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


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


@cache
def _near_words() -> frozenset[str]:
    text = resources.files("followup").joinpath("data/near_words.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def load_lexicon(*paths: Path) -> Lexicon:
    """The packaged lexicon, extended by each clinic file in turn (lists are appended; a
    clinic file cannot remove a carrier keyword). Raises LexiconError naming the file."""
    doc = _parse(_packaged_text(), "packaged lexicon.toml")
    lexicon = _build(doc, "packaged lexicon.toml", None)
    packaged_words = lexicon.red_flags.words
    for path in paths:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise LexiconError(f"{path}: cannot read lexicon: {error}") from error
        _merge(doc, _parse(text, str(path)), str(path))
        lexicon = _build(doc, str(path), packaged_words)  # an error here is this file's doing
    return lexicon


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, compiled once per process."""
    return load_lexicon()
