"""Message rendering: the real templates' content rules, and failures that name their file."""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from pathlib import Path

import pytest

from followup.messages.plans import available_plans, load_plan
from followup.messages.rendering import (
    LANGUAGES,
    MessageRenderer,
    TemplateRef,
    TemplateRenderError,
    default_templates_dir,
    sample_context,
    sms_budget,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "messages"
SEED_RUNS = Path(__file__).resolve().parents[1] / "data" / "seed_runs.sha256"

# Every message, on every channel, says when to call the clinic and when to call 911.
RED_FLAGS = {
    "en": [
        "breakout (lasting|that lasts) (over|more than) a week",
        "severe redness",
        "swelling",
        "pus",
        "fever",
        "severe pain",
        "[Tt]rouble breathing",
        "face, lips or eyes",
        "911",
    ],
    "fr": [
        "boutons (qui )?durent plus d'une semaine",
        "(forte|une) rougeur( intense)?",
        "enflure|gonflement",
        "pus",
        "fièvre",
        "douleur intense|forte douleur",
        "respirer",
        "visage, (vos )?lèvres ou (vos )?yeux",
        "911",
    ],
    "es": [
        "granitos (siguen tras|que duran más de) una semana",
        "piel muy roja|enrojecimiento intenso",
        "hinchada|hinchazón",
        "pus",
        "fiebre",
        "dolor fuerte",
        "le falta el aire|le cuesta respirar",
        "la cara, los labios o los ojos",
        "911",
    ],
}
# The day-3 message says how long a breakout usually lasts; peels say how long peeling does.
ABOUT_A_WEEK = {
    "en": "within about a week",
    "fr": "en une semaine environ|pendant une semaine environ",
    "es": "en (una semana, aproximadamente|aproximadamente una semana)|"
    "durante una semana, aproximadamente",
}
CHECKIN_WORDS = {
    "en": ["BETTER", "SAME", "WORSE"],
    "fr": ["MIEUX", "PAREIL", "PIRE"],
    "es": ["MEJOR", "IGUAL", "PEOR"],
}
OPT_OUT = {"en": "Reply STOP to opt out", "fr": "Répondez ARRET", "es": "Responda STOP"}


@pytest.fixture(scope="module")
def renderer() -> MessageRenderer:
    return MessageRenderer(TEMPLATES)


def _all_refs(channel: str) -> list[TemplateRef]:
    return [ref for ref in MessageRenderer(TEMPLATES).template_names() if ref.channel == channel]


def _kind(ref: TemplateRef) -> str:
    return next(s.kind for s in load_plan(TEMPLATES, ref.plan).steps if s.name == ref.step)


def _assert_contact_and_red_flags(
    text: str, lang: str, context: dict[str, object], *, is_html: bool = False
) -> None:
    clinic = context["clinic"]
    assert isinstance(clinic, dict)
    assert (html.escape(clinic["name"]) if is_html else clinic["name"]) in text
    assert clinic["phone"] in text
    for pattern in RED_FLAGS[lang]:
        assert re.search(pattern, text), f"missing red flag {pattern!r}"


def test_every_plan_step_has_every_channel_in_every_language(renderer: MessageRenderer) -> None:
    expected = {
        TemplateRef(plan, step.name, channel, lang)
        for plan in available_plans(TEMPLATES)
        for step in load_plan(TEMPLATES, plan).steps
        for channel in ("sms", "email")
        for lang in ("en", "fr", "es")
    }
    assert set(renderer.template_names()) == expected
    assert LANGUAGES == ("en", "fr", "es")


def test_sample_clinic_names_are_the_long_worst_case() -> None:
    for lang in LANGUAGES:
        clinic = sample_context(lang)["clinic"]
        assert isinstance(clinic, dict)
        assert len(clinic["name"]) == 40


@pytest.mark.parametrize("ref", _all_refs("sms"), ids=str)
def test_sms_is_within_its_budget_and_says_when_to_call(
    renderer: MessageRenderer, ref: TemplateRef
) -> None:
    context = sample_context(ref.lang)
    sms = renderer.render_sms(ref.plan, ref.step, ref.lang, context)
    assert sms_budget(ref.lang).problems(sms.analysis) == [], sms.body
    assert sms.analysis.encoding == "GSM-7"
    assert sms.analysis.segments <= 3
    assert sms.body == sms.body.strip()
    assert "  " not in sms.body
    _assert_contact_and_red_flags(sms.body, ref.lang, context)
    # HTML escaping must never leak into a text message.
    assert "&amp;" not in sms.body


@pytest.mark.parametrize("ref", _all_refs("sms"), ids=str)
def test_sms_does_not_depend_on_the_patients_name(
    renderer: MessageRenderer, ref: TemplateRef
) -> None:
    # A name GSM-7 cannot carry (ç, ë, í) would switch the whole text to UCS-2 and
    # multiply its segments: text messages leave the name to emails.
    context = sample_context(ref.lang)
    context["patient"] = {"first_name": "Françoise-Zoë María"}
    sms = renderer.render_sms(ref.plan, ref.step, ref.lang, context)
    assert "Françoise" not in sms.body
    assert sms_budget(ref.lang).problems(sms.analysis) == []


@pytest.mark.parametrize(
    ("plan", "step"), [("microneedling", "day3"), ("chemical-peel", "day2")], ids=str
)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_breakouts_and_peeling_usually_settle_within_about_a_week(
    renderer: MessageRenderer, plan: str, step: str, lang: str
) -> None:
    context = sample_context(lang)
    email = renderer.render_email(plan, step, lang, context)
    sms = renderer.render_sms(plan, step, lang, context)
    for text in (sms.body, email.text, email.html):
        assert re.search(ABOUT_A_WEEK[lang], text), text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("plan", ["microneedling", "chemical-peel"])
def test_first_sms_says_how_to_opt_out(renderer: MessageRenderer, plan: str, lang: str) -> None:
    first = load_plan(TEMPLATES, plan).steps[0].name
    body = renderer.render_sms(plan, first, lang, sample_context(lang)).body
    assert OPT_OUT[lang] in body


@pytest.mark.parametrize("ref", _all_refs("sms"), ids=str)
def test_checkin_sms_asks_for_a_one_word_answer(
    renderer: MessageRenderer, ref: TemplateRef
) -> None:
    body = renderer.render_sms(ref.plan, ref.step, ref.lang, sample_context(ref.lang)).body
    asks = all(word in body for word in CHECKIN_WORDS[ref.lang])
    assert asks == (_kind(ref) == "checkin")


@pytest.mark.parametrize("ref", _all_refs("email"), ids=str)
def test_email_has_subject_text_and_self_contained_html(
    renderer: MessageRenderer, ref: TemplateRef
) -> None:
    context = sample_context(ref.lang)
    email = renderer.render_email(ref.plan, ref.step, ref.lang, context)
    assert email.subject
    assert "\n" not in email.subject
    _assert_contact_and_red_flags(email.text, ref.lang, context)
    _assert_contact_and_red_flags(email.html, ref.lang, context, is_html=True)
    assert "https://followup.example.org/u/7QK2M9" in email.text
    assert 'href="https://followup.example.org/u/7QK2M9"' in email.html
    assert email.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{ref.lang}">' in email.html
    # Inline styles only, nothing fetched from elsewhere (mail clients block it).
    for forbidden in ("<style", "<link", "<script", "<img", "src=", "url("):
        assert forbidden not in email.html


@pytest.mark.parametrize("ref", _all_refs("email"), ids=str)
def test_checkin_email_links_the_three_answers(renderer: MessageRenderer, ref: TemplateRef) -> None:
    email = renderer.render_email(ref.plan, ref.step, ref.lang, sample_context(ref.lang))
    links = [f"https://followup.example.org/r/7QK2M9/{o}" for o in ("better", "same", "worse")]
    has_links = all(f'href="{link}"' in email.html and link in email.text for link in links)
    assert has_links == (_kind(ref) == "checkin")


def test_html_is_escaped_only_in_html(renderer: MessageRenderer) -> None:
    context = sample_context("en")  # the clinic name contains "&"
    email = renderer.render_email("microneedling", "day1", "en", context)
    assert "Bow Valley Skin &amp; Laser Clinic" in email.html
    assert "Bow Valley Skin & Laser Clinic" in email.text


def test_patient_supplied_markup_is_escaped_in_html(renderer: MessageRenderer) -> None:
    context = sample_context("en")
    context["patient"] = {"first_name": "<b>Eve</b>"}
    email = renderer.render_email("microneedling", "day1", "en", context)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in email.html
    assert "<b>Eve</b>" not in email.html


def _seven_word_runs(text: str) -> set[str]:
    """Each run of seven words, hashed as tests/data/seed_runs.sha256 keeps the seed's."""
    words = text.lower().split()
    return {
        hashlib.sha256(" ".join(words[i : i + 7]).encode()).hexdigest()[:16]
        for i in range(len(words) - 6)
    }


def test_seed_sentences_are_not_copied() -> None:
    lines = SEED_RUNS.read_text().splitlines()
    seed_runs = {line for line in lines if line and not line.startswith("#")}
    assert len(seed_runs) > 700  # the whole seed, not an empty file
    # The check itself: a sentence taken from the seed would be found.
    assert (
        _seven_word_runs("These micro-injuries stimulate the body's natural healing process,")
        <= seed_runs
    )
    for path in TEMPLATES.rglob("*.*"):
        assert not _seven_word_runs(path.read_text()) & seed_runs, path


# --- failures ----------------------------------------------------------------------


def _copy_templates(tmp_path: Path) -> Path:
    shutil.copytree(TEMPLATES, tmp_path / "messages")
    return tmp_path / "messages"


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    path = templates / "microneedling" / "day3.sms.en.txt"
    path.write_text("Hi {{ patient.first_name }},\nsee you at {{ clinic.nmae }}.\n")
    with pytest.raises(TemplateRenderError) as caught:
        MessageRenderer(templates).render_sms("microneedling", "day3", "en", sample_context())
    message = str(caught.value)
    assert "microneedling/day3.sms.en.txt line 2" in message
    assert "nmae" in message
    assert "\n" not in message


def test_undefined_variable_in_a_partial_names_the_partial(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "_partials" / "sms.opt_out.en.txt").write_text("Reply {{ stop_word }}.\n")
    with pytest.raises(
        TemplateRenderError, match=r"_partials/sms.opt_out.en.txt line 1.*stop_word"
    ):
        MessageRenderer(templates).render_sms("microneedling", "day1", "en", sample_context())


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "microneedling" / "day1.email.fr.txt").write_text("Bonjour\n{% if %}\n")
    with pytest.raises(TemplateRenderError, match=r"microneedling/day1.email.fr.txt line 2"):
        MessageRenderer(templates).render_email("microneedling", "day1", "fr", sample_context())


