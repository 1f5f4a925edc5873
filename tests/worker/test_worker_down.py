"""A stopped worker nobody can miss: a real `followup worker` process beats, is killed with
SIGKILL, and /healthz, the dashboard's banner and `followup status` all say so once the
app's clock is past three heartbeat intervals. A clean stop leaves no row behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from followup.cli import _register, app
from followup.core.clock import FixedClock
from followup.models import ScheduledMessage, WorkerHeartbeat
from tests.factories import STAFF_PASSWORD, make_clinic, make_enrollment, make_staff
from tests.webapp import make_client, sign_in

pytestmark = pytest.mark.slow

HEARTBEAT_SECONDS = 1.0


def _wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Wait for a condition (not for time): True as soon as it holds, False on timeout."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        pause.wait(poll)
    return condition()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _heartbeat_of(engine: Engine, pid: int) -> WorkerHeartbeat | None:
    with Session(engine) as session:
        return session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.pid == pid))


@pytest.fixture
def worker_env(db_url: URL, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWUP_")}
    return env | {
        "FOLLOWUP_DATABASE_URL": db_url.render_as_string(hide_password=False),
        "FOLLOWUP_DATA_DIR": str(tmp_path / "var"),
        "FOLLOWUP_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "FOLLOWUP_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def running_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "followup", "worker"],
        env=worker_env | {"FOLLOWUP_WORKER_METRICS_PORT": str(port)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    process.metrics_port = port  # type: ignore[attr-defined]
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()


def _status(
    engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> tuple[int, dict[str, Any]]:
    """`followup status --json` at the clock's time (handed in as the command's context)."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("FOLLOWUP_DATA_DIR", str(data_dir))
    _register()
    result = CliRunner().invoke(app, ["status", "--json"], obj=clock)
    return result.exit_code, json.loads(result.output)


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_a_killed_worker_shows_in_healthz_the_banner_and_status(
    engine: Engine,
    session_factory: sessionmaker[Session],
    running_worker: subprocess.Popen[bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_now = datetime.now(UTC)
    with session_factory.begin() as session:
        clinic = make_clinic(session)
        make_staff(session, clinic)
        treatment = make_enrollment(session, clinic, now=real_now).treatment
        # Due a little after the worker's life, so only a live worker would have sent it.
        session.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.treatment_id == treatment.id, ScheduledMessage.step == "day1")
            .values(next_attempt_at=real_now + timedelta(minutes=2))
        )

    # The process's own heartbeat row, polled for (not waited for by time).
    assert _wait_until(lambda: _heartbeat_of(engine, running_worker.pid) is not None, 60), (
        running_worker.stderr.read().decode() if running_worker.poll() is not None else ""  # type: ignore[union-attr]
    )
    beat = _heartbeat_of(engine, running_worker.pid)
    assert beat is not None
    clock = FixedClock(beat.last_beat_at + timedelta(seconds=HEARTBEAT_SECONDS))
    client = make_client(engine, session_factory, clock, tmp_path)
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)

    assert client.get("/healthz").json()["workers"] == 1
    assert "operations-banner" not in client.get("/status/banner").text
    code, alive = _status(engine, clock, monkeypatch, tmp_path)
    assert (code, alive["status"], alive["workers"]["alive"]) == (0, "ok", 1)
    scraped = _scrape(running_worker.metrics_port)  # type: ignore[attr-defined]
    assert scraped["followup_workers_alive"][0][1] >= 1
    assert any(
        labels["worker"] == beat.worker_id
        for labels, _ in scraped["followup_worker_last_heartbeat_timestamp_seconds"]
    )

    running_worker.send_signal(signal.SIGKILL)
    assert running_worker.wait(timeout=30) == -signal.SIGKILL
    last_beat = _heartbeat_of(engine, running_worker.pid)
    assert last_beat is not None  # a killed worker cannot say goodbye
    clock.set(last_beat.last_beat_at + timedelta(minutes=3))  # past 3 intervals and 2 minutes

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "degraded",
        "database": "ok",
        "workers": 0,
        "spooled_replies": 0,
    }
    banner = client.get("/status/banner").text
    assert "operations-banner" in banner
    assert "No delivery worker has been heard from for 3 min" in banner
    code, dead = _status(engine, clock, monkeypatch, tmp_path)
    assert code == 1
    assert dead["status"] == "degraded"
    assert dead["workers"]["alive"] == 0
    assert [(w["pid"], w["alive"]) for w in dead["workers"]["seen"]] == [
        (running_worker.pid, False)
    ]
    assert dead["due"] >= 1


def test_a_worker_stopped_with_sigterm_removes_its_heartbeat(
    engine: Engine, running_worker: subprocess.Popen[bytes]
) -> None:
    assert _wait_until(lambda: _heartbeat_of(engine, running_worker.pid) is not None, 60)
    running_worker.send_signal(signal.SIGTERM)
    assert running_worker.wait(timeout=60) == 0
    assert _heartbeat_of(engine, running_worker.pid) is None


def test_the_banner_is_in_every_signed_in_page_and_polls_without_inline_script(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    with session_factory.begin() as session:
        make_staff(session, make_clinic(session))
    client = make_client(engine, session_factory, clock, tmp_path)
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    page = client.get("/today").text
    assert 'hx-get="/status/banner"' in page
    banner = client.get("/status/banner").text
    assert "No delivery worker is running." in banner  # none has ever beaten here
    assert "<script" not in banner
    assert "style=" not in banner
    signed_out = make_client(engine, session_factory, clock, tmp_path)
    assert 'hx-get="/status/banner"' not in signed_out.get("/login").text
