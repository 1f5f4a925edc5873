"""What a reply calls for, decided from data alone: which answer, which escalation.

Pure: it takes who sent the reply (replies.sender), how the text reads (the classifier)
and the few facts read beforehand, and returns a Decision; nothing here reads or writes.
Shared by every way a patient answers (SMS, a one-click email link), so an answer means
the same thing whichever way it came.
"""

from __future__ import annotations

from dataclasses import dataclass

from followup.models import EscalationPriority
from followup.replies.classifier import Classification, Intent, Lexicon, red_flag_reasons
from followup.replies.sender import Sender
from followup.replies.sms import InboundSms

# Advanced Opt-Out: Twilio already answered and tells us which keyword family it saw.
CARRIER_OPT_TYPES = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}
# What a sender we don't know may get: only what carriers require, in the language of the
# keyword they used (we know nothing else about them).
_UNKNOWN_SENDER_REPLIES = {Intent.OPT_OUT: "opt_out", Intent.HELP: "help"}
_KEYWORD_LANGUAGES = {
    "opt_out:arret": "fr",
    "help:aide": "fr",
    **{f"opt_out:{word}": "es" for word in ("baja", "alto", "parar", "cancelar")},
    "help:ayuda": "es",
}
_KEYWORD_REPLIES = {Intent.OPT_OUT: "opt_out", Intent.OPT_IN: "opt_in", Intent.HELP: "help"}
_CHECKIN_INTENTS = {Intent.BETTER, Intent.SAME, Intent.WORSE}


@dataclass(frozen=True)
class Decision:
    """What a reply calls for."""

    reply: str | None  # the automatic answer's template (_replies/<name>), or None
    priority: EscalationPriority | None  # the escalation to open, if any


@dataclass(frozen=True)
class Reading:
    """Who sent a reply, what it says, and what it calls for: everything decided before
    anything is written."""

    sender: Sender
    classification: Classification
    decision: Decision
    lang: str
    source: str  # "sms", or "sms_carrier" when Twilio's Advanced Opt-Out answered


def decide(
    classification: Classification,
    *,
    answered_by_carrier: bool = False,
    opted_out: bool = False,
    acknowledged_recently: bool = False,
) -> Decision:
    """The automatic answer and escalation a reply from a known patient calls for.

    Every reply gets an answer or a person, and most get both: keywords their carrier
    answer, check-ins thanks, WORSE and red flags the promise of a call (and a page to
    staff), anything else an acknowledgement with the clinic's hours and when to call,
    sent once per `acknowledged_recently` window so a conversation is not answered line
    by line. After STOP only keyword answers may be texted (carriers block the rest):
    staff still see the reply and can call."""
    intent = classification.intent
    # A red flag needs a person whatever else the reply says, even inside a STOP.
    priority = EscalationPriority.URGENT if classification.urgent else None
    if intent in _KEYWORD_REPLIES:
        return Decision(None if answered_by_carrier else _KEYWORD_REPLIES[intent], priority)
    if opted_out:
        return Decision(None, decide(classification).priority)
    if priority is not None:
        return Decision("urgent", priority)
    if intent is Intent.WORSE:
        return Decision("worse", EscalationPriority.NORMAL)
    if intent in _CHECKIN_INTENTS:
        return Decision("thanks", None)
    # A person reads it in the inbox; the machine gives no medical advice, only the
    # clinic's hours and when to call or go to emergency care.
    return Decision(None if acknowledged_recently else "ack", EscalationPriority.INBOX)


def needs_acknowledgement_check(sender: Sender, classification: Classification) -> bool:
    """Whether deciding on this reply depends on an acknowledgement sent recently (only a
    reply from a subscribed patient that would be acknowledged): saves a query otherwise."""
    patient = sender.patient
    return (
        patient is not None
        and patient.opted_out_at is None
        and classification.intent is Intent.OTHER
        and not classification.urgent
    )


def read_reply(
    sender: Sender,
    classification: Classification,
    sms: InboundSms,
    *,
    acknowledged_recently: bool = False,
) -> Reading:
    """What a reply from this sender calls for."""
    carrier_intent = CARRIER_OPT_TYPES.get(sms.opt_out_type or "")
    if sender.patient is None:
        decision = Decision(_UNKNOWN_SENDER_REPLIES.get(classification.intent), None)
        decision = Decision(None, None) if carrier_intent else decision
        lang = next(
            (_KEYWORD_LANGUAGES[m] for m in classification.matched if m in _KEYWORD_LANGUAGES),
            "en",
        )
    else:
        decision = decide(
            classification,
            answered_by_carrier=carrier_intent is not None,
            opted_out=sender.patient.opted_out_at is not None,
            acknowledged_recently=acknowledged_recently,
        )
        lang = sender.patient.language
    source = "sms_carrier" if carrier_intent else "sms"
    return Reading(sender, classification, decision, lang, source)


def describe(classification: Classification, lexicon: Lexicon) -> str:
    """The reason staff read, in words: the red flags as the lexicon names them ("red flag:
    swelling of the lips, fever") or the answer. Never the patient's words: the reason
    travels in alert SMS and emails, which are not private."""
    flags = red_flag_reasons(classification, lexicon)
    if flags:
        return "red flag: " + ", ".join(flags)
    if classification.intent is Intent.OTHER:
        return "reply needs reading"
    return f"patient answered {classification.intent.value}"
