"""What a new user reads on the pages: words, not internal labels or slugs."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.outbox import transition
from followup.models import (
    ChannelPreference,
    Clinic,
    Escalation,
    InboundMessage,
    Language,
    MessageStatus,
    ScheduledMessage,
)
from tests.factories import make_enrollment
from tests.web_fixtures import ClinicRows, make_escalation


def test_patient_page_names_channel_language_and_treatment(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory.begin() as session:
        clinic = session.get(Clinic, two_clinics[0].clinic.id)
        assert clinic is not None
        enrolled = make_enrollment(
            session,
            clinic,
            now=clock.now(),
            first_name="Léa",
            phone="+14035550166",
            email="lea@example.com",
            channel=ChannelPreference.BOTH,
            language=Language.FR,
            treatment="chemical-peel",
        )
        patient_id = enrolled.patient.id
    page = staff_client.get(f"/patients/{patient_id}").text
    assert "SMS and email · French" in page
    assert "Chemical peel" in page
    assert "Day 1" in page
    for slug in ("BOTH", "· FR", "chemical-peel", ">day1<"):
        assert slug not in page
    listing = staff_client.get("/patients").text
    assert "Chemical peel" in listing
    assert "chemical-peel" not in listing


def test_escalation_page_reads_the_classifier_in_words(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    escalation = two_clinics[0].escalation
    with session_factory.begin() as session:
        row = session.get(Escalation, escalation.id)
        assert row is not None
        assert row.inbound_message_id is not None
        reply = session.get(InboundMessage, row.inbound_message_id)
        assert reply is not None
        reply.matched = ["urgent:face_swelling", "worse:getting worse"]
    page = staff_client.get(f"/escalations/{escalation.id}").text
    assert "read as: red flag: face swelling · worse (“getting worse”)" in page
    assert "urgent:face_swelling" not in page
    assert "worse:getting worse" not in page


def test_queue_ages_and_limits_read_as_words(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    rows = two_clinics[0]
    with session_factory.begin() as session:
        clinic = session.get(Clinic, rows.clinic.id)
        assert clinic is not None
        other = make_enrollment(
            session, clinic, now=clock.now(), first_name="Ivy", phone="+14035550177"
        )
        make_escalation(session, clinic, other.patient, clock.now() - timedelta(hours=2))
    page = staff_client.get("/escalations").text
    assert "2 hours" in page  # Ivy's escalation, two hours old
    assert "15 minutes" in page  # the urgent answer-within time
    assert "2 h 00" not in page
    assert "15 min<" not in page


def test_timeline_names_the_delivery_worker_not_its_lease_id(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    rows = two_clinics[0]
    worker = "clinic-node-1:4242:0a1b2c3d"
    with session_factory.begin() as session:
        message = session.get(ScheduledMessage, rows.message.id)
        assert message is not None
        transition(session, message, MessageStatus.SCHEDULED, at=clock.now(), actor="test")
        transition(session, message, MessageStatus.SENDING, at=clock.now(), actor=worker)
    page = staff_client.get(f"/patients/{rows.patient.id}").text
    assert "(the delivery worker)" in page
    assert worker not in page
    assert "clinic-node-1" not in page


def test_enroll_form_offers_words_not_codes(staff_client: TestClient) -> None:
    page = staff_client.get("/enroll").text
    for words in (">SMS and email<", ">English<", ">French<", ">Chemical peel<", ">Microneedling<"):
        assert words in page
    assert ">chemical-peel<" not in page
    assert "Français" not in page  # every language named in the page's own language
