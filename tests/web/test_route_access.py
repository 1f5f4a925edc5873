"""Who gets what, for every route of the app: the table below names each route's rule, and
the test walks `app.routes` and asks every route as each kind of caller. A route added
without a rule here fails the suite; so does a rule the server does not enforce (say an
admin action opened to staff sessions).

Callers: signed out; staff (role staff); a staff member still holding a temporary
password; an admin of the clinic whose rows the paths name; an admin of another clinic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Mount

from followup.admin.api_tokens import create_token
from followup.core.clock import FixedClock
from followup.models import OnCallContact, Role, Treatment
from tests.factories import STAFF_PASSWORD, make_staff
from tests.web_fixtures import ClinicRows
from tests.webapp import csrf_from, sign_in

LOGIN = "sign-in"  # pages redirect to /login, other requests answer 401
REFUSED = "403"
NOT_FOUND = "404"  # another clinic's ids look like no ids at all
OK = "allowed"  # past authorisation: the route itself answers
CHANGE_PASSWORD = "change password first"  # pages redirect to /account, the rest 403


@dataclass(frozen=True)
class Rule:
    signed_out: str
    staff: str
    temporary_password: str
    admin: str
    other_clinic_admin: str


# Any signed-in person, even one who must still replace a temporary password.
ACCOUNT = Rule(LOGIN, OK, OK, OK, OK)
# Staff of any role; the other clinic's admin sees their own clinic's page.
STAFF = Rule(LOGIN, OK, CHANGE_PASSWORD, OK, OK)
# Staff of any role, on a row of the first clinic.
STAFF_ROW = Rule(LOGIN, OK, CHANGE_PASSWORD, OK, NOT_FOUND)
ADMIN = Rule(LOGIN, REFUSED, CHANGE_PASSWORD, OK, OK)
ADMIN_ROW = Rule(LOGIN, REFUSED, CHANGE_PASSWORD, OK, NOT_FOUND)

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): STAFF,
    ("GET", "/today"): STAFF,
    ("GET", "/status/banner"): STAFF,
    ("GET", "/patients"): STAFF,
    ("GET", "/inbox/unknown"): STAFF,
    ("GET", "/escalations"): STAFF,
    ("GET", "/escalations/rows"): STAFF,
    ("GET", "/escalations/badge"): STAFF,
    ("GET", "/escalations/{escalation_id:int}"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/acknowledge"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/assign"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/note"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/reply"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/resolve"): STAFF_ROW,
    ("POST", "/escalations/{escalation_id:int}/reopen"): STAFF_ROW,
    ("GET", "/escalations/{escalation_id:int}/live"): STAFF_ROW,
    ("GET", "/patients/{patient_id:int}"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/text"): STAFF_ROW,
    ("GET", "/search"): STAFF,
    ("POST", "/patients/{patient_id:int}/treatments/{treatment_id:int}/pause"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/treatments/{treatment_id:int}/resume"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/messages/{message_id:int}/cancel"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/messages/{message_id:int}/reschedule"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/messages/{message_id:int}/resend"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/consent"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/opt-out"): STAFF_ROW,
    ("POST", "/patients/{patient_id:int}/notes"): STAFF_ROW,
    ("GET", "/enroll"): STAFF,
    ("POST", "/enroll"): STAFF,
    ("GET", "/import"): STAFF,
    ("POST", "/import"): STAFF,
    ("GET", "/import/{job_id}"): STAFF_ROW,
    ("GET", "/import/{job_id}/progress"): STAFF_ROW,
    ("GET", "/import/{job_id}/problems.csv"): STAFF_ROW,
    ("GET", "/reports"): STAFF,
    ("GET", "/reports.csv"): STAFF,
    ("GET", "/templates"): STAFF,
    ("GET", "/settings"): ADMIN,
    ("POST", "/settings/clinic"): ADMIN,
    ("POST", "/settings/office-hours"): ADMIN,
    ("POST", "/settings/sms-name-retention"): ADMIN,
    ("POST", "/settings/on-call"): ADMIN,
    ("POST", "/settings/on-call/{contact_id:int}"): ADMIN_ROW,
    ("POST", "/settings/staff"): ADMIN,
    ("POST", "/settings/staff/{staff_id:int}"): ADMIN_ROW,
    ("POST", "/settings/staff/{staff_id:int}/reset-password"): ADMIN_ROW,
    ("POST", "/settings/staff/{staff_id:int}/unlock"): ADMIN_ROW,
    ("GET", "/settings/api-tokens"): ADMIN,
    ("POST", "/settings/api-tokens"): ADMIN,
    ("POST", "/settings/api-tokens/{token_id:int}/revoke"): ADMIN_ROW,
    ("GET", "/audit"): ADMIN,
    ("GET", "/account"): ACCOUNT,
    ("POST", "/account/password"): ACCOUNT,
}

# Reachable without a staff session, each for its reason.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signing in",
    ("POST", "/logout"): "signing out: anyone may, a signed-out caller just gets the form",
    ("GET", "/healthz"): "the load balancer's probe",
    ("GET", "/favicon.ico"): "browsers ask for it before anyone signs in",
    ("GET", "/metrics"): "Prometheus, authenticated by its own bearer token (404 without one)",
    ("POST", "/webhooks/twilio/sms"): "Twilio, authenticated by X-Twilio-Signature",
    ("POST", "/webhooks/twilio/status"): "Twilio, authenticated by X-Twilio-Signature",
    ("GET", "/r/{token}"): "a patient's signed link: the token is the credential",
    ("POST", "/r/{token}"): "a patient's signed link: the token is the credential",
    ("GET", "/u/{token}"): "a patient's unsubscribe link (RFC 8058): the token",
    ("POST", "/u/{token}"): "a patient's unsubscribe link (RFC 8058): the token",
    ("MOUNT", "/static"): "stylesheets, scripts, htmx",
    ("MOUNT", "/api/v1"): "the booking-system API: its own bearer tokens (tests/api)",
}


def app_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, mounts as ("MOUNT", path). FastAPI keeps included
    routers as branches (`original_router` + `include_context.prefix`): walk them too."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, prefix + route.path
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        included = getattr(route, "original_router", None)
        if included is not None:
            branch = prefix + getattr(route.include_context, "prefix", "")  # type: ignore[attr-defined]
            yield from app_routes(included.routes, branch)


@dataclass
class World:
    clients: dict[str, TestClient]  # one signed-in (or not) browser per kind of caller
    tokens: dict[str, str]  # each browser's CSRF token
    ids: dict[str, int | str]  # path parameters: rows of the first clinic


@pytest.fixture
def world(
    visitor_client: TestClient,
    two_clinics: tuple[ClinicRows, ClinicRows],
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> World:
    mine, theirs = two_clinics
    with session_factory.begin() as session:
        clinic = session.merge(mine.clinic)
        plain = make_staff(session, clinic, email="plain@a.example")
        temporary = make_staff(session, clinic, email="temporary@a.example", role=Role.ADMIN)
        temporary.password_change_required = True
        contact = OnCallContact(clinic_id=clinic.id, name="Dr. On Call", phone="+14035550150")
        session.add(contact)
        token = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
        treatment_id = session.scalars(
            select(Treatment.id).where(Treatment.patient_id == mine.patient.id)
        ).one()
        session.flush()
        ids: dict[str, int | str] = {
            "escalation_id": mine.escalation.id,
            "patient_id": mine.patient.id,
            "treatment_id": treatment_id,
            "message_id": mine.message.id,
            "contact_id": contact.id,
            "staff_id": plain.id,
            "token_id": token.token.id,
        }
    app, base = visitor_client.app, str(visitor_client.base_url)
    jobs = app.state.import_jobs  # type: ignore[attr-defined]
    job = jobs.start(
        clinic_id=mine.clinic.id,
        actor="test",
        filename="one.csv",
        text=(
            "first_name,phone,treatment,treated_at\n"
            "Ana,403-555-0101,microneedling,2026-03-06 15:00\n"
        ),
        dry_run=True,
    )
    ids["job_id"] = jobs.wait(job.id, timeout=60).id
    clients = {"signed_out": visitor_client}
    for caller, email in (
        ("staff", "plain@a.example"),
        ("temporary_password", "temporary@a.example"),
        ("admin", mine.staff.email),
        ("other_clinic_admin", theirs.staff.email),
    ):
        clients[caller] = TestClient(app, base_url=base)
        sign_in(clients[caller], email, STAFF_PASSWORD)
    tokens = {
        caller: csrf_from(client.get("/login" if caller == "signed_out" else "/account").text)
        for caller, client in clients.items()
    }
    return World(clients, tokens, ids)


def fill(path: str, ids: dict[str, int | str]) -> str:
    return re.sub(r"\{(\w+)(:int)?\}", lambda m: str(ids[m.group(1)]), path)


def form_for(world: World, caller: str) -> dict[str, str]:
    """Every field any of the forms requires, so that a form's own validation never answers
    before the authorisation being tested (it would hide a 404 behind a 422)."""
    return {
        "csrf_token": world.tokens[caller],
        "role": "staff",
        "active": "yes",
        "body": "Checked by phone.",
        "outcome": "Seen in clinic.",
        "assignee_id": str(world.ids["staff_id"]),
        "send_at": "2026-03-09T11:00",
        "name": "Someone",
        "email": "someone@a.example",
        "password": "a-long-enough-password",
        "timezone": "America/Edmonton",
        "default_send_time": "10:00",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "urgent_sla_minutes": "15",
        "normal_sla_minutes": "120",
    }


def outcome(response: httpx.Response) -> str:
    location = response.headers.get("location", "")
    if response.status_code == 401 or (response.status_code == 303 and "/login" in location):
        return LOGIN
    if response.status_code == 303 and location == "/account":
        return CHANGE_PASSWORD
    if response.status_code == 403:
        if "password" in response.text.lower() and "first" in response.text.lower():
            return CHANGE_PASSWORD
        return REFUSED
    if response.status_code == 404:
        return NOT_FOUND
    assert response.status_code in (200, 201, 303, 400, 422), response.status_code
    return OK


def ask(world: World, caller: str, method: str, path: str) -> str:
    client = world.clients[caller]
    url = fill(path, world.ids)
    if method == "GET":
        return outcome(client.get(url, follow_redirects=False))
    return outcome(client.post(url, data=form_for(world, caller), follow_redirects=False))


def test_every_route_has_a_rule(visitor_client: TestClient) -> None:
    found = set(app_routes(visitor_client.app.routes))  # type: ignore[attr-defined]
    assert found - set(RULES) - set(PUBLIC) == set(), "routes without a rule in this table"
    assert (set(RULES) | set(PUBLIC)) - found == set(), "rules for routes that are gone"
    assert not set(RULES) & set(PUBLIC)


# The order matters: callers who must not change anything go first, then staff and the
# admin, whose allowed requests really act (the admin last: a password reset ends the
# staff member's sessions).
CALLERS = ("signed_out", "other_clinic_admin", "temporary_password", "staff", "admin")


def test_every_caller_gets_what_the_table_says_on_every_route(world: World) -> None:
    got: dict[tuple[str, str, str], str] = {}
    for caller in CALLERS:
        for method, path in RULES:
            got[(caller, method, path)] = ask(world, caller, method, path)
    wrong = [
        f"{caller} {method} {path}: got {answer}, want {getattr(RULES[(method, path)], caller)}"
        for (caller, method, path), answer in got.items()
        if answer != getattr(RULES[(method, path)], caller)
    ]
    assert wrong == []


def test_a_staff_session_is_refused_every_admin_action(world: World) -> None:
    admin_posts = [
        path for (method, path), rule in RULES.items() if method == "POST" and rule.staff == REFUSED
    ]
    assert len(admin_posts) >= 9
    for path in admin_posts:
        response = world.clients["staff"].post(
            fill(path, world.ids), data=form_for(world, "staff"), follow_redirects=False
        )
        assert response.status_code == 403, path


def test_public_pages_open_without_a_session(visitor_client: TestClient) -> None:
    for method, path in PUBLIC:
        if method == "GET":
            url = path.replace("{token}", "not-a-signed-link")
            response = visitor_client.get(url, follow_redirects=False)
            # /metrics answers only its own bearer token, and 404 while none is configured.
            expected = (404,) if path == "/metrics" else (200, 400)
            assert response.status_code in expected, (path, response.status_code)
