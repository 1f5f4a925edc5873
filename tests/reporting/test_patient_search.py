"""Finding a patient by name, phone number (written any way) or email, in one clinic only."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from followup.core.clock import FixedClock
from followup.models import Clinic
from followup.reporting.patient_search import SearchKind, search_patients
from tests.factories import make_clinic, make_enrollment


@pytest.fixture
def clinics(session: Session, clock: FixedClock) -> tuple[Clinic, Clinic]:
    with session.begin():
        clinic = make_clinic(session)
        for first, last, phone, email in (
            ("Maya", "Chen", "+14035550101", "maya.chen@example.com"),
            ("Mayank", "Patel", "+14035550102", None),
            ("Liam", "Tremblay", "+15875550103", "liam@example.com"),
            ("Ana_", "Percent%", "+14035550104", None),
        ):
            result = make_enrollment(session, clinic, now=clock.now(), first_name=first,
                                     phone=phone, email=email)  # fmt: skip
            result.patient.last_name = last
        other = make_clinic(session, name="Elsewhere", sender_number="+14035550177")
        stranger = make_enrollment(session, other, now=clock.now(), phone="+14035550101")
        stranger.patient.last_name = "Chen"
    return clinic, other


def _names(session: Session, clinic: Clinic, query: str) -> list[str]:
    return [p.full_name for p in search_patients(session, clinic, query).patients]


@pytest.mark.parametrize(
    "query", ["403 555 0101", "(403) 555-0101", "+1 403-555-0101", "4035550101", "14035550101"]
)
def test_a_phone_number_written_any_way_finds_the_patient(
    session: Session, clinics: tuple[Clinic, Clinic], query: str
) -> None:
    clinic, _ = clinics
    result = search_patients(session, clinic, query)
    assert result.kind is SearchKind.PHONE
    assert [p.full_name for p in result.patients] == ["Maya Chen"]  # not the other clinic's


def test_the_last_digits_of_a_number_find_it_too(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    assert _names(session, clinic, "0103") == ["Liam Tremblay"]
    assert _names(session, clinic, "555 010") == []  # not the end of any number


def test_name_words_match_the_start_of_first_or_last_names(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    assert _names(session, clinic, "may") == ["Maya Chen", "Mayank Patel"]
    assert _names(session, clinic, "MAY ch") == ["Maya Chen"]
    assert _names(session, clinic, "trem") == ["Liam Tremblay"]
    assert _names(session, clinic, "aya") == []  # the start of a name, not any part


def test_an_email_address_finds_its_patient(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    result = search_patients(session, clinic, "Maya.Chen@Example.com")
    assert result.kind is SearchKind.EMAIL
    assert [p.full_name for p in result.patients] == ["Maya Chen"]


def test_wildcards_typed_by_staff_are_taken_literally(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    assert _names(session, clinic, "%") == []
    assert _names(session, clinic, "_") == []
    assert _names(session, clinic, "ana_") == ["Ana_ Percent%"]


def test_an_empty_query_searches_nothing_and_a_long_one_is_capped(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    assert search_patients(session, clinic, "   ").kind is None
    assert search_patients(session, clinic, "x" * 5000).query == "x" * 200


def test_more_matches_than_the_limit_are_said(
    session: Session, clinics: tuple[Clinic, Clinic]
) -> None:
    clinic, _ = clinics
    result = search_patients(session, clinic, "may", limit=1)
    assert ([p.full_name for p in result.patients], result.more) == (["Maya Chen"], True)