def test_missing_template_is_a_render_error(renderer: MessageRenderer) -> None:
    with pytest.raises(TemplateRenderError, match=r"microneedling/day2.sms.en.txt.*not found"):
        renderer.render_sms("microneedling", "day2", "en", sample_context())


def test_sandbox_blocks_access_to_python_internals(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    path = templates / "microneedling" / "day1.sms.en.txt"
    path.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateRenderError):
        MessageRenderer(templates).render_sms("microneedling", "day1", "en", sample_context())


def test_sms_whitespace_is_tidied(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "microneedling" / "day1.sms.en.txt").write_text(
        "\n   Hi   {{ patient.first_name }} ,\t welcome.  \n\n\n  Bye.  \n\n"
    )
    sms = MessageRenderer(templates).render_sms("microneedling", "day1", "en", sample_context())
    assert sms.body == "Hi Alexandra , welcome.\nBye."


def test_compiled_templates_are_cached(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    renderer = MessageRenderer(templates)
    first = renderer.render_sms("microneedling", "day1", "en", sample_context())
    (templates / "microneedling" / "day1.sms.en.txt").write_text("changed")
    again = renderer.render_sms("microneedling", "day1", "en", sample_context())
    assert again.body == first.body


def test_default_templates_dir_is_the_repository_folder() -> None:
    assert default_templates_dir() == TEMPLATES


def test_runtime_error_in_an_expression_is_a_render_error(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "microneedling" / "day7.sms.en.txt").write_text("Day\n{{ step.day / 0 }}\n")
    with pytest.raises(TemplateRenderError, match=r"day7.sms.en.txt line 2: ZeroDivisionError"):
        MessageRenderer(templates).render_sms("microneedling", "day7", "en", sample_context())
