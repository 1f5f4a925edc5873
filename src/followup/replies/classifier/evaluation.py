"""Scoring the classifier on a labelled set of replies (pure: text in, figures out).

The set is tab-separated with a header `text intent urgent concept lang note` (the older
`text intent urgent note` is read too), no quoting, a literal backslash-n for a line
break, `concept` the comma-separated concept keys a red flag must report (or empty).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from io import StringIO

from followup.replies.classifier.checks import classify
from followup.replies.classifier.lexicon import Lexicon
from followup.replies.classifier.model import Classification, Intent

HEADER = ("text", "intent", "urgent", "concept", "lang", "note")
OLD_HEADER = ("text", "intent", "urgent", "note")
_BOOLEANS = {"true": True, "false": False}


class LabelledSetError(ValueError):
    """The labelled set cannot be read: a wrong header or a malformed row (named)."""


@dataclass(frozen=True)
class LabelledReply:
    line: int  # in the file, for people fixing it
    text: str
    intent: Intent
    urgent: bool
    concepts: tuple[str, ...]
    lang: str
    note: str


@dataclass(frozen=True)
class Ratio:
    hits: int
    total: int

    @property
    def value(self) -> float:
        """hits / total; an empty set scores 1 (nothing to miss)."""
        return self.hits / self.total if self.total else 1.0


@dataclass(frozen=True)
class Outcome:
    reply: LabelledReply
    result: Classification

    @property
    def concepts(self) -> frozenset[str]:
        return frozenset(
            m.removeprefix("urgent:") for m in self.result.matched if m[:7] == "urgent:"
        )

    @property
    def missed_concepts(self) -> tuple[str, ...]:
        return tuple(c for c in self.reply.concepts if c not in self.concepts)

    @property
    def wrong(self) -> bool:
        return (
            self.result.urgent != self.reply.urgent
            or self.result.intent != self.reply.intent
            or bool(self.missed_concepts)
        )


def read_labelled(text: str) -> list[LabelledReply]:
    """The rows of a labelled set. Raises LabelledSetError naming the line at fault."""
    reader = csv.reader(StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = tuple(next(reader, ()))
    if header not in (HEADER, OLD_HEADER):
        raise LabelledSetError(f"line 1: the header must be {' '.join(HEADER)} (tab-separated)")
    replies = []
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise LabelledSetError(f"line {line}: {len(cells)} columns, not {len(header)}")
        row = dict(zip(header, cells, strict=True))
        try:
            intent, urgent = Intent(row["intent"]), _BOOLEANS[row["urgent"]]
        except (ValueError, KeyError) as error:
            raise LabelledSetError(f"line {line}: bad intent or urgent: {error}") from error
        concepts = tuple(c.strip() for c in row.get("concept", "").split(",") if c.strip())
        text_ = row["text"].replace("\\n", "\n")
        replies.append(
            LabelledReply(line, text_, intent, urgent, concepts, row.get("lang", ""), row["note"])
        )
    return replies


@dataclass(frozen=True)
class Evaluation:
    outcomes: tuple[Outcome, ...]

    def urgent_recall(self, lang: str | None = None) -> Ratio:
        urgent = [o for o in self._in(lang) if o.reply.urgent]
        return Ratio(sum(o.result.urgent for o in urgent), len(urgent))

    def false_alarms(self, lang: str | None = None) -> Ratio:
        """Replies labelled not urgent that were read as urgent, of all such replies."""
        calm = [o for o in self._in(lang) if not o.reply.urgent]
        return Ratio(sum(o.result.urgent for o in calm), len(calm))

    def intent_accuracy(self, lang: str | None = None) -> Ratio:
        rows = self._in(lang)
        return Ratio(sum(o.result.intent == o.reply.intent for o in rows), len(rows))

    @property
    def languages(self) -> list[str]:
        return sorted({o.reply.lang for o in self.outcomes})

    @property
    def concept_recall(self) -> dict[str, Ratio]:
        expected = Counter(c for o in self.outcomes for c in o.reply.concepts)
        found = Counter(c for o in self.outcomes for c in o.reply.concepts if c in o.concepts)
        return {c: Ratio(found[c], expected[c]) for c in sorted(expected)}

    @property
    def confusion(self) -> dict[tuple[Intent, Intent], int]:
        """(labelled, classified) -> how many replies."""
        return dict(Counter((o.reply.intent, o.result.intent) for o in self.outcomes))

    @property
    def misclassified(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.wrong]

    def _in(self, lang: str | None) -> list[Outcome]:
        return [o for o in self.outcomes if lang is None or o.reply.lang == lang]


def evaluate(replies: list[LabelledReply], lexicon: Lexicon | None = None) -> Evaluation:
    """Classify every labelled reply and keep what was expected next to what came out."""
    return Evaluation(tuple(Outcome(reply, classify(reply.text, lexicon)) for reply in replies))
