"""Reply classification: a patient's text reply -> intent + urgency.

Pure and deterministic: no database, no network, no clock. The words live in a TOML
lexicon (followup/data/lexicon.toml, extendable per clinic), compiled once into a few
regular expressions; `checks` holds only the order of the checks:

1. carrier keywords (the whole reply is STOP, START, HELP, ...) -> urgent is False;
2. red-flag symptoms anywhere, unless negated ("no fever") or resolved ("fever is gone");
3. a clear opt-out / opt-in request inside a sentence ("please stop texting me");
4. check-in answers (worse / same / better, negations, one-letter typos);
5. else `other` -- but a red flag with no answer is `worse`: it is clearly not better.

`urgent` is independent of the intent: "stop texting me, I have a fever" is an opt-out
that staff must still see.

The parts: `model` (Intent, Classification, LexiconError), `normalize` (fold), `patterns`
(the lexicon's pattern language -> regexes), `lexicon` (loading, merging, validating the
TOML) and `classifier` (classify). Import from `followup.replies`, not from the parts.
"""

from __future__ import annotations

from followup.replies.classifier.checks import classify
from followup.replies.classifier.lexicon import Lexicon, default_lexicon, load_lexicon
from followup.replies.classifier.model import Classification, Intent, LexiconError
from followup.replies.classifier.normalize import fold

__all__ = [
    "Classification",
    "Intent",
    "Lexicon",
    "LexiconError",
    "classify",
    "default_lexicon",
    "fold",
    "load_lexicon",
]
