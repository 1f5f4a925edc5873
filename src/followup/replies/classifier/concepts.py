"""Red-flag concepts: the lexicon's [words], [body_parts] and [red_flags] tables compiled.

A concept (swelling, fever, ...) is urgent when one of its `when` combinations is found in
a reply: "swelling + part" is a word of the [words] group `swelling` and a body part in the
same sentence. Which combinations are urgent is data a person reviews; this module only
reads and checks them (the syntax is documented at the top of lexicon.toml).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from followup.replies.classifier.model import LexiconError
from followup.replies.classifier.normalize import fold
from followup.replies.classifier.patterns import Scanner, Syntax, build_scanner

Place = Literal["sentence", "before", "after", "reply"]
WORSE = "worse"  # the term that asks for a WORSE answer anywhere in the reply
ANY_PART = "part"  # the term that any body part satisfies
PART = "part:"  # how the vocabulary scanner labels a body part ("part:lips")


@dataclass(frozen=True)
class Term:
    """One condition of a combination: a hit with one of these labels, placed so."""

    labels: frozenset[str]  # [words] group names, or "part:<key>" for body parts
    place: Place


@dataclass(frozen=True)
class Rule:
    """One `when` combination of a concept: its anchor word and the other conditions."""

    concept: str
    anchor: str  # the [words] group whose word, not negated, resolved or hypothetical, starts it
    terms: tuple[Term, ...]
    # The body parts staff are told about: those of its part terms, or (None) any part
    # named in the sentence ("my lips are swollen" fires `swelling` alone, names the lips).
    parts: frozenset[str] | None


@dataclass(frozen=True)
class Concept:
    key: str  # "swelling": reported as "urgent:swelling"
    title: str  # "swelling": what staff read
    with_parts: str | None  # "swelling of {parts}": staff read it when a part was named


@dataclass(frozen=True)
class RedFlagRules:
    vocabulary: Scanner  # every [words] group and body part; labels as in Term
    hypothetical: Scanner  # "what if", "how do I prevent": the clause after is no report
    # After a symptom in a clause that ends with "?": "can swelling happen days later?"
    asked: Scanner
    by_anchor: Mapping[str, tuple[Rule, ...]]
    concepts: Mapping[str, Concept]
    parts: Mapping[str, str]  # body part key -> its title ("the lips")
    near: int  # how many words may stand between a word and a ~term next to it
    words: frozenset[str]  # every literal word of the vocabulary, for the speller
    # "my wife had her peel yesterday": the person written about is the patient, so a
    # "what if" marker naming a person (one of `persons`) does not hide her symptoms.
    for_patient: Scanner
    persons: frozenset[str]
    # "I usually get ...": a "habit" marker in `hypothetical`, that counts only when the
    # reply also has one of these ("before?", "easily").
    habit_shown: Scanner
    pronouns: frozenset[str]  # "she", "il": a clause about the person named before
    only_asking: Scanner  # "just curious": a symptom in a question is no report


def _table(doc: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise LexiconError(f"{source}: [{key}] must be a table")
    return value


def _patterns(value: Any, where: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(f"{source}: [{where}] must be a list of strings")
    return value


def _text(table: Mapping[str, Any], key: str, where: str, source: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LexiconError(f"{source}: [{where}] needs a {key} (text)")
    return value


def _term(raw: str, groups: Mapping[str, Any], parts: Mapping[str, str]) -> Term:
    place: Place = "sentence"
    if raw.startswith("~"):
        place, raw = "before", raw[1:]
    elif raw.endswith("~"):
        place, raw = "after", raw[:-1]
    labels: set[str] = set()
    for name in raw.split("|"):
        if name == WORSE and place == "sentence":
            place = "reply"
            labels.add(name)
        elif name == ANY_PART:
            labels.update(PART + key for key in parts)
        elif name in parts:
            labels.add(PART + name)
        elif name in groups:
            labels.add(name)
        else:
            raise ValueError(f"{name!r} is not a [words] group, a body part, part or worse")
    if place == "reply" and labels != {WORSE}:
        raise ValueError("worse stands alone in its term")
    return Term(frozenset(labels), place)


def _rule(concept: str, text: str, groups: Mapping[str, Any], parts: Mapping[str, str]) -> Rule:
    anchor, *others = (raw.strip() for raw in text.split("+"))
    if anchor not in groups:
        raise ValueError(f"{anchor!r} must be a [words] group (the symptom word)")
    terms = tuple(_term(raw, groups, parts) for raw in others)
    named = {label for term in terms for label in term.labels if label.startswith(PART)}
    return Rule(concept, anchor, terms, frozenset(named) or None)


def _concept(
    key: str, table: Any, groups: Mapping[str, Any], parts: Mapping[str, str], source: str
) -> tuple[Concept, list[Rule]]:
    where = f"red_flags.concepts.{key}"
    if not isinstance(table, dict):
        raise LexiconError(f"{source}: [{where}] must be a table")
    unknown = set(table) - {"title", "with_parts", "when"}
    if unknown:
        raise LexiconError(f"{source}: unknown key [{where}.{sorted(unknown)[0]}]")
    title = _text(table, "title", where, source)
    with_parts = table.get("with_parts")
    if with_parts is not None and (not isinstance(with_parts, str) or "{parts}" not in with_parts):
        raise LexiconError(f"{source}: [{where}.with_parts] must be a text with {{parts}}")
    rules = []
    for text in _patterns(table.get("when"), f"{where}.when", source):
        try:
            rules.append(_rule(key, text, groups, parts))
        except ValueError as error:
            raise LexiconError(f"{source}: [{where}.when] {text!r}: {error}") from error
    return Concept(key, title, with_parts), rules


def _legacy(doc: Mapping[str, Any], groups: dict[str, Any], source: str) -> dict[str, Any]:
    """[urgent.symptoms] from older clinic files: each list is a concept of its own whose
    phrases are urgent alone (the same as a [words] group and a one-group `when`)."""
    concepts: dict[str, Any] = {}
    for key, value in _table(_table(doc, "urgent", source), "symptoms", source).items():
        groups[f"{key}_phrases"] = _patterns(value, f"urgent.symptoms.{key}", source)
        concepts[key] = {"title": key.replace("_", " "), "when": [f"{key}_phrases"]}
    return concepts


def build_red_flags(doc: Mapping[str, Any], syntax: Syntax, source: str) -> RedFlagRules:
    """Compile the red-flag tables of a merged lexicon document. Raises LexiconError."""
    groups = dict(_table(doc, "words", source))
    legacy = _legacy(doc, groups, source)
    parts: dict[str, str] = {}
    entries: list[tuple[str, str]] = []
    for name, value in groups.items():
        entries += [(p, name) for p in _patterns(value, f"words.{name}", source)]
    for key, table in _table(doc, "body_parts", source).items():
        where = f"body_parts.{key}"
        if not isinstance(table, dict):
            raise LexiconError(f"{source}: [{where}] must be a table")
        parts[key] = _text(table, "title", where, source)
        entries += [(p, PART + key) for p in _patterns(table.get("words"), where, source)]
    flags = _table(doc, "red_flags", source)
    concepts: dict[str, Concept] = {}
    by_anchor: dict[str, list[Rule]] = {}
    for key, table in (_table(flags, "concepts", source) | legacy).items():
        concept, rules = _concept(key, table, groups, parts, source)
        concepts[key] = concept
        for rule in rules:
            by_anchor.setdefault(rule.anchor, []).append(rule)
    near = flags.get("near")
    if not isinstance(near, int) or isinstance(near, bool) or not 0 <= near <= 5:
        raise LexiconError(f"{source}: [red_flags.near] must be a whole number from 0 to 5")
    older = _table(doc, "urgent", source).get("exceptions", [])  # older clinic files
    exceptions = _patterns(flags.get("exceptions", []), "red_flags.exceptions", source)
    exceptions += _patterns(older, "urgent.exceptions", source)
    markers = _patterns(flags.get("hypothetical", []), "red_flags.hypothetical", source)
    asked = _patterns(flags.get("asked_after", []), "red_flags.asked_after", source)
    proxies = _patterns(flags.get("for_patient", []), "red_flags.for_patient", source)
    persons = _patterns(flags.get("persons", []), "red_flags.persons", source)
    habits = _patterns(flags.get("habit", []), "red_flags.habit", source)
    shown = _patterns(flags.get("habit_shown", []), "red_flags.habit_shown", source)
    pronouns = _patterns(flags.get("pronouns", []), "red_flags.pronouns", source)
    asking = _patterns(flags.get("only_asking", []), "red_flags.only_asking", source)
    where = f"{source} [red_flags]"
    return RedFlagRules(
        vocabulary=build_scanner(entries, exceptions, syntax, where, False),
        hypothetical=build_scanner(
            [(m, "if") for m in markers] + [(m, "habit") for m in habits], [], syntax, where, False
        ),
        asked=build_scanner([(m, "ask") for m in asked], [], syntax, where, False),
        by_anchor=MappingProxyType({k: tuple(v) for k, v in by_anchor.items()}),
        concepts=MappingProxyType(concepts),
        parts=MappingProxyType(parts),
        near=near,
        words=frozenset(literal_words(pattern for pattern, _ in entries)),
        for_patient=build_scanner([(m, "proxy") for m in proxies], [], syntax, where, False),
        persons=frozenset(word for person in persons for word in fold(person)),
        habit_shown=build_scanner([(m, "shown") for m in shown], [], syntax, where, False),
        pronouns=frozenset(word for pronoun in pronouns for word in fold(pronoun)),
        only_asking=build_scanner([(m, "asking") for m in asking], [], syntax, where, False),
    )


def literal_words(patterns: Iterable[str]) -> set[str]:
    """The words a pattern spells out (stems without their *), for spelling tolerance."""
    words: set[str] = set()
    for pattern in patterns:
        for token in pattern.split():
            for alt in token.removesuffix("?").split("|"):
                if alt[:1].isdigit() or alt in ("*", "^", "$"):
                    continue
                words.update(_spelled(alt.removesuffix("*")))
    return words


@cache
def _spelled(alternative: str) -> tuple[str, ...]:
    # The same alternatives recur across the lexicon and each clinic file's rebuild.
    return tuple(word for word in fold(alternative) if word.isalpha())
