"""The order of the checks: one reply, folded, run through the compiled lexicon."""

from __future__ import annotations

from followup.replies.classifier.lexicon import Lexicon, default_lexicon
from followup.replies.classifier.model import Classification, Intent
from followup.replies.classifier.normalize import PUNCT, fold


def classify(text: str, lexicon: Lexicon | None = None) -> Classification:
    """Classify one reply. Never raises on any text; same text, same answer."""
    lex = lexicon if lexicon is not None else default_lexicon()
    tokens = fold(text)
    words = [token for token in tokens if token not in PUNCT]
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
        if len(kept) == limit or word in PUNCT or word in lex.breakers:
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
