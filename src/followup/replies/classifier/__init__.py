"""Reply classification: a patient's text reply -> intent + urgency, and why.

Pure and deterministic: no database, no network, no clock. The words live in a TOML
lexicon (followup/data/lexicon.toml, extendable per clinic), compiled once into a few
regular expressions; `checks` holds only the order of the checks:

1. carrier keywords (the whole reply is STOP, START, HELP, BAJA, ...) -> urgent is False;
2. check-in answers (worse / same / better, negations, one-letter typos);
3. red flags: symptom concepts (swelling, fever, ...) as the lexicon combines their words
   (in any form: the speller reads slips and endings, "hurtin", "fiebrita") with a body
   part, an intensity or a WORSE answer, unless negated ("no fever", "no blisters or cold
   sores"), resolved ("the fever is gone"), hypothetical ("what if I get a fever?"),
   asked about ("can swelling happen days later?", "what does infection look like?"), a
   habit or history ("had hives years ago") or someone else's ("my kid has a fever", and
   "he has a fever" after it), unless a relative writes for the patient ("my wife had her
   peel yesterday");
4. a clear opt-out / opt-in request inside a sentence ("please stop texting me");
5. the answer: a red flag makes it worse; a symptom named as over makes it better; else
   `other`.

`urgent` is independent of the intent: "stop texting me, I have a fever" is an opt-out
that staff must still see. `red_flag_reasons` and `evidence` say why, for staff.

The parts: `model` (Intent, Classification, LexiconError), `normalize` (fold), `patterns`
(the pattern language -> regexes), `lexicon` (loading, merging, validating the TOML),
`concepts` (the red-flag tables), `spelling` (slips in symptom words), `scope` (negation
and resolution in a clause), `red_flags` (finding them), `checks` (classify),
`explain` (reasons and evidence) and `evaluation` (scoring a labelled set). Import from
`followup.replies`, not from the parts.
"""

from __future__ import annotations

from followup.replies.classifier.checks import classify
from followup.replies.classifier.explain import Evidence, evidence, red_flag_reasons
from followup.replies.classifier.lexicon import Lexicon, default_lexicon, load_lexicon
from followup.replies.classifier.model import Classification, Intent, LexiconError
from followup.replies.classifier.normalize import fold

__all__ = [
    "Classification",
    "Evidence",
    "Intent",
    "Lexicon",
    "LexiconError",
    "classify",
    "default_lexicon",
    "evidence",
    "fold",
    "load_lexicon",
    "red_flag_reasons",
]
