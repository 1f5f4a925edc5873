"""Every response carries the security headers: a Content-Security-Policy with no inline
script or style, no framing, no MIME sniffing, same-origin referrers, HSTS behind https, and
no caching of anything a signed-in person or an API client was shown."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from tests.web_fixtures import ClinicRows
from tests.webapp import make_client

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "followup" / "web" / "templates"


def assert_security_headers(headers: httpx.Headers, where: str) -> None:
    assert headers["content-security-policy"] == CSP, where
    assert headers["x-frame-options"] == "DENY", where
    assert headers["x-content-type-options"] == "nosniff", where
    assert headers["referrer-policy"] == "same-origin", where
    assert headers["strict-transport-security"].startswith("max-age="), where


def test_every_kind_of_response_carries_the_security_headers(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    rows = two_clinics[0]
    for method, path in (
        ("GET", "/today"),
        ("GET", f"/patients/{rows.patient.id}"),
        ("GET", "/escalations/rows"),
        ("GET", "/static/app.js"),
        ("GET", "/healthz"),
        ("GET", "/no-such-page"),
        ("GET", "/api/v1/patients"),
        ("GET", "/api/v1/docs"),
        ("POST", "/webhooks/twilio/sms"),
        ("GET", "/r/not-a-token"),
    ):
        response = staff_client.request(method, path, follow_redirects=False)
        assert_security_headers(response.headers, f"{method} {path} {response.status_code}")


def test_signed_out_pages_carry_them_too(visitor_client: TestClient) -> None:
    for path in ("/login", "/today"):
        response = visitor_client.get(path, follow_redirects=False)
        assert_security_headers(response.headers, path)


def test_signed_in_pages_and_api_answers_are_never_cached(
    staff_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    rows = two_clinics[0]
    for path in (
        "/today",
        f"/patients/{rows.patient.id}",
        f"/escalations/{rows.escalation.id}",
        "/escalations/rows",
        "/reports.csv",
        "/api/v1/patients",
    ):
        response = staff_client.get(path)
        assert response.headers["cache-control"] == "no-store", path


def test_static_files_may_be_cached(staff_client: TestClient) -> None:
    response = staff_client.get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")


def test_no_hsts_when_the_public_url_is_plain_http(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    client = make_client(
        engine, session_factory, clock, tmp_path, public_url="http://127.0.0.1:8000"
    )
    response = client.get("/login")
    assert response.headers["content-security-policy"] == CSP
    assert "strict-transport-security" not in response.headers


INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style block": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "hx-on": re.compile(r"\b(hx|data-hx)-on", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_hold_no_inline_script_style_or_event_handler(template: Path) -> None:
    text = template.read_text()
    found = [name for name, pattern in INLINE.items() if pattern.search(text)]
    assert found == []


def test_htmx_is_told_not_to_inject_its_own_styles() -> None:
    base = (TEMPLATES / "base.html").read_text()
    assert '<meta name="htmx-config"' in base
    assert '"includeIndicatorStyles": false' in base
