"""The order of the checks: one reply, folded, run through the compiled lexicon."""

from __future__ import annotations

from followup.replies.classifier.lexicon import Lexicon, default_lexicon
from followup.replies.classifier.model import Classification, Intent
from followup.replies.classifier.normalize import PUNCT, fold
from followup.replies.classifier.red_flags import Flag, find_red_flags
from followup.replies.classifier.scope import negated


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
    answer, answers = _checkin(lex, scanned, words)
    findings = find_red_flags(lex, spelled(lex, tokens), answer is Intent.WORSE)
    urgent = red_flag_labels(findings.flags)
    for scanner, intent in ((lex.opt_out, Intent.OPT_OUT), (lex.opt_in, Intent.OPT_IN)):
        request = next((label for label, _, _ in scanner.scan(scanned)), None)
        if request is not None:
            return Classification(intent, bool(urgent), (request, *urgent))
    if urgent and answer is not Intent.WORSE:
        # A red flag is clearly not better, whatever else the reply says ("much better,
        # just some pus"): the answer staff see recorded is worse.
        answer = Intent.WORSE
    elif answer is None and findings.recovered:
        answer, answers = Intent.BETTER, (RECOVERED,)  # "the swelling went down"
    return Classification(answer or Intent.OTHER, bool(urgent), urgent + answers)


# The label of a reply that names a symptom as over and gives no other answer.
RECOVERED = "better:symptom over"


def spelled(lex: Lexicon, tokens: list[str]) -> str:
    """The folded reply as the red-flag vocabulary reads it: "sw0llen" -> "swollen"."""
    return " ".join(lex.speller.correct(token) for token in tokens)


def red_flag_labels(flags: list[Flag]) -> tuple[str, ...]:
    """ "urgent:<concept>" for each flag, followed by "site:<concept>:<part>" for each body
    part it named, so staff can be told "swelling of the lips" from the labels alone."""
    labels: list[str] = []
    for flag in flags:
        labels.append(f"urgent:{flag.concept}")
        labels += [f"site:{flag.concept}:{part}" for part in flag.parts]
    return tuple(labels)


def _checkin(lex: Lexicon, scanned: str, words: list[str]) -> tuple[Intent | None, tuple[str, ...]]:
    found: list[tuple[Intent, str]] = []
    for label, start, _ in lex.checkin.scan(scanned):
        intent, phrase = label.split(":", 1)
        answer = Intent(intent)
        if negated(lex, scanned, start, lex.checkin_window):
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
