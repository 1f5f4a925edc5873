"""A real uvicorn server on loopback and Debian's Chromium driven by Playwright.

Without /usr/bin/chromium the browser tests skip, unless FOLLOWUP_REQUIRE_BROWSER=1 (CI),
where a missing browser is a failure: a green run must mean the dashboard was clicked.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session

from followup.core.config import load_settings
from followup.core.db import make_engine, make_session_factory
from followup.core.runtime import Runtime
from followup.demo import seed_demo
from followup.models import Base, Role
from followup.web.app import create_app
from tests.factories import make_clinic, make_staff

# Overridable only so a test can prove a missing browser fails the run under CI.
CHROMIUM = Path(os.environ.get("FOLLOWUP_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = os.environ.get("FOLLOWUP_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TWILIO_TOKEN = "browser-test-auth-token"
CLINIC_NUMBER = "+14035550199"
STAFF_EMAIL = "nurse@bowriver.example"


@dataclass(frozen=True)
class LiveServer:
    url: str
    runtime: Runtime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(root: Path, seed: Callable[[Session, Runtime], None]) -> Iterator[LiveServer]:
    """The whole app under uvicorn on a free loopback port, on a fresh SQLite file."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        data_dir=root / "var",
        database_url=f"sqlite:///{root / 'followup.db'}",
        secret_key="browser-test-secret-" + "x" * 32,
        public_url=url,
        twilio_auth_token=TWILIO_TOKEN,
        outbox_file=root / "outbox.jsonl",
    )
    engine = make_engine(settings.effective_database_url)
    Base.metadata.create_all(engine)
    runtime = Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
    with runtime.sessions.begin() as session:
        seed(session, runtime)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # start-up, not a wait for the app's behaviour
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(url, runtime)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A clinic with one admin and nobody enrolled yet."""
    yield from _serve(tmp_path_factory.mktemp("browser"), lambda session, _rt: _seed(session))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The `make run` demo clinic."""

    def seed(session: Session, runtime: Runtime) -> None:
        seed_demo(session, templates_dir=runtime.templates_dir, now=runtime.clock.now())

    yield from _serve(tmp_path_factory.mktemp("demo"), seed)


def _seed(session: Session) -> None:
    clinic = make_clinic(session, sender_number=CLINIC_NUMBER, contact_email="care@clinic.example")
    user = make_staff(session, clinic, email=STAFF_EMAIL, role=Role.ADMIN)
    user.name = "Nurse Ada"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"FOLLOWUP_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
