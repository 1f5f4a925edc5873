"""The conversation on the patient and escalation pages, texting a patient from the patient
page, the escalation page's live part and reopening, patient search from the top bar, and
the sending number in the settings: through the real app, one clinic never seeing another's.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.escalations.lifecycle import acknowledge
from followup.models import (
    AuditEvent,
    Escalation,
    MessageKind,
    Patient,
    Role,
    ScheduledMessage,
)
from tests.factories import make_staff
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from

_STATE = re.compile(r'data-state="([0-9a-f]+)"')


def _post(client: TestClient, page: str, action: str, data: dict[str, str]) -> str:
    """Submit a form the way a browser does: token from the page, follow the redirect."""
    token = csrf_from(client.get(page).text)
    response = client.post(action, data={"csrf_token": token, **data})
    assert response.status_code == 200, response.text
    return response.text


def _audits(session_factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _staff_texts(session_factory: sessionmaker[Session]) -> list[ScheduledMessage]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(ScheduledMessage).where(ScheduledMessage.kind == MessageKind.STAFF_REPLY)
            )
        )


def test_patient_page_shows_the_conversation_and_texts_the_patient(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    page = f"/patients/{two_clinics[0].patient.id}"
    before = staff_client.get(page).text
    assert 'data-testid="conversation"' in before
    assert "worse, fever" in before  # the reply that opened the escalation

    after = _post(staff_client, page, f"{page}/text", {"body": "Maya, your photo looks fine."})

    assert "Text queued" in after
    conversation = after.split('data-testid="conversation"', 1)[1]
    assert "Maya, your photo looks fine." in conversation
    [text] = _staff_texts(session_factory)
    assert (text.patient_id, text.escalation_id) == (two_clinics[0].patient.id, None)
    [audited] = _audits(session_factory, "patient.text")
    assert audited.target_id == two_clinics[0].patient.id


def test_texting_after_stop_is_refused_with_a_clear_message(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    page = f"/patients/{rows.patient.id}"
    _post(staff_client, page, f"{page}/opt-out", {})

    refused = _post(staff_client, page, f"{page}/text", {"body": "Hello?"})

    assert "Not sent: the patient opted out of texts: call them instead." in refused
    assert _staff_texts(session_factory) == []
    assert _audits(session_factory, "patient.text") == []


def test_another_clinics_patient_cannot_be_texted(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    token = csrf_from(staff_client.get("/today").text)
    response = staff_client.post(
        f"/patients/{two_clinics[1].patient.id}/text", data={"csrf_token": token, "body": "hi"}
    )
    assert response.status_code == 404


def test_escalation_page_has_the_treatment_and_the_conversation_at_the_reply(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    escalation = two_clinics[0].escalation
    page = staff_client.get(f"/escalations/{escalation.id}").text

    context = page.split('data-testid="treatment-context"', 1)[1].split("</dl>", 1)[0]
    assert "Microneedling" in context  # the plan's title, not its slug
    assert "the day of the treatment" in context
    assert "none sent yet" in context
    opened = re.search(r'<li id="reply-(\d+)"[^>]*data-opened-escalation', page)
    assert opened is not None
    assert int(opened.group(1)) == escalation.inbound_message_id
    assert "worse, fever" in page.split('data-testid="conversation"', 1)[1]


def test_live_part_stays_quiet_until_someone_else_acknowledges(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    page = staff_client.get(f"/escalations/{rows.escalation.id}").text
    state = _STATE.search(page)
    assert state is not None
    live = f"/escalations/{rows.escalation.id}/live?state={state.group(1)}"
    hx = {"HX-Request": "true"}
    assert staff_client.get(live, headers=hx).status_code == 204

    with session_factory.begin() as session:
        colleague = make_staff(session, rows.clinic, email="grace@a.example", role=Role.STAFF)
        colleague.name = "Nurse Grace"
        escalation = session.get_one(Escalation, rows.escalation.id)
        acknowledge(session, escalation, colleague, rows.escalation.opened_at)
    changed = staff_client.get(live, headers=hx)

    assert changed.status_code == 200
    assert "<html" not in changed.text
    assert "by Nurse Grace" in changed.text
    assert "Acknowledge</button>" not in changed.text
    fresh = _STATE.search(changed.text)
    assert fresh is not None
    assert fresh.group(1) != state.group(1)
    assert staff_client.get(live.replace(state.group(1), fresh.group(1))).status_code == 204


def test_live_part_of_another_clinic_is_not_found(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    response = staff_client.get(f"/escalations/{two_clinics[1].escalation.id}/live")
    assert response.status_code == 404


def test_resolved_shows_time_taken_and_reopens_into_the_queue(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    page = f"/escalations/{two_clinics[0].escalation.id}"
    _post(staff_client, page, f"{page}/resolve", {"outcome": "Normal healing"})
    resolved = staff_client.get("/escalations?status=resolved").text
    assert "acknowledged in less than a minute" in resolved
    assert "resolved in less than a minute" in resolved
    assert "overdue" not in resolved

    reopened = _post(staff_client, page, f"{page}/reopen", {"reason": "She texted again"})

    assert "Reopened: it is back in the queue." in reopened
    assert "Earlier outcome: Normal healing" in reopened  # in the conversation, as a note
    assert "Maya" in staff_client.get("/escalations").text
    [audited] = _audits(session_factory, "escalation.reopen")
    assert audited.staff_user_id == two_clinics[0].staff.id


def test_search_from_the_top_bar_finds_only_this_clinics_patients(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    assert 'action="/search"' in staff_client.get("/today").text

    found = staff_client.get("/search", params={"q": "(403) 555-0101"}).text
    elsewhere = staff_client.get("/search", params={"q": "780 555 0111"}).text  # Zed's number

    results = found.split('data-testid="search-results"', 1)[1]
    assert f'href="/patients/{two_clinics[0].patient.id}"' in results
    assert "Zed" not in found
    assert 'data-testid="search-empty"' in elsewhere
    first, second = _audits(session_factory, "patient.search")
    assert first.detail == {
        "by": "phone",
        "found": 1,
        "patient_ids": [two_clinics[0].patient.id],
    }
    assert second.detail["found"] == 0
    assert "555" not in str(first.detail)  # what was typed is not copied into the audit log


def test_search_by_name_links_to_the_patient(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        session.get_one(Patient, two_clinics[0].patient.id).last_name = "Chen"
    page = staff_client.get("/search", params={"q": "maya ch"}).text
    assert "Maya Chen" in page
    assert 'value="maya ch"' in page  # the query stays in the field


def test_settings_show_the_sending_number(staff_client: TestClient) -> None:
    page = staff_client.get("/settings").text
    sending = page.split('data-testid="sending-number"', 1)[1].split("</dl>", 1)[0]
    assert "(403) 555-0199" in sending
