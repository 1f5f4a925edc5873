"""A patient's reply, from the webhook's parsed form to everything it causes.

`classifier/` reads the text (pure: intent, urgency and which red flags), `receive` is the
use case in order (classify -> find the sender -> decide -> store once per MessageSid ->
act; the answer goes back in the TwiML), `sender` finds who texted, `actions` does what
a reply asks (opt out, opt in, check-in, escalation), `spool` keeps replies that arrive
while the database is down, and `runtime` holds the per-process pieces (lexicon, texts,
the spool's upkeep).
"""

from followup.replies.classifier import (
    Classification,
    Evidence,
    Intent,
    Lexicon,
    LexiconError,
    classify,
    default_lexicon,
    evidence,
    fold,
    load_lexicon,
    red_flag_reasons,
)

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
