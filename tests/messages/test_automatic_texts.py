"""Auto-replies and staff alerts: carrier-friendly (GSM-7, at most two segments, even with
a 40-character clinic name) and saying what they must."""

from __future__ import annotations

from datetime import time

import pytest

from followup.messages.automatic import (
    REPLIES_WITHOUT_CLINIC,
    REPLY_NAMES,
    ReplyTexts,
    promised_time,
)
from followup.messages.office_hours import DAY_CODES
from followup.messages.rendering import sms_budget
from followup.messages.segments import analyze_sms
from followup.models import Clinic, Escalation, EscalationPriority
from tests.factories import TEMPLATES_DIR

TEXTS = ReplyTexts(TEMPLATES_DIR, "https://followup.example.org")
LONG_NAMES = {
    "en": "Bow Valley Skin & Laser Clinic, Downtown",
    "fr": "Clinique de dermatologie du Plateau-Mont",
    "es": "Centro de Estética y Piel del Valle, Sur",
}
LANGS = ("en", "fr", "es")
SATURDAY = DAY_CODES.index("sat")


def _clinic(
    lang: str,
    office_days: int = 0b0011111,
    opens: time = time(9, 0),
    closes: time = time(17, 0),
) -> Clinic:
    return Clinic(
        name=LONG_NAMES[lang],
        contact_phone="+14035550148",
        normal_sla_minutes=120,
        urgent_sla_minutes=15,
        office_days=office_days,
        office_opens_at=opens,
        office_closes_at=closes,
    )


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", REPLY_NAMES)
def test_every_reply_is_gsm7_and_at_most_two_segments(name: str, lang: str) -> None:
    for clinic in (_clinic(lang), None):
        if clinic is None and name not in REPLIES_WITHOUT_CLINIC:
            continue  # only carrier answers, `ack` and `delayed` go out with no clinic known
        analysis = analyze_sms(TEXTS.reply(name, lang, clinic))
        assert sms_budget(lang, reply=True).problems(analysis) == []
        assert analysis.encoding == "GSM-7"
        assert analysis.segments <= 2


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [n for n in REPLY_NAMES if n != "delayed"])
def test_every_reply_has_its_own_text_in_each_language(name: str, lang: str) -> None:
    assert (TEMPLATES_DIR / "_replies" / f"{name}.sms.{lang}.txt").is_file()
    if lang != "en":
        assert TEXTS.reply(name, lang, _clinic(lang)) != TEXTS.reply(name, "en", _clinic(lang))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "We read messages Monday to Friday, 9 am to 5 pm."),
        ("fr", "Nous lisons les messages du lundi au vendredi, de 9 h à 17 h."),
        ("es", "Lo leeremos de lunes a viernes, de 9:00 a 17:00."),
    ],
)
def test_ack_gives_the_clinics_reading_hours_and_when_to_call(lang: str, words: str) -> None:
    text = TEXTS.reply("ack", lang, _clinic(lang))
    assert text.startswith(LONG_NAMES[lang])
    assert words in text
    assert "(403) 555-0148" in text
    assert "911" in text.splitlines()[-1]


@pytest.mark.parametrize("lang", LANGS)
def test_ack_follows_the_clinics_hours_when_they_change(lang: str) -> None:
    weekdays = TEXTS.reply("ack", lang, _clinic(lang))
    saturdays = TEXTS.reply("ack", lang, _clinic(lang, 1 << SATURDAY, time(10), time(14)))
    assert weekdays != saturdays
    assert {"en": "Saturday, 10 am to 2 pm", "fr": "le samedi, de 10 h à 14 h",
            "es": "los sábados, de 10:00 a 14:00"}[lang] in saturdays  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_ack_without_a_clinic_still_says_when_to_call(lang: str) -> None:
    text = TEXTS.reply("ack", lang, None)
    assert "911" in text
    assert "None" not in text
    assert analyze_sms(text).segments <= 2


@pytest.mark.parametrize("lang", LANGS)
def test_ack_fits_its_budget_for_any_office_hours(lang: str) -> None:
    # Every set of days, with times that need minutes: the longest words there are.
    for office_days in range(1, 128):
        for opens, closes in ((time(9), time(17)), (time(10, 30), time(12, 30))):
            text = TEXTS.reply("ack", lang, _clinic(lang, office_days, opens, closes))
            analysis = analyze_sms(text)
            if analysis.encoding == "UCS-2":
                # "sábado" keeps its accent: the clinic's own words make this one UCS-2.
                assert lang == "es", text
                assert "sábado" in text, text
                assert analysis.segments <= 4, text
            else:
                assert sms_budget(lang, reply=True).problems(analysis) == [], text


@pytest.mark.parametrize(
    ("lang", "stop"), [("en", "Reply STOP"), ("fr", "Répondez ARRET"), ("es", "Responda STOP")]
)
def test_help_names_the_clinic_its_phone_and_how_to_stop(lang: str, stop: str) -> None:
    text = TEXTS.reply("help", lang, _clinic(lang))
    assert LONG_NAMES[lang] in text
    assert "(403) 555-0148" in text
    assert stop in text


@pytest.mark.parametrize(("lang", "lead"), [("en", "If you have trouble breathing"),
                                            ("fr", "Si vous avez du mal à respirer"),
                                            ("es", "Si le falta el aire")])  # fmt: skip
def test_urgent_reply_leads_with_emergency_guidance(lang: str, lead: str) -> None:
    text = TEXTS.reply("urgent", lang, _clinic(lang))
    assert text.startswith(lead)
    assert "911" in text.splitlines()[0]


@pytest.mark.parametrize(
    ("lang", "promise"),
    [("en", "within 2 hours"), ("fr", "d'ici 2 heures"), ("es", "en un plazo de 2 horas")],
)
def test_worse_reply_promises_the_clinic_time_and_gives_emergency_guidance(
    lang: str, promise: str
) -> None:
    text = TEXTS.reply("worse", lang, _clinic(lang))
    assert promise in text
    assert "911" in text


def test_spanish_speakers_get_spanish_answers() -> None:
    clinic = _clinic("es")
    assert TEXTS.reply("worse", "es", clinic).startswith(
        f"{LONG_NAMES['es']}: gracias por avisarnos. Nos pondremos en contacto con usted"
    )
    assert TEXTS.reply("urgent", "es", clinic).startswith(
        "Si le falta el aire o se le hinchan la cara, los labios o los ojos, llame al 911"
    )
    assert "¡gracias por avisarnos!" in TEXTS.reply("thanks", "es", clinic)
    assert "¿Preguntas? Llame al (403) 555-0148." in TEXTS.reply("help", "es", clinic)
    assert "se dio de baja" in TEXTS.reply("opt_out", "es", clinic)
    assert "Responda START" in TEXTS.reply("opt_out", "es", clinic)


def test_delayed_answer_speaks_every_language_within_two_segments() -> None:
    # Sent while the database is down, when nobody knows the patient's language.
    text = TEXTS.reply("delayed", "en", None)
    assert [line.split()[0] for line in text.splitlines()] == ["Our", "Système", "Sistema"]
    assert text.count("911") == 3
    assert analyze_sms(text).segments <= 2


@pytest.mark.parametrize(
    ("minutes", "lang", "words"),
    [
        (120, "en", "2 hours"),
        (60, "fr", "1 heure"),
        (15, "en", "15 minutes"),
        (90, "en", "90 minutes"),
        (120, "es", "2 horas"),
        (60, "es", "1 hora"),
        (15, "es", "15 minutos"),
        (1, "es", "1 minuto"),
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
