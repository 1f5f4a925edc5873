"""The app under a real uvicorn process on loopback, for tests that measure it from outside.

The server runs in a child process of its own, so the test's HTTP clients do not share its
interpreter (and its GIL) and what a test times is what a client of the server would see.
The child builds the app from FOLLOWUP_* variables like `followup web`, with a fixed clock.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
NOW_VARIABLE = "LIVE_APP_NOW"  # the fixed clock's instant, ISO 8601


def app() -> FastAPI:
    """uvicorn's app factory, run in the child process."""
    from followup.core.clock import FixedClock
    from followup.core.config import load_settings
    from followup.core.runtime import build_runtime
    from followup.web.app import create_app

    clock = FixedClock(datetime.fromisoformat(os.environ[NOW_VARIABLE]))
    return create_app(build_runtime(load_settings(), clock))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_app(settings: dict[str, str], now: datetime, log_file: Path, port: int) -> Iterator[str]:
    """Serve the app on 127.0.0.1:`port` until the block ends; yields its base URL.
    `settings` are FOLLOWUP_* variables without the prefix (e.g. DATABASE_URL)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWUP_")}
    env.update({f"FOLLOWUP_{key}": value for key, value in settings.items()})
    env[NOW_VARIABLE] = now.isoformat()
    command = [
        sys.executable, "-m", "uvicorn", "tests.web.live_app:app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log_file.open("wb") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        try:
            _wait_until_serving(server, url, log_file)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, log_file: Path) -> None:
    """Start-up only: the process imports the app and binds the port."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {log_file.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not start: {log_file.read_text()}")
