"""Finding red flags in a reply: symptom words combined as the lexicon's concepts say.

Every word of the vocabulary is found in one pass; only a reply with a symptom word pays
for the rest. A symptom word counts unless it is negated ("no swelling"), resolved ("the
swelling went down") or hypothetical ("what if it swells?"); then each `when` combination
that starts with its group is checked: a body part or an intensity in the same sentence,
an intensifier right before it ("very swollen"), a WORSE answer anywhere in the reply.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from followup.replies.classifier.concepts import PART, Rule, Term
from followup.replies.classifier.lexicon import Lexicon
from followup.replies.classifier.normalize import PUNCT
from followup.replies.classifier.scope import clause_words, denied_after, negated, resolved

_SENTENCE_ENDS = frozenset(".;!?")


@dataclass(frozen=True)
class Flag:
    """A concept found in a reply: which body parts were named, and the words that did it
    (start, end offsets in the scanned text, in reading order)."""

    concept: str
    parts: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Findings:
    flags: list[Flag]  # each concept once, in the order their first words appear
    recovered: bool  # a symptom was named as over ("the swelling went down")


@dataclass(frozen=True)
class _Hit:
    label: str
    start: int
    end: int
    first: int  # index of its first word in the scanned text
    last: int  # index of its last word
    clause: int
    sentence: int


class _Layout:
    """Where each word of a reply stands: its index, its clause and its sentence."""

    def __init__(self, lex: Lexicon, scanned: str) -> None:
        self.starts: list[int] = []
        self.clause_ends: list[int] = []
        self.sentence_ends: list[int] = []
        start = 0
        for word in scanned.split(" "):  # fold() joined single spaces: no empty words
            self.starts.append(start)
            if word in PUNCT or word in lex.breakers:
                self.clause_ends.append(start)
                if word in _SENTENCE_ENDS or word in lex.breakers:
                    self.sentence_ends.append(start)
            start += len(word) + 1

    def hit(self, label: str, start: int, end: int) -> _Hit:
        return _Hit(
            label,
            start,
            end,
            bisect_right(self.starts, start) - 1,
            bisect_right(self.starts, end - 1) - 1,
            bisect_right(self.clause_ends, start),
            bisect_right(self.sentence_ends, start),
        )


class _Reply:
    """One reply's vocabulary hits, indexed for the combination checks (each O(1))."""

    def __init__(
        self, lex: Lexicon, scanned: str, found: list[tuple[str, int, int]], worse: bool
    ) -> None:
        self.lex, self.scanned, self.worse = lex, scanned, worse
        self.recovered = False
        self.layout = _Layout(lex, scanned)
        self.hits = [self.layout.hit(*each) for each in found]
        self.in_sentence: dict[tuple[int, str], _Hit] = {}  # the first of each label
        self.parts: dict[int, list[_Hit]] = {}
        self.ending_at: dict[int, list[_Hit]] = {}
        self.starting_at: dict[int, list[_Hit]] = {}
        for hit in self.hits:
            self.in_sentence.setdefault((hit.sentence, hit.label), hit)
            if hit.label.startswith(PART):
                self.parts.setdefault(hit.sentence, []).append(hit)
            self.ending_at.setdefault(hit.last, []).append(hit)
            self.starting_at.setdefault(hit.first, []).append(hit)

    @cached_property
    def hypothetical(self) -> dict[int, int]:
        """Clause -> where its first "what if" starts. A marker naming a person ("my wife
        has") does not count when the reply says that person is the patient."""
        first: dict[int, int] = {}
        for label, start, end in self.lex.red_flags.hypothetical.scan(self.scanned):
            if self.for_patient and self._names_person(start, end):
                continue
            if label == "habit" and not self.habit_shown:
                continue  # "I usually get cold sores": one may be starting now
            clause = self.layout.hit("", start, start + 1).clause
            first.setdefault(clause, start)
            if self._names_person(start, end):
                self._carry_person(first, clause)
        return first

    def _carry_person(self, first: dict[int, int], clause: int) -> None:
        """The clauses after a person's are hers too while they start with "she", "il",
        "ella": "mon chum a la grippe, il fait de la fièvre"."""
        ends, scanned = self.layout.clause_ends, self.scanned
        while clause < len(ends):
            start = ends[clause] + len(scanned[ends[clause] :].split(" ", 1)[0]) + 1
            if scanned[start:].split(" ", 1)[0] not in self.lex.red_flags.pronouns:
                return
            clause += 1
            first.setdefault(clause, start)

    @cached_property
    def only_asking(self) -> bool:
        """The reply says it only asks ("just curious", "pregunto nomás"): a symptom in a
        question is no report then."""
        return next(self.lex.red_flags.only_asking.scan(self.scanned), None) is not None

    def _in_question(self, clause: int) -> bool:
        ends = self.layout.clause_ends
        return clause < len(ends) and self.scanned.startswith("?", ends[clause])

    @cached_property
    def for_patient(self) -> bool:
        """The reply is written for the patient by someone else: "my wife had her peel
        yesterday", "c'est le mari de votre patiente", "le escribo por mi hija"."""
        return next(self.lex.red_flags.for_patient.scan(self.scanned), None) is not None

    @cached_property
    def habit_shown(self) -> bool:
        """The reply says a habit is meant: "should I take my pills before?", "easily"."""
        return next(self.lex.red_flags.habit_shown.scan(self.scanned), None) is not None

    def _names_person(self, start: int, end: int) -> bool:
        return not self.lex.red_flags.persons.isdisjoint(self.scanned[start:end].split(" "))

    @cached_property
    def asked(self) -> dict[int, int]:
        """Clause -> where its last "happen later" starts, for clauses that end with "?"."""
        last: dict[int, int] = {}
        ends = self.layout.clause_ends
        for _, start, _ in self.lex.red_flags.asked.scan(self.scanned):
            clause = self.layout.hit("", start, start + 1).clause
            if clause < len(ends) and self.scanned.startswith("?", ends[clause]):
                last[clause] = start
        return last

    def counts(self, anchor: _Hit) -> bool:
        """The symptom word is present: not hypothetical, over or negated. A symptom that
        is over ("the swelling went down", "ya no supura") marks the reply `recovered`."""
        lex, scanned = self.lex, self.scanned
        marker = self.hypothetical.get(anchor.clause)
        if marker is not None and marker < anchor.start:
            return False
        if self.only_asking and self._in_question(anchor.clause):
            return False
        asked = self.asked.get(anchor.clause)
        if asked is not None and asked > anchor.start:  # "can swelling happen later?"
            return False
        if resolved(lex, scanned, anchor.end):
            self.recovered = True
            return False
        denied = denied_after(lex, scanned, anchor.end)  # "ça enfle pas"
        if denied or negated(lex, scanned, anchor.start, lex.window):
            before = clause_words(lex, scanned, anchor.start, lex.window, backwards=True)
            self.recovered |= next(lex.no_longer.scan(before), None) is not None
            return False
        return True

    def term(self, term: Term, anchor: _Hit) -> _Hit | bool | None:
        """The hit that satisfies `term` next to `anchor` (True: the WORSE answer)."""
        if term.place == "reply":
            return self.worse
        if term.place == "sentence":
            found = (self.in_sentence.get((anchor.sentence, label)) for label in term.labels)
            return next((hit for hit in found if hit is not None and self._stands(hit)), None)
        near = self.lex.red_flags.near
        if term.place == "before":
            at, index = range(anchor.first - 1, anchor.first - near - 2, -1), self.ending_at
        else:
            at, index = range(anchor.last + 1, anchor.last + near + 2), self.starting_at
        for position in at:
            for hit in index.get(position, ()):
                if hit.label in term.labels and hit.clause == anchor.clause:
                    return hit
        return None

    def _stands(self, hit: _Hit) -> bool:
        """A qualifier in the sentence counts unless negated ("the pain is not severe")."""
        lex, scanned = self.lex, self.scanned
        return hit.label.startswith(PART) or not (
            negated(lex, scanned, hit.start, lex.window) or denied_after(lex, scanned, hit.end)
        )

    def flag(self, rule: Rule, anchor: _Hit) -> Flag | None:
        spans = [(anchor.start, anchor.end)]
        for term in rule.terms:
            found = self.term(term, anchor)
            if not found:
                return None
            if isinstance(found, _Hit):
                spans.append((found.start, found.end))
        parts: tuple[str, ...] = ()
        if self.lex.red_flags.concepts[rule.concept].with_parts is not None:
            named = self.parts.get(anchor.sentence, ())
            wanted = [h for h in named if rule.parts is None or h.label in rule.parts]
            parts = tuple(dict.fromkeys(hit.label.removeprefix(PART) for hit in wanted))
            spans += [(hit.start, hit.end) for hit in wanted]
        return Flag(rule.concept, parts, tuple(sorted(set(spans))))


def find_red_flags(lex: Lexicon, scanned: str, worse: bool) -> Findings:
    """The red flags of `scanned` (the folded reply, words joined by spaces). `worse`: the
    reply also answers WORSE."""
    by_anchor = lex.red_flags.by_anchor
    found = list(lex.red_flags.vocabulary.scan(scanned))
    if not any(label in by_anchor for label, _, _ in found):
        return Findings([], False)
    reply = _Reply(lex, scanned, found, worse)
    fired: dict[str, Flag] = {}
    for anchor in reply.hits:
        rules = [r for r in by_anchor.get(anchor.label, ()) if r.concept not in fired]
        if not rules or not reply.counts(anchor):
            continue
        for rule in rules:
            if rule.concept not in fired and (flag := reply.flag(rule, anchor)) is not None:
                fired[rule.concept] = flag
    return Findings(list(fired.values()), reply.recovered)
