"""Dashboard safety: every route needs a session, every POST a CSRF token, every id is
scoped to the staff member's clinic, patient views are audited, logs carry no phone number."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from followup.models import AuditEvent, Escalation, EscalationStatus, Patient, Treatment
from tests.factories import STAFF_PASSWORD
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from, sign_in

# Reachable without a staff session, each for a reason: signing in itself, the load
# balancer's probe, Twilio (signature-checked), patients' signed links, static files and
# the booking-system API (token-authenticated), the browser's icon, and Prometheus (its own
# bearer token; tests/web/test_metrics.py).
PUBLIC = (
    "/login",
    "/healthz",
    "/metrics",
    "/webhooks/",
    "/r/",
    "/u/",
    "/static",
    "/api/",
    "/favicon.ico",
)


def _api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path. FastAPI >= 0.120 keeps included routers as
    branches (`original_router` + `include_context.prefix`), so walk them."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        included = getattr(route, "original_router", None)
        if included is not None:
            branch_prefix = prefix + getattr(route.include_context, "prefix", "")  # type: ignore[attr-defined]
            yield from _api_routes(included.routes, branch_prefix)


def _staff_routes(visitor_client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route that must need a session, path ids filled with 1."""
    found = []
    for full_path, route in _api_routes(visitor_client.app.routes):  # type: ignore[attr-defined]
        if full_path.startswith(PUBLIC):
            continue
        path = re.sub(r"\{[^}]+\}", "1", full_path)
        found.extend((method, path) for method in sorted(route.methods) if method != "HEAD")
    return found


def test_route_list_covers_the_dashboard(visitor_client: TestClient) -> None:
    paths = {path for _method, path in _staff_routes(visitor_client)}
    expected = ("/today", "/escalations", "/patients/1", "/enroll", "/settings", "/audit")
    for page in (*expected, "/inbox/unknown"):
        assert page in paths


def test_every_route_without_a_session_redirects_to_sign_in_or_answers_401(
    visitor_client: TestClient,
) -> None:
    for method, path in _staff_routes(visitor_client):
        response = visitor_client.request(method, path, follow_redirects=False)
        if response.status_code == 303 and not response.headers["location"].startswith("/login"):
            response = visitor_client.get(response.headers["location"], follow_redirects=False)
        assert response.status_code in (303, 401), (method, path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), (method, path)


def test_htmx_poll_without_a_session_answers_401(visitor_client: TestClient) -> None:
    response = visitor_client.get("/escalations/rows", headers={"HX-Request": "true"})
    assert response.status_code == 401


