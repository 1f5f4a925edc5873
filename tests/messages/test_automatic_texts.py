"""Auto-replies and staff alerts: carrier-friendly (GSM-7, at most two segments, even with
a 40-character clinic name) and saying what they must."""

from __future__ import annotations

import pytest

from followup.messages.automatic import REPLY_NAMES, ReplyTexts, promised_time
from followup.messages.segments import analyze_sms
from followup.models import Clinic, Escalation, EscalationPriority
from tests.factories import TEMPLATES_DIR

TEXTS = ReplyTexts(TEMPLATES_DIR, "https://followup.example.org")
LONG_NAMES = {
    "en": "Bow Valley Skin & Laser Clinic, Downtown",
    "fr": "Clinique de dermatologie du Plateau-Mont",
}


def _clinic(lang: str) -> Clinic:
    return Clinic(
        name=LONG_NAMES[lang],
        contact_phone="+14035550148",
        normal_sla_minutes=120,
        urgent_sla_minutes=15,
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("name", REPLY_NAMES)
def test_every_reply_is_gsm7_and_at_most_two_segments(name: str, lang: str) -> None:
    for clinic in (_clinic(lang), None):
        if clinic is None and name not in {"opt_out", "help", "delayed"}:
            continue  # only carrier answers (and `delayed`) go out with no clinic known
        analysis = analyze_sms(TEXTS.reply(name, lang, clinic))
        assert analysis.encoding == "GSM-7"
        assert analysis.segments <= 2


@pytest.mark.parametrize(("lang", "stop"), [("en", "Reply STOP"), ("fr", "Répondez ARRET")])
def test_help_names_the_clinic_its_phone_and_how_to_stop(lang: str, stop: str) -> None:
    text = TEXTS.reply("help", lang, _clinic(lang))
    assert LONG_NAMES[lang] in text
    assert "(403) 555-0148" in text
    assert stop in text


@pytest.mark.parametrize(("lang", "lead"), [("en", "If you have trouble breathing"),
                                            ("fr", "Si vous avez du mal à respirer")])  # fmt: skip
def test_urgent_reply_leads_with_emergency_guidance(lang: str, lead: str) -> None:
    text = TEXTS.reply("urgent", lang, _clinic(lang))
    assert text.startswith(lead)
    assert "911" in text.splitlines()[0]


def test_worse_reply_promises_the_clinic_time_and_gives_emergency_guidance() -> None:
    text = TEXTS.reply("worse", "en", _clinic("en"))
    assert "within 2 hours" in text
    assert "911" in text


@pytest.mark.parametrize(
    ("minutes", "lang", "words"),
    [
        (120, "en", "2 hours"),
        (60, "fr", "1 heure"),
        (15, "en", "15 minutes"),
        (90, "en", "90 minutes"),
    ],
)
def test_promised_time_reads_naturally(minutes: int, lang: str, words: str) -> None:
    assert promised_time(minutes, lang) == words


def test_staff_alert_names_no_patient_and_links_the_dashboard() -> None:
    escalation = Escalation(id=7, priority=EscalationPriority.URGENT, reason="red flag: fever")
    alert = TEXTS.alert(_clinic("en"), escalation, media_count=1, reminder=False)
    assert alert.sms.startswith("URGENT")
    assert "https://followup.example.org/escalations/7" in alert.sms
    assert "15 minutes" in alert.sms
    assert "1 photo" in alert.sms
    assert analyze_sms(alert.sms).segments <= 2
    assert alert.subject.startswith("URGENT")
