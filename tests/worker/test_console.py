"""The embedded set-up end to end on SQLite: enroll, the worker's pass, the console outbox;
and `followup worker --once` as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from followup.admin.clinics import create_clinic
from followup.core.clock import FixedClock
from followup.core.config import load_settings
from followup.core.db import make_engine, make_session_factory, transaction
from followup.core.runtime import Runtime, build_runtime
from followup.enrollment.enroll import EnrollmentRequest, enroll
from followup.messages.segments import analyze_sms
from followup.models import Base, ChannelPreference, Language, MessageStatus, ScheduledMessage
from followup.worker import Worker
from tests.delivery.support import SECRET, make_clinic, make_message, make_patient, make_treatment


def _enroll_and_send_day1(
    tmp_path: Path, templates_dir: Path, language: Language = Language.EN
) -> tuple[Runtime, list[dict[str, str]]]:
    """Enroll Alex for SMS and email through the use case, run the worker on day 1 at
    10:00 local, and read what the console transport wrote."""
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'followup.db'}",
        secret_key=SECRET,
        templates_dir=templates_dir,
    )
    treated_at = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)  # 10:00 in Edmonton
    clock = FixedClock(treated_at + timedelta(minutes=30))
    runtime = build_runtime(settings, clock=clock)
    Base.metadata.create_all(runtime.engine)
    with transaction(runtime.sessions) as session:
        clinic = create_clinic(
            session, name="Bow Valley Skin", timezone="America/Edmonton",
            contact_phone="403 555 0148", sender_number="403 555 0100",
        )  # fmt: skip
        request = EnrollmentRequest(
            first_name="Alex", phone="403 555 1234", email="alex@example.org",
            treatment="microneedling", treated_at=treated_at, channel=ChannelPreference.BOTH,
            language=language,
        )  # fmt: skip
        enroll(session, clinic, request, templates_dir=templates_dir, now=clock.now(), actor="t")
    worker = Worker(runtime)
    assert worker.run_once()["sent"] == 0  # nothing due yet

    clock.set(datetime(2026, 3, 8, 17, 0, 1, tzinfo=UTC))  # day 1, 10:00 local
    counts = worker.run_once()
    worker.dispatcher.close()

    assert counts["sent"] == 2
    lines = settings.effective_outbox_file.read_text().splitlines()
    return runtime, [json.loads(line) for line in lines]


def test_console_transport_end_to_end_on_sqlite(tmp_path: Path, templates_dir: Path) -> None:
    runtime, entries = _enroll_and_send_day1(tmp_path, templates_dir)
    assert sorted(entry["channel"] for entry in entries) == ["email", "sms"]
    sms = next(entry for entry in entries if entry["channel"] == "sms")
    assert sms["to"] == "+14035551234"
    assert sms["from"] == "+14035550100"
    assert sms["body"].startswith("Bow Valley Skin: ")
    assert "Call (403) 555-0148" in sms["body"]
    email = next(entry for entry in entries if entry["channel"] == "email")
    assert "microneedling" in email["subject"].lower()
    assert "Hi Alex," in email["text"]
    assert "March 7, 2026" in email["text"]
    with runtime.sessions() as session:
        rows = session.scalars(select(ScheduledMessage).order_by(ScheduledMessage.id)).all()
        sent = [(m.step, m.channel.value) for m in rows if m.status is MessageStatus.SENT]
    assert sorted(sent) == [("day1", "email"), ("day1", "sms")]
    runtime.close()


def test_a_spanish_speaking_patient_gets_spanish_messages(
    tmp_path: Path, templates_dir: Path
) -> None:
    runtime, entries = _enroll_and_send_day1(tmp_path, templates_dir, Language.ES)
    runtime.close()
    sms = next(entry for entry in entries if entry["channel"] == "sms")
    assert sms["body"].startswith("Bow Valley Skin: es normal tener la piel roja")
    assert "Llame al (403) 555-0148 si los granitos siguen tras una semana" in sms["body"]
    assert sms["body"].endswith("Responda STOP para darse de baja.")
    assert analyze_sms(sms["body"]).encoding == "GSM-7"
    email = next(entry for entry in entries if entry["channel"] == "email")
    assert email["subject"] == "Día 1 después de su microneedling: qué esperar"
    assert "Hola, Alex:" in email["text"]
    assert "Gracias por su visita del 7 de marzo de 2026" in email["text"]
    assert "Llámenos de inmediato al (403) 555-0148" in email["text"]


def test_worker_once_command_sends_what_is_due(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'followup.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        clinic = make_clinic(session)
        patient = make_patient(session, clinic)
        treatment = make_treatment(session, patient, now - timedelta(days=1))
        make_message(session, clinic, patient, treatment, send_at=now - timedelta(minutes=1))
        later = now + timedelta(days=2)
        make_message(session, clinic, patient, treatment, send_at=later, step="day3")
    engine.dispose()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWUP_")}
    env |= {"FOLLOWUP_DATABASE_URL": url, "FOLLOWUP_DATA_DIR": str(tmp_path)}
    env |= {"FOLLOWUP_SECRET_KEY": SECRET}

    done = subprocess.run(
        [sys.executable, "-m", "followup", "worker", "--once"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "sent=1" in done.stdout
    [entry] = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert entry["to"] == "+14035551234"
    assert "+14035551234" not in done.stdout + done.stderr  # logs mask numbers
