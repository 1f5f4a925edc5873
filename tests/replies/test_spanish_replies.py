"""Spanish is a third language of the classifier: keywords, sentences, answers, red flags."""

from __future__ import annotations

import pytest

from followup.replies import Classification, Intent, classify


@pytest.mark.parametrize(
    ("keyword", "intent"),
    [("BAJA", Intent.OPT_OUT), ("ALTO", Intent.OPT_OUT), ("PARAR", Intent.OPT_OUT),
     ("Cancelar", Intent.OPT_OUT), ("ALTA", Intent.OPT_IN), ("SÍ", Intent.OPT_IN),
     ("AYUDA", Intent.HELP)],
)  # fmt: skip
def test_spanish_carrier_keywords_are_whole_message_only(keyword: str, intent: Intent) -> None:
    assert classify(keyword).intent is intent
    assert classify(f"{keyword}!").intent is intent


@pytest.mark.parametrize(
    "text",
    ["voy a parar en la farmacia", "la fiebre está baja", "tengo que cancelar la cita"],
)
def test_a_spanish_keyword_inside_a_sentence_is_not_a_keyword(text: str) -> None:
    assert classify(text).intent not in {Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP}


@pytest.mark.parametrize(
    "text",
    [
        "ya no me manden mensajes por favor",
        "no quiero recibir más mensajes",
        "dejen de escribirme",
        "quiten mi número de su lista",
        "ya no quiero mensajes",
    ],
)
def test_spanish_opt_out_sentences(text: str) -> None:
    assert classify(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("peor", Intent.WORSE), ("empeoró", Intent.WORSE), ("va a peor", Intent.WORSE),
        ("no mejora", Intent.WORSE), ("mejor", Intent.BETTER), ("mucho mejor", Intent.BETTER),
        ("mejorando día a día", Intent.BETTER), ("igual", Intent.SAME),
        ("lo mismo", Intent.SAME), ("sigue igual", Intent.SAME), ("sin cambios", Intent.SAME),
        ("no peor", Intent.SAME),
    ],
)  # fmt: skip
def test_spanish_check_in_answers(text: str, intent: Intent) -> None:
    assert classify(text) == Classification(intent, False, classify(text).matched)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("tengo fiebre", "fever"),
        ("tengo 38.5", "fever"),
        ("me duele muchísimo la cara", "severe_pain"),
        ("tengo la cara hinchada", "swelling"),
        ("los labios inflamados", "swelling"),
        ("me sale pus de un granito", "infection"),
        ("no puedo respirar bien", "allergy_breathing"),
        ("ronchas en el cuello", "allergy_breathing"),
        ("me salieron ampollas", "blisters"),
        ("me salió un fuego en el labio", "blisters"),
        ("veo borroso", "vision"),
        ("no deja de sangrar", "bleeding"),
        ("la piel se puso gris", "blanched_skin"),
        ("el enrojecimiento se está extendiendo", "spreading_redness"),
    ],
)
def test_spanish_red_flags(text: str, concept: str) -> None:
    assert f"urgent:{concept}" in classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "no tengo fiebre",
        "sin dolor",
        "nada de pus",
        "ni fiebre ni hinchazón",
        "ya no me duele",
        "ya bajó la hinchazón",
        "la fiebre se fue",
        "ya pasó la fiebre",
        "desapareció la hinchazón",
        "qué hago si me da fiebre?",
        "cómo evito una infección?",
        "me arde poquito al lavarme",
    ],
)
def test_spanish_negation_resolution_and_questions(text: str) -> None:
    assert not classify(text).urgent, classify(text).matched


@pytest.mark.parametrize(
    "text",
    [
        "sin fiebre pero tengo los labios hinchados",
        "no me duele aunque tiene pus",
        "no hay fiebre, sin embargo tengo ampollas",
    ],
)
def test_spanish_clause_breakers_end_a_negation(text: str) -> None:
    assert classify(text).urgent, classify(text).matched
