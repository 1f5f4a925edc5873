"""`followup replies simulate`: play the patient against the running app. The app runs under
uvicorn on a loopback port given only as FOLLOWUP_PORT, so the public URL the command posts
to and the one the app checks signatures against both come from the default."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from followup.cli import app
from followup.core.config import load_settings
from followup.core.runtime import build_runtime
from followup.models import Escalation, InboundMessage

PATIENT = "+14035550142"
CLINIC_NUMBER = "+14035550199"
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def clinic_with_patient(cli_env: URL, tmp_path: Path) -> URL:
    """cli_env's database plus a clinic with its own number and one enrolled patient."""
    for args in (
        ["clinic", "add", "--name", "Sim Clinic", "--slug", "sim", "--tz", "America/Edmonton",
         "--phone", "403-555-0134", "--sender", "403 555 0199"],
        ["enroll", "--clinic", "sim", "--first-name", "Nora", "--phone", "403 555 0142",
         "--treatment", "microneedling", "--treated-at", "2026-03-07T14:00"],
    ):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return cli_env


@pytest.fixture
def running_app(clinic_with_patient: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """The web app, built from the same environment as the command, on FOLLOWUP_PORT."""
    from followup.web.app import create_app

    port = _free_port()
    monkeypatch.setenv("FOLLOWUP_PORT", str(port))
    monkeypatch.delenv("FOLLOWUP_PUBLIC_URL", raising=False)
    runtime = build_runtime(load_settings())
    assert runtime.settings.public_url == f"http://127.0.0.1:{port}"
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
    yield clinic_with_patient
    server.should_exit = True
    thread.join(timeout=10)
    runtime.close()


def _stored(url: URL) -> tuple[list[InboundMessage], list[Escalation]]:
    runtime = build_runtime(load_settings())
    try:
        with runtime.sessions() as session:
            replies = list(session.scalars(select(InboundMessage)))
            escalations = list(session.scalars(select(Escalation)))
            session.expunge_all()
    finally:
        runtime.close()
    return replies, escalations


def test_a_signed_worse_reply_reaches_the_app_and_its_answer_is_printed(
    running_app: URL,
) -> None:
    result = runner.invoke(
        app, ["replies", "simulate", "--clinic", "sim", "--from", "(403) 555-0142", "WORSE"]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "Our team will contact you" in result.stdout
    # No auth token configured, console transport: how it was signed is said.
    assert "development token" in result.stderr
    [reply], [escalation] = _stored(running_app)
    assert (reply.from_address, reply.to_address, reply.body) == (PATIENT, CLINIC_NUMBER, "WORSE")
    assert reply.provider_sid.startswith("SM")
    assert escalation.inbound_message_id == reply.id


def test_a_configured_auth_token_signs_it(
    running_app: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_TWILIO_AUTH_TOKEN", "another-token")
    refused = runner.invoke(
        app, ["replies", "simulate", "--clinic", "sim", "--from", PATIENT, "better"]
    )
    # The app was started without it and checks against its own token: a 403, explained.
    assert refused.exit_code == 1
    assert "refused the signature (403)" in refused.stderr
    assert _stored(running_app) == ([], [])


def test_a_photo_goes_with_the_text(running_app: URL) -> None:
    result = runner.invoke(
        app,
        ["replies", "simulate", "--clinic", "sim", "--from", PATIENT, "--media",
         "https://api.twilio.com/m/1.jpg", "it looks like this"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [reply], _ = _stored(running_app)
    assert reply.media == [{"url": "https://api.twilio.com/m/1.jpg", "content_type": "image/jpeg"}]


def test_bad_input_is_one_line_and_exit_code_2(clinic_with_patient: URL) -> None:
    for args, message in (
        (["--clinic", "nowhere", "--from", PATIENT, "hi"], "no clinic with slug 'nowhere'"),
        (["--clinic", "sim", "--from", "hello", "hi"], "is not a phone number"),
        (["--clinic", "bow-river", "--from", PATIENT, "hi"], "has no number of its own"),
    ):
        result = runner.invoke(app, ["replies", "simulate", *args])
        assert result.exit_code == 2, result.output
        assert message in result.stderr


def test_nobody_listening_is_said(
    clinic_with_patient: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_PORT", str(_free_port()))
    result = runner.invoke(app, ["replies", "simulate", "--clinic", "sim", "--from", PATIENT, "hi"])
    assert result.exit_code == 1
    assert "is the app running" in result.stderr
