"""Request bodies are capped before they are read: a declared Content-Length over the cap is
answered 413 without reading a byte, and a streamed (chunked) body is cut off once it passes
the cap, before any authentication. Each route family has its own cap."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from followup.core.config import load_settings
from followup.core.db import make_engine, make_session_factory
from followup.core.runtime import Runtime
from followup.models import Base
from followup.web.app import create_app

KB = 1024
MB = 1024 * KB
CHUNK = 16 * KB
CAPS = {"form": 64 * KB, "webhook": 64 * KB, "api": 1 * MB, "import": 10 * MB}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The whole app on an empty SQLite file: no request here gets as far as the database."""
    root = tmp_path_factory.mktemp("body-limit")
    settings = load_settings(
        data_dir=root / "var",
        database_url=f"sqlite:///{root / 'db.sqlite'}",
        secret_key="body-limit-secret-" + "x" * 32,
        public_url="https://clinic.example",
        twilio_auth_token="body-limit-token",
        max_body_bytes=CAPS["form"],
        max_body_webhook_bytes=CAPS["webhook"],
        max_body_api_bytes=CAPS["api"],
        max_body_import_bytes=CAPS["import"],
    )
    engine = make_engine(settings.effective_database_url)
    Base.metadata.create_all(engine)
    yield create_app(
        Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
    )
    engine.dispose()


@dataclass
class Answer:
    status: int
    bytes_read: int  # how much of the body the app pulled from the server


def send(
    app: FastAPI,
    path: str,
    supplied: int,
    *,
    declared: int | None,
    content_type: str = "application/json",
) -> Answer:
    """POST `supplied` bytes straight into the ASGI app, in chunks, counting what it reads.
    `declared` is the Content-Length header; None streams the body as a chunked upload."""
    headers = [
        (b"host", b"clinic.example"),
        (b"content-type", content_type.encode()),
        (b"x-twilio-signature", b"forged"),  # so the webhook reads its body
    ]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 40000),
        "server": ("clinic.example", 443),
    }
    read = 0
    status = 0
    # A multipart body opens like an upload, so the parser reads on; then filler.
    opening = UPLOAD_OPENING if content_type.startswith("multipart/") else b""
    chunk = b"a" * CHUNK

    async def receive() -> dict[str, object]:
        nonlocal read
        if read >= supplied:
            return {"type": "http.disconnect"}
        piece = (opening + chunk)[:CHUNK] if read == 0 else chunk
        piece = piece[: supplied - read]
        read += len(piece)
        return {"type": "http.request", "body": piece, "more_body": read < supplied}

    async def send_message(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    asyncio.run(app(scope, receive, send_message))  # type: ignore[arg-type]
    return Answer(status, read)


MULTIPART = "multipart/form-data; boundary=x"
UPLOAD_OPENING = (
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="patients.csv"\r\n'
    b"Content-Type: text/csv\r\n\r\n"
)
FORM = "application/x-www-form-urlencoded"
# Routes that read their body before deciding anything (FastAPI parses a declared body
# before it runs the dependencies that authenticate).
FAMILIES = [
    pytest.param("/api/v1/enrollments", "api", "application/json", id="api"),
    pytest.param("/webhooks/twilio/sms", "webhook", FORM, id="webhook"),
    pytest.param("/import", "import", MULTIPART, id="import"),
    pytest.param("/login", "form", FORM, id="sign-in"),
]


@pytest.mark.parametrize(("path", "family", "content_type"), FAMILIES)
def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body(
    app: FastAPI, path: str, family: str, content_type: str
) -> None:
    # 300 MB announced; a few MB actually offered, in case the app reads what it is given.
    answer = send(app, path, CAPS[family] + 4 * MB, declared=300 * MB, content_type=content_type)
    assert answer == Answer(413, 0)


@pytest.mark.parametrize(("path", "family", "content_type"), FAMILIES)
def test_a_streamed_body_is_cut_off_at_the_cap(
    app: FastAPI, path: str, family: str, content_type: str
) -> None:
    cap = CAPS[family]
    answer = send(app, path, cap + 4 * MB, declared=None, content_type=content_type)
    assert answer.status == 413
    assert answer.bytes_read <= cap + CHUNK


def test_a_dashboard_action_refuses_a_signed_out_post_without_reading_its_body(
    app: FastAPI,
) -> None:
    declared = send(app, "/patients/1/opt-out", 4 * MB, declared=300 * MB, content_type=FORM)
    assert declared == Answer(413, 0)
    # Streamed: the session is checked before the form is read, so nothing is read at all.
    streamed = send(app, "/patients/1/opt-out", 4 * MB, declared=None, content_type=FORM)
    assert streamed == Answer(401, 0)


def test_a_body_within_its_family_cap_goes_through(app: FastAPI) -> None:
    # Over the forms' cap but within the family's: the route reads all of it and answers
    # (these bodies are not valid multipart or JSON), not the limit.
    upload = send(app, "/import", 2 * MB, declared=2 * MB, content_type=MULTIPART)
    assert upload.status != 413
    assert upload.bytes_read == 2 * MB
    enrollment = send(app, "/api/v1/enrollments", 512 * KB, declared=None)
    assert enrollment.status != 413
    assert enrollment.bytes_read == 512 * KB


def test_a_real_server_answers_413_before_the_body_is_sent(app: FastAPI) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # start-up, not a wait for the behaviour under test
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"POST /api/v1/enrollments HTTP/1.1\r\nHost: clinic.example\r\n"
                b"Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n{"
            )
            head = conn.recv(4096)
        assert head.startswith(b"HTTP/1.1 413 "), head[:80]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_caps_are_settings(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.max_body_bytes == 64 * KB
    assert settings.max_body_webhook_bytes == 64 * KB
    assert settings.max_body_api_bytes == 1 * MB
    assert settings.max_body_import_bytes == 10 * MB
