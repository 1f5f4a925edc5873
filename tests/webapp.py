"""Building the web app on a test database, and signing in through the real form."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import Clock
from followup.core.config import load_settings
from followup.core.runtime import Runtime
from followup.web.app import create_app

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PREVIEW = re.compile(r'name="preview_digest" value="([^"]+)"')


def make_client(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    tmp_path: Path,
    **settings: object,
) -> TestClient:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "secret_key": "test-secret-key-" + "x" * 32,
        "public_url": "https://clinic.example",
        "reply_budget_seconds": 10.0,  # replies are stored, not spooled, on a busy machine
    }
    values.update(settings)
    runtime = Runtime(
        settings=load_settings(**values), engine=engine, sessions=sessions, clock=clock
    )
    return TestClient(create_app(runtime), base_url="https://clinic.example")


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def preview_digest(html: str) -> str:
    """The enroll page's signed digest of what its schedule preview showed: Confirm sends
    it back, and enrolls only if nothing changed since."""
    match = _PREVIEW.search(html)
    assert match, "page has no schedule preview"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
