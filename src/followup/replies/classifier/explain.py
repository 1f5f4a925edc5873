"""Why a reply is urgent, in words staff read: the red flags and the patient's own words.

`red_flag_reasons` needs only the Classification (as stored with the reply); `evidence`
reads the reply again to point at the words that made each red flag.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from followup.replies.classifier.checks import spelled
from followup.replies.classifier.lexicon import Lexicon, default_lexicon
from followup.replies.classifier.model import Classification
from followup.replies.classifier.normalize import fold_spans
from followup.replies.classifier.red_flags import find_red_flags

_URGENT, _SITE = "urgent:", "site:"


@dataclass(frozen=True)
class Evidence:
    """The words of a reply behind one red flag: `spans` index the original text."""

    concept: str
    spans: tuple[tuple[int, int], ...]
    words: tuple[str, ...]  # the text of each span, as the patient wrote it


def red_flag_reasons(classification: Classification, lexicon: Lexicon | None = None) -> list[str]:
    """One line per red flag, in the order found: "swelling of the lips", "fever"."""
    lex = lexicon if lexicon is not None else default_lexicon()
    reasons = []
    for label in classification.matched:
        if not label.startswith(_URGENT):
            continue
        key = label.removeprefix(_URGENT)
        concept = lex.red_flags.concepts.get(key)
        title = concept.title if concept is not None else key.replace("_", " ")
        prefix = f"{_SITE}{key}:"
        parts = [lex.red_flags.parts.get(m.removeprefix(prefix), m.removeprefix(prefix))
                 for m in classification.matched if m.startswith(prefix)]  # fmt: skip
        if parts and concept is not None and concept.with_parts is not None:
            title = concept.with_parts.format(parts=_and(parts))
        reasons.append(title)
    return reasons


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def evidence(
    text: str, classification: Classification, lexicon: Lexicon | None = None
) -> list[Evidence]:
    """For each red flag of `classification` (which `classify(text, lexicon)` gave), the
    words of `text` that raised it. Never raises; a flag it cannot place is left out."""
    lex = lexicon if lexicon is not None else default_lexicon()
    wanted = [m.removeprefix(_URGENT) for m in classification.matched if m.startswith(_URGENT)]
    if not wanted:
        return []
    tokens = fold_spans(text)
    scanned = spelled(lex, [token for token, _, _ in tokens])
    starts, position = [], 0
    for word in scanned.split(" "):
        starts.append(position)
        position += len(word) + 1
    worse = any(m.startswith("worse:") for m in classification.matched)
    found = {flag.concept: flag for flag in find_red_flags(lex, scanned, worse).flags}
    result = []
    for concept in wanted:
        if concept not in found:
            continue
        spans = []
        for start, end in found[concept].spans:
            first = bisect_right(starts, start) - 1
            last = bisect_right(starts, end - 1) - 1
            spans.append((tokens[first][1], tokens[last][2]))
        merged = tuple(sorted(set(spans)))
        result.append(Evidence(concept, merged, tuple(text[a:b] for a, b in merged)))
    return result
