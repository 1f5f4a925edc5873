"""The words pages use instead of internal codes (followup.web.labels): pure functions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from followup.models import ChannelPreference, EscalationPriority, Language
from followup.web import labels


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=45), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=15, seconds=59), "15 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=2, minutes=5), "2 hours 5 minutes"),
        (timedelta(hours=24), "1 day"),
        (timedelta(days=1, hours=3, minutes=40), "1 day 3 hours"),
        (timedelta(days=3), "3 days"),
        (timedelta(seconds=-30), "less than a minute"),
    ],
)
def test_durations_read_as_words(delta: timedelta, words: str) -> None:
    assert labels.duration_words(delta) == words


def test_languages_are_named_and_an_unnamed_one_shows_its_code() -> None:
    assert labels.language_name(Language.EN) == "English"
    assert labels.language_name("fr") == "French"
    assert labels.language_name("es") == "Spanish"
    assert labels.language_name("pt") == "pt"


def test_channels_are_named() -> None:
    assert labels.channel_name(ChannelPreference.BOTH) == "SMS and email"
    assert labels.channel_name("sms") == "SMS"
    assert labels.channel_name("email") == "Email"


def test_treatment_titles_come_from_the_plan_files(templates_dir: Path) -> None:
    titles = labels.plan_titles(templates_dir)
    assert titles["chemical-peel"] == "Chemical peel"
    assert labels.treatment_title("microneedling", titles) == "Microneedling"


def test_a_treatment_without_a_plan_is_still_named_in_words() -> None:
    assert labels.treatment_title("laser-resurfacing", {}) == "Laser resurfacing"


def test_plan_steps_read_as_days() -> None:
    assert labels.step_label("day1") == "Day 1"
    assert labels.step_label("day14") == "Day 14"
    assert labels.step_label("final_check") == "Final check"
    assert labels.step_label(None) == ""


@pytest.mark.parametrize(
    ("matched", "words"),
    [
        ("urgent:fever", "red flag: fever"),
        ("urgent:face_swelling", "red flag: face swelling"),
        ("worse:worse", "worse"),
        ("worse:getting worse", "worse (“getting worse”)"),
        ("worse:not better", "worse (“not better”)"),
        ("better:~bettr", "better (“bettr”, a typo)"),
        ("same:same", "the same"),
        ("opt_out:stop", "opt-out (“stop”)"),
        ("help:help", "help request"),
    ],
)
def test_classifier_matches_read_as_words(matched: str, words: str) -> None:
    assert labels.matched_label(matched) == words


def test_all_of_a_replys_matches_in_one_line_without_raw_labels() -> None:
    line = labels.matched_labels(["urgent:fever", "worse:worse", "urgent:fever"])
    assert line == "red flag: fever · worse"
    assert labels.matched_labels([]) == ""


def test_a_delivery_workers_id_is_the_delivery_worker() -> None:
    assert labels.actor_label("clinic-node-1:4242:0a1b2c3d") == "the delivery worker"
    assert labels.actor_label("twilio") == "Twilio"
    assert labels.actor_label("patient") == "the patient"
    assert labels.actor_label("nurse@clinic.example") == "nurse@clinic.example"
    assert labels.actor_label(None) == ""


def test_intents_read_as_words() -> None:
    assert labels.intent_label("opt_out") == "opt-out"
    assert labels.intent_label("other") == "needs reading"


def test_priorities_have_nouns_for_announcements() -> None:
    assert labels.priority_noun(EscalationPriority.URGENT) == "urgent escalation"
    assert labels.priority_noun("inbox") == "inbox message"
