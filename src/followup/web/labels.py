"""The words staff read instead of internal codes: treatment titles rather than plan slugs,
"SMS and email" rather than BOTH, "English" rather than EN, "2 hours" rather than "2 h 00",
a classifier's match in plain words, and who did something rather than a worker's id.

Pure functions of their arguments (plan titles are read once per templates directory);
web.pages registers them as Jinja filters. A code nobody has words for yet is shown as it
is rather than hidden, so a new language or plan is never blank on a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from followup.messages.plans import PlanError, available_plans, load_plan

# The one place language names come from: pages, filters and forms all use it.
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "fr": "French", "es": "Spanish"}
CHANNEL_NAMES: Mapping[str, str] = {"sms": "SMS", "email": "Email", "both": "SMS and email"}
PRIORITY_NOUNS: Mapping[str, str] = {
    "urgent": "urgent escalation",
    "normal": "normal escalation",
    "inbox": "inbox message",
}
INTENT_WORDS: Mapping[str, str] = {
    "opt_out": "opt-out",
    "opt_in": "opt-in",
    "help": "help request",
    "worse": "worse",
    "better": "better",
    "same": "the same",
    "other": "needs reading",
}
# Who changed a message's status, as recorded in message_event.actor.
ACTOR_WORDS: Mapping[str, str] = {
    "twilio": "Twilio",
    "patient": "the patient",
    "inbound-spool": "a reply kept during an outage",
    "cli": "the command line",
    "system": "the system",
    "demo": "the demo set-up",
}
# A delivery worker's lease owner: host, process id and a random part (delivery.send).
_WORKER_ID = re.compile(r"^[^\s@]+:\d+:[0-9a-f]{8}$")
_STEP_DAY = re.compile(r"^day[-_ ]?(\d+)$")


def _code(value: object) -> str:
    """An enum's value or the string itself."""
    return str(getattr(value, "value", value))


def language_name(code: object) -> str:
    """'en' -> 'English'; a language without a name yet shows its code."""
    text = _code(code)
    return LANGUAGE_NAMES.get(text.lower(), text)


def channel_name(channel: object) -> str:
    """'both' -> 'SMS and email', 'sms' -> 'SMS', 'email' -> 'Email'."""
    text = _code(channel)
    return CHANNEL_NAMES.get(text.lower(), text)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def duration_words(delta: timedelta) -> str:
    """An age or a limit in words: '15 minutes', '2 hours', '2 hours 5 minutes',
    '1 day 3 hours'. Under a minute is 'less than a minute' (the queue refreshes every few
    seconds; counting seconds would only flicker)."""
    minutes = max(int(delta.total_seconds()), 0) // 60
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return _count(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _count(hours, "hour") + (f" {_count(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return _count(days, "day") + (f" {_count(hours, 'hour')}" if hours else "")


def treatment_title(kind: str, titles: Mapping[str, str]) -> str:
    """A treatment kind (a plan's folder name) as its plan.toml title: 'chemical-peel' ->
    'Chemical peel'. A plan that is gone (renamed, removed) is still named in words."""
    title = titles.get(kind)
    if title:
        return title
    return re.sub(r"[-_]+", " ", kind).strip().capitalize() or kind


@lru_cache(maxsize=4)
def plan_titles(templates_dir: Path) -> Mapping[str, str]:
    """Every plan's title by name, read once per process (like the plans themselves)."""
    titles: dict[str, str] = {}
    for name in available_plans(templates_dir):
        try:
            titles[name] = load_plan(templates_dir, name).title
        except PlanError:
            continue  # `followup templates check` reports a broken plan; a page just names it
    return titles


def step_label(step: str | None) -> str:
    """A plan step's name in words: 'day1' -> 'Day 1'; other names lose their separators."""
    if not step:
        return ""
    match = _STEP_DAY.match(step)
    if match:
        return f"Day {int(match.group(1))}"
    return re.sub(r"[-_]+", " ", step).strip().capitalize()


def intent_label(intent: object) -> str:
    """How a reply was read: 'opt_out' -> 'opt-out', 'other' -> 'needs reading'."""
    text = _code(intent)
    return INTENT_WORDS.get(text, text.replace("_", " "))


def matched_label(label: str) -> str:
    """One classifier match in words. The classifier reports 'urgent:face_swelling' (a red
    flag's concept), 'worse:getting worse' (an answer and the words that said it),
    'better:~bettr' (a typo it forgave) and 'opt_out:stop' (a keyword)."""
    kind, _, words = label.partition(":")
    if kind == "urgent":
        return f"red flag: {words.replace('_', ' ')}"
    answer = intent_label(kind)
    if not words or words == kind:
        return answer
    if words.startswith("~"):
        return f"{answer} (“{words[1:]}”, a typo)"
    return f"{answer} (“{words}”)"


def matched_labels(labels: list[str] | tuple[str, ...] | None) -> str:
    """All of a reply's matches in words, in the classifier's order, each once."""
    return " · ".join(dict.fromkeys(matched_label(label) for label in labels or ()))


def actor_label(actor: str | None) -> str:
    """Who changed something, in words: a delivery worker's lease id is 'the delivery
    worker' (a host name and process id mean nothing to staff); a staff member's email is
    already their name for this purpose."""
    if not actor:
        return ""
    if actor in ACTOR_WORDS:
        return ACTOR_WORDS[actor]
    if _WORKER_ID.match(actor):
        return "the delivery worker"
    return actor


def priority_noun(priority: object) -> str:
    """What an escalation of this priority is called when it is announced."""
    text = _code(priority)
    return PRIORITY_NOUNS.get(text, f"{text} escalation")
