"""After an action the page comes back focused where the staff member was: the redirect's
fragment names the control used (or the element next to it), and that id is on the page.
(app.js moves focus there; tests/browser checks it in Chromium.)"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from followup.models import Treatment
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from


def _act(client: TestClient, page: str, action: str, data: dict[str, str]) -> str:
    """Post the page's form; return where the redirect sends the browser (checked to exist)."""
    token = csrf_from(client.get(page).text)
    response = client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    path, _, fragment = location.partition("#")
    assert path == page
    assert f'id="{fragment}"' in client.get(path).text, fragment
    return fragment


def test_escalation_actions_return_focus_to_the_control_used(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    page = f"/escalations/{two_clinics[0].escalation.id}"
    assert _act(staff_client, page, f"{page}/acknowledge", {}) == "act"
    assert _act(staff_client, page, f"{page}/reply", {"body": "Please call"}) == "reply-body"
    assert _act(staff_client, page, f"{page}/note", {"body": "Voicemail"}) == "note-body"
    staff_id = str(two_clinics[0].staff.id)
    assert _act(staff_client, page, f"{page}/assign", {"assignee_id": staff_id}) == "assignee"
    # Resolved, the actions are gone: focus goes to what happened.
    assert _act(staff_client, page, f"{page}/resolve", {"outcome": "Fine"}) == "what"
    assert _act(staff_client, page, f"{page}/acknowledge", {}) == "what"  # refused, same place


def test_patient_actions_return_focus_to_the_control_used(
    staff_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    page = f"/patients/{rows.patient.id}"
    with session_factory() as session:
        treatment_id = session.scalars(
            select(Treatment.id).where(Treatment.patient_id == rows.patient.id)
        ).one()
    treatment = f"{page}/treatments/{treatment_id}"
    assert _act(staff_client, page, f"{treatment}/pause", {}) == f"plan-{treatment_id}"
    assert _act(staff_client, page, f"{treatment}/resume", {}) == f"plan-{treatment_id}"
    message = f"{page}/messages/{rows.message.id}"
    assert _act(staff_client, page, f"{message}/resend", {}) == f"message-{rows.message.id}"
    assert _act(staff_client, page, f"{page}/notes", {"body": "Called"}) == "patient-note"
    assert _act(staff_client, page, f"{page}/opt-out", {}) == "record-consent"


def test_settings_changes_return_focus_to_their_section(staff_client: TestClient) -> None:
    added = _act(staff_client, "/settings", "/settings/on-call", {"name": "Dr. On Call"})
    assert added == "h-oncall"
