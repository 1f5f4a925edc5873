"""Negation and resolution in scope: the words around a match, within its clause.

"no fever but my lips are swollen": the negator reaches "fever", not past "but". Each
check reads a bounded number of characters, so a very long reply stays linear (a 100 kB
paste must not stall the webhook).
"""

from __future__ import annotations

from followup.replies.classifier.lexicon import Lexicon
from followup.replies.classifier.normalize import PUNCT

# Reading at most this many characters per word keeps every check bounded.
_WORD_SPAN = 48
# How far a resolution may look for the end of its clause, to read the next one.
_REACH = 8
# A place named right after a symptom moves its resolution this much further: "on my lips",
# "de los labios", "des paupières" (a preposition, a determiner, the part).
_PLACE_WORDS = 3


def _ends_clause(lex: Lexicon, word: str) -> bool:
    return word in PUNCT or word in lex.breakers


def _read(scanned: str, at: int, words: int, backwards: bool) -> list[str]:
    """Up to about `words` whole words of `scanned` before (or after) `at`, nearest first."""
    span = _WORD_SPAN * (words + 1)
    if backwards:
        found = scanned[max(0, at - span) : at].split()[::-1]
        cut = at > span  # the farthest word may be cut in half: drop it
    else:
        found = scanned[at : at + span].split()
        cut = at + span < len(scanned)
    return found[: len(found) - 1] if cut else found


def clause_words(lex: Lexicon, scanned: str, at: int, limit: int, backwards: bool) -> str:
    """Up to `limit` words of `scanned` before (or after) `at`, within the same clause."""
    kept: list[str] = []
    for word in _read(scanned, at, limit, backwards):
        if len(kept) == limit or _ends_clause(lex, word):
            break
        kept.append(word)
    return " ".join(kept[::-1] if backwards else kept)


def negated(lex: Lexicon, scanned: str, start: int, limit: int) -> bool:
    """A negator at most `limit` words before `start`, in the same clause: "no fever". A
    list joined by "or" carries it twice as far: "no sign of blisters or cold sores"."""
    before = clause_words(lex, scanned, start, limit, backwards=True)
    if next(lex.negators.scan(before), None) is not None:
        return True
    if lex.alternatives.isdisjoint(before.split()):
        return False
    wider = clause_words(lex, scanned, start, 2 * limit, backwards=True)
    return next(lex.negators.scan(wider), None) is not None


def denied_after(lex: Lexicon, scanned: str, end: int) -> bool:
    """A trailing negator right after a word, in its clause: "la rougeur ne s'étend pas",
    "ça enfle pas" (spoken French drops the "ne"); "enflé pas mal" (quite) is no denial."""
    after = clause_words(lex, scanned, end, 2, backwards=False).split(" ")
    return after[0] in lex.trailing and next(lex.negators.scan(" ".join(after)), None) is not None


def resolved(lex: Lexicon, scanned: str, end: int) -> bool:
    """A resolution just after a match ("the fever is gone"), after a new subject in its
    clause ("the blister popped and it healed"), or at the start of the next clause when
    that clause points back to it ("had a fever yesterday but it broke overnight")."""
    limit = lex.after_window
    words = _read(scanned, end, _REACH + limit + 2, backwards=False)
    clause: list[str] = []
    for word in words:
        if _ends_clause(lex, word) or len(clause) == _REACH:
            break
        clause.append(word)
    if clause and clause[0] in lex.places:  # "the swelling on my lips went down"
        limit += _PLACE_WORDS
    if _resolves(lex, clause, limit):
        return True
    for at, word in enumerate(clause[:-1]):
        fresh = word in lex.joins and clause[at + 1] in lex.carry_over
        if fresh and _resolves(lex, clause[at + 1 :], limit + 1):
            return True
    if len(clause) == _REACH:  # a long clause: what follows is about something else
        return False
    rest = words[len(clause) :]
    while rest and _ends_clause(lex, rest[0]):
        rest = rest[1:]
    if not rest or rest[0] not in lex.carry_over:
        return False
    following: list[str] = []
    for word in rest[: limit + 2]:
        if _ends_clause(lex, word):
            break
        following.append(word)
    return _resolves(lex, following, limit + 1)


def _resolves(lex: Lexicon, words: list[str], limit: int) -> bool:
    """A resolution among the first `limit` of `words` that no negator turns around ("not
    gone", "ça passe pas")."""
    within, text = len(" ".join(words[:limit])), " ".join(words[: limit + 1])
    for _, start, end in lex.resolved.scan(text):
        if start >= within:  # the word after the window: only read for a trailing negator
            break
        after = text[end + 1 :].split(" ", 1)[0]
        if next(lex.negators.scan(text[:start]), None) is None and after not in lex.trailing:
            return True
    return False