def test_post_without_a_valid_csrf_token_is_refused(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    sign_in(visitor_client, two_clinics[0].staff.email, STAFF_PASSWORD)
    posts = [path for method, path in _staff_routes(visitor_client) if method == "POST"]
    assert len(posts) > 10
    for path in posts:
        assert visitor_client.post(path, data={}).status_code == 403, path
        assert visitor_client.post(path, data={"csrf_token": "forged"}).status_code == 403, path
    escalation_id = two_clinics[0].escalation.id
    refused = visitor_client.post(
        f"/escalations/{escalation_id}/acknowledge", headers={"X-CSRF-Token": "forged"}
    )
    assert refused.status_code == 403
    with session_factory() as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation is not None
        assert escalation.status is EscalationStatus.OPEN  # nothing happened


def test_other_clinics_ids_answer_404(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    mine, theirs = two_clinics
    sign_in(visitor_client, mine.staff.email, STAFF_PASSWORD)
    with session_factory() as session:
        their_treatment = session.scalars(
            select(Treatment.id).where(Treatment.patient_id == theirs.patient.id)
        ).one()
    assert visitor_client.get(f"/patients/{theirs.patient.id}").status_code == 404
    assert visitor_client.get(f"/escalations/{theirs.escalation.id}").status_code == 404
    assert visitor_client.get(f"/patients/{mine.patient.id}").status_code == 200
    token = csrf_from(visitor_client.get("/today").text)
    posts = [
        f"/escalations/{theirs.escalation.id}/acknowledge",
        f"/escalations/{theirs.escalation.id}/resolve",
        f"/patients/{theirs.patient.id}/opt-out",
        f"/patients/{theirs.patient.id}/treatments/{their_treatment}/pause",
        f"/patients/{theirs.patient.id}/messages/{theirs.message.id}/resend",
        # my patient, their message: the pair must match too
        f"/patients/{mine.patient.id}/messages/{theirs.message.id}/cancel",
        f"/patients/{mine.patient.id}/treatments/{their_treatment}/pause",
    ]
    for path in posts:
        response = visitor_client.post(
            path, data={"csrf_token": token, "outcome": "x", "body": "x"}
        )
        assert response.status_code == 404, path
    assigned = visitor_client.post(
        f"/escalations/{mine.escalation.id}/assign",
        data={"csrf_token": token, "assignee_id": str(theirs.staff.id)},
    )
    assert assigned.status_code == 404  # can't hand work to another clinic's staff
    with session_factory() as session:
        patient = session.get(Patient, theirs.patient.id)
        assert patient is not None
        assert patient.opted_out_at is None


def test_staff_role_cannot_open_admin_pages(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    from tests.factories import make_staff

    with session_factory.begin() as session:
        clinic = session.merge(two_clinics[0].clinic)
        make_staff(session, clinic, email="plain@a.example")
    sign_in(visitor_client, "plain@a.example", STAFF_PASSWORD)
    assert visitor_client.get("/settings").status_code == 403
    assert visitor_client.get("/audit").status_code == 403
    assert visitor_client.get("/today").status_code == 200


def test_patient_and_escalation_views_are_audited(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
) -> None:
    rows = two_clinics[0]
    sign_in(visitor_client, rows.staff.email, STAFF_PASSWORD)
    visitor_client.get(f"/patients/{rows.patient.id}")
    visitor_client.get(f"/escalations/{rows.escalation.id}")
    with session_factory() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["patient.view", "escalation.view"]))
        ).all()
    assert {(e.action, e.target_id, e.actor) for e in events} == {
        ("patient.view", rows.patient.id, rows.staff.email),
        ("escalation.view", rows.escalation.id, rows.staff.email),
    }
    audit_page = visitor_client.get("/audit").text
    assert f"patient #{rows.patient.id}" in audit_page


def test_logs_never_carry_a_whole_phone_number(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = two_clinics[0]
    sign_in(visitor_client, rows.staff.email, STAFF_PASSWORD)
    token = csrf_from(visitor_client.get(f"/patients/{rows.patient.id}").text)
    visitor_client.post(
        f"/escalations/{rows.escalation.id}/reply", data={"csrf_token": token, "body": "Call us"}
    )
    visitor_client.post(f"/patients/{rows.patient.id}/opt-out", data={"csrf_token": token})
    visitor_client.post(
        "/enroll",
        data={
            "csrf_token": token,
            "first_name": "Nora",
            "phone": "4035550142",
            "treated_at": "2026-03-07T13:00",
            "consent": "yes",
            "step": "confirm",
        },
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for digits in (rows.patient.phone, rows.patient.phone[2:], "4035550142", "+14035550142"):
        assert digits not in logged


def test_browser_gets_a_readable_page_for_expired_form_and_missing_row(
    visitor_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    sign_in(visitor_client, two_clinics[0].staff.email, STAFF_PASSWORD)
    html = {"Accept": "text/html"}
    expired = visitor_client.post("/patients/1/opt-out", data={"csrf_token": "old"}, headers=html)
    assert expired.status_code == 403
    assert "The form expired" in expired.text
    assert "<html" in expired.text
    missing = visitor_client.get(f"/patients/{two_clinics[1].patient.id}", headers=html)
    assert missing.status_code == 404
    assert "Not found" in missing.text
