"""/metrics: the database's gauges and the process's own instruments, scraped over HTTP with
the bearer token and parsed as Prometheus parses them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.config import load_settings
from followup.core.runtime import Runtime
from followup.delivery.heartbeats import WorkerIdentity, beat
from followup.models import (
    Escalation,
    EscalationPriority,
    EscalationStatus,
    ScheduledMessage,
)
from followup.reporting.metrics import registry_for
from tests.factories import make_clinic, make_enrollment
from tests.webapp import make_client

TOKEN = "scrape-me-" + "t" * 24
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def metrics_client(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> TestClient:
    return make_client(engine, session_factory, clock, tmp_path, metrics_token=TOKEN)


def _scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _parse(response.text)


def test_metrics_is_404_without_a_configured_token(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    client = make_client(engine, session_factory, clock, tmp_path)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_needs_the_bearer_token(metrics_client: TestClient) -> None:
    assert metrics_client.get("/metrics").status_code == 401
    wrong = metrics_client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")


def test_metrics_export_the_queue_escalations_and_workers(
    metrics_client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    now = clock.now()
    with session_factory.begin() as session:
        clinic = make_clinic(session)  # urgent SLA 15 minutes
        enrolled = make_enrollment(session, clinic, now=now)
        session.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.step == "day1")
            .values(next_attempt_at=now - timedelta(minutes=10))
        )
        for minutes_ago in (60, 5):  # one past its SLA, one not yet
            session.add(
                Escalation(
                    clinic_id=clinic.id,
                    patient_id=enrolled.patient.id,
                    priority=EscalationPriority.URGENT,
                    status=EscalationStatus.OPEN,
                    reason="fever",
                    opened_at=now - timedelta(minutes=minutes_ago),
                )
            )
        beat(session, WorkerIdentity("host-a:1:abc", now, 10.0), now)

    samples = _scrape(metrics_client)

    assert _value(samples, "followup_database_up") == 1
    assert _value(samples, "followup_messages", status="scheduled", channel="sms") == 3
    assert _value(samples, "followup_queue_due") == 1
    assert _value(samples, "followup_queue_oldest_due_age_seconds") == 600
    assert _value(samples, "followup_escalations_open", priority="urgent") == 2
    assert _value(samples, "followup_escalations_past_sla", priority="urgent") == 1
    assert _value(samples, "followup_escalations_past_sla", priority="normal") == 0
    assert _value(samples, "followup_workers_alive") == 1
    assert _value(samples, "followup_spooled_replies") == 0
    beats = [key for key in samples if key[0] == "followup_worker_last_heartbeat_timestamp_seconds"]
    assert len(beats) == 1
    assert ("worker", "host-a:1:abc") in beats[0][1]
    assert samples[beats[0]] == now.timestamp()


def test_the_sms_webhook_is_timed_by_route(metrics_client: TestClient) -> None:
    count = "followup_webhook_duration_seconds_count"
    route = {"route": "/webhooks/twilio/sms"}
    before = _scrape(metrics_client).get((count, frozenset(route.items())), 0.0)
    # Unsigned, so refused: a refusal takes time too, and is timed like any answer.
    assert metrics_client.post("/webhooks/twilio/sms", data={"Body": "hi"}).status_code == 403
    after = _scrape(metrics_client)
    assert _value(after, count, **route) == before + 1
    assert _value(after, "followup_webhook_duration_seconds_bucket", le="+Inf", **route) >= 1


def test_multiprocess_mode_adds_up_every_process_sharing_the_directory(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    observe = (
        "from followup.core.metrics import WEBHOOK_SECONDS, PROVIDER_ERRORS;"
        "WEBHOOK_SECONDS.labels('/webhooks/twilio/sms').observe(0.02);"
        "PROVIDER_ERRORS.labels('sms', '30007', 'permanent').inc()"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for _ in range(2):  # two processes, as two uvicorn workers would be
        subprocess.run([sys.executable, "-c", observe], env=env, check=True, timeout=60)
    settings = load_settings(data_dir=tmp_path / "var", prometheus_multiproc_dir=shared)
    runtime = Runtime(settings=settings, engine=engine, sessions=session_factory, clock=clock)

    samples = _parse(generate_latest(registry_for(runtime)).decode())

    route = {"route": "/webhooks/twilio/sms"}
    assert _value(samples, "followup_webhook_duration_seconds_count", **route) == 2
    errors = {"channel": "sms", "code": "30007", "kind": "permanent"}
    assert _value(samples, "followup_provider_errors_total", **errors) == 2
    assert _value(samples, "followup_database_up") == 1  # the gauges are there too
