"""Dashboard render time per page with 10,000 patients and 100,000 messages.

    .venv/bin/python bench/pages.py [--patients 10000] [--messages 100000] [--requests 40]
                                    [--database-url postgresql+psycopg://...]

Fills a fresh database (SQLite file by default) with one clinic's patients, treatments,
messages with their status events, replies, escalations, notes and audit events, signs in
once, then requests each page `--requests` times in-process (ASGI, no network) and prints
p50/p95 per page next to the floor measured in the same run: /healthz (a one-query JSON
route) and /static/app.css (no database at all). Target: every page < 100 ms. Figures are
printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from followup.admin.clinics import create_clinic, create_staff  # noqa: E402
from followup.core.clock import FixedClock  # noqa: E402
from followup.core.config import load_settings  # noqa: E402
from followup.core.db import make_engine, make_session_factory  # noqa: E402
from followup.core.runtime import Runtime  # noqa: E402
from followup.models import (  # noqa: E402
    AuditEvent,
    Base,
    Escalation,
    InboundMessage,
    MessageEvent,
    Patient,
    Role,
    ScheduledMessage,
    StaffNote,
    Treatment,
)
from followup.web.app import create_app  # noqa: E402

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
PASSWORD = "bench-password-long"
PLAN_STEPS = (("day1", 1), ("day3", 3), ("day7", 7))
# A pessimistic mix: 4 % of messages need a person (failed or needs_review); real clinics
# see 1-2 %. Plus sent (no report yet) and still-scheduled rows.
STATUS_CYCLE = ["delivered"] * 40 + ["sent"] * 3 + ["scheduled"] * 5 + ["failed", "needs_review"]
CHUNK = 5000


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK)]


def _bulk(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert(model), chunk)


def _ids(engine: Engine, column: Any) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(select(column).order_by(column)))


def _clinic(engine: Engine) -> tuple[int, int]:
    """The clinic and its admin; returns their ids."""
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        clinic = create_clinic(
            session,
            name="Bench Clinic",
            timezone="America/Edmonton",
            contact_phone="+14035550134",
            sender_number="+14035550199",
        )
        staff = create_staff(
            session,
            clinic,
            email="bench@clinic.example",
            password=PASSWORD,
            role=Role.ADMIN,
            name="Bench Nurse",
        )
        clinic_id, staff_id = clinic.id, staff.id
    return clinic_id, staff_id


def seed(engine: Engine, patients: int, messages: int) -> dict[str, int]:
    """One clinic; returns the ids the page list needs."""
    clinic_id, staff_id = _clinic(engine)
    _bulk(
        engine,
        Patient,
        [
            {
                "clinic_id": clinic_id,
                "first_name": f"Pat{i}",
                "last_name": "Bench",
                "phone": f"+1403{5550000 + i:07d}"[:12],
                "consent_at": NOW,
                "consent_method": "in_clinic",
            }
            for i in range(patients)
        ],
    )
    patient_ids = _ids(engine, Patient.id)
    _bulk(
        engine,
        Treatment,
        [
            {"patient_id": pid, "kind": "microneedling", "treated_at": NOW - timedelta(days=i % 10)}
            for i, pid in enumerate(patient_ids)
        ],
    )
    treatments = list(zip(_ids(engine, Treatment.id), patient_ids, strict=True))
    _seed_messages(engine, clinic_id, treatments, messages)
    _seed_replies(engine, clinic_id, staff_id, patient_ids)
    with engine.begin() as conn:
        # Fresh statistics, as a live database has (autovacuum/ANALYZE); without them the
        # planners guess on tables they believe empty.
        conn.exec_driver_sql("ANALYZE")
        escalation_id = conn.scalar(select(Escalation.id).order_by(Escalation.id).limit(1))
    if engine.dialect.name == "sqlite":
        # A live database has checkpointed its WAL long ago; without this the first page
        # that writes (an audit row) pays for copying the whole seed into the main file.
        raw = engine.raw_connection()  # outside a transaction, which a checkpoint needs
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return {"patient": patient_ids[0], "escalation": escalation_id or 0, "staff": staff_id}


def _seed_messages(
    engine: Engine, clinic_id: int, treatments: list[tuple[int, int]], total: int
) -> None:
    rows = []
    for index in range(total):
        treatment_id, patient_id = treatments[index % len(treatments)]
        round_ = index // len(treatments)
        plan = round_ < len(PLAN_STEPS) * 2  # 6 plan rows per treatment, then staff/auto rows
        step, day = PLAN_STEPS[round_ % 3]
        send_at = NOW + timedelta(days=day - 5, minutes=index % 600)
        status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
        rows.append(
            {
                "clinic_id": clinic_id,
                "patient_id": patient_id,
                "treatment_id": treatment_id if plan else None,
                "kind": "plan" if plan else "auto_reply",
                "step": step if plan else None,
                "channel": "sms" if round_ % 2 == 0 else "email",
                "body": None if plan else "Thanks!",
                "send_at": send_at,
                "next_attempt_at": send_at,
                "status": status,
                "attempts": 1,
                "updated_at": send_at,
                "sent_at": send_at if status in ("sent", "delivered") else None,
            }
        )
    _bulk(engine, ScheduledMessage, rows)
    events = []
    for message_id in _ids(engine, ScheduledMessage.id):
        events.append({"message_id": message_id, "at": NOW, "to_status": "scheduled"})
        if message_id % 3:
            events.append(
                {
                    "message_id": message_id,
                    "at": NOW,
                    "from_status": "sending",
                    "to_status": "delivered",
                    "actor": "twilio",
                }
            )
    _bulk(engine, MessageEvent, events)


def _seed_replies(engine: Engine, clinic_id: int, staff_id: int, patient_ids: list[int]) -> None:
    replies = [
        {
            "provider_sid": f"SM{i:032d}",
            "clinic_id": clinic_id,
            "patient_id": pid,
            "channel": "sms",
            "from_address": "+14035550000",
            "to_address": "+14035550199",
            "body": "worse, red and sore" if i % 5 == 0 else "better thanks",
            "media": [],
            "intent": "worse" if i % 5 == 0 else "better",
            "urgent": i % 50 == 0,
            "matched": [],
            "received_at": NOW - timedelta(minutes=i % 5000),
        }
        for i, pid in enumerate(patient_ids * 2)
    ]
    _bulk(engine, InboundMessage, replies)
    _seed_escalations(engine, clinic_id, staff_id)
    _seed_audit(engine, clinic_id, staff_id, patient_ids)


def _seed_escalations(engine: Engine, clinic_id: int, staff_id: int) -> None:
    """One escalation per fifth reply; 1 in 20 still open or acknowledged; a note each."""
    worse = [(r_id, pid) for r_id, pid in _reply_rows(engine) if r_id % 5 == 1]
    _bulk(
        engine,
        Escalation,
        [
            {
                "clinic_id": clinic_id,
                "patient_id": pid,
                "inbound_message_id": r_id,
                "priority": ("urgent", "normal", "inbox")[i % 3],
                "status": "resolved" if i % 20 else ("open", "acknowledged")[i % 40 // 20],
                "reason": "check-in: worse",
                "opened_at": NOW - timedelta(minutes=i % 3000),
                "notify_count": 1,
            }
            for i, (r_id, pid) in enumerate(worse)
        ],
    )
    with engine.connect() as conn:
        escalations = conn.execute(select(Escalation.id, Escalation.patient_id)).all()
    _bulk(
        engine,
        StaffNote,
        [
            {
                "patient_id": pid,
                "escalation_id": e_id,
                "author_id": staff_id,
                "body": "Called the patient back.",
                "created_at": NOW,
            }
            for e_id, pid in escalations
        ],
    )


def _seed_audit(engine: Engine, clinic_id: int, staff_id: int, patient_ids: list[int]) -> None:
    _bulk(
        engine,
        AuditEvent,
        [
            {
                "clinic_id": clinic_id,
                "actor": "bench@clinic.example",
                "staff_user_id": staff_id,
                "action": "patient.view",
                "target_type": "patient",
                "target_id": pid,
                "detail": {},
                "at": NOW - timedelta(seconds=i),
            }
            for i, pid in enumerate(patient_ids * 5)
        ],
    )


def _reply_rows(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(InboundMessage.id, InboundMessage.patient_id)).all()
    return [(r_id, pid) for r_id, pid in rows if pid is not None]


SHOW_SAMPLES = False


def measure(client: TestClient, url: str, requests: int) -> tuple[float, float]:
    for _ in range(3):  # warm caches (templates compiled, statements cached)
        client.get(url)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    if SHOW_SAMPLES:
        print(url, " ".join(f"{t:.0f}" for t in times), file=sys.stderr)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def sign_in(client: TestClient) -> None:
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"email": "bench@clinic.example", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise SystemExit("sign-in failed")


def report(client: TestClient, ids: dict[str, int], requests: int) -> None:
    """Print p50/p95 per page, the floor first."""
    pages = [
        "/healthz",
        "/static/app.css",
        "/today",
        "/escalations",
        "/escalations/rows",
        "/escalations/badge",
        "/escalations?status=resolved",
        "/patients",
        "/patients?page=150",
        f"/patients/{ids['patient']}",
        f"/escalations/{ids['escalation']}",
        f"/escalations/{ids['escalation']}/live",  # the detail page's poll (state changed)
        "/search?q=Pat123",  # a name: 11 patients
        "/search?q=403%20555%201234",  # a phone number as people write it: one patient
        "/search?q=5550",  # the last digits of a number
        "/search?q=bench",  # every patient's last name: the first 50 of 10,000, sorted
        "/enroll",
        "/templates",
        "/settings",
        "/audit",
        "/audit?action=patient.view&before=20000",
    ]
    print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
    for page in pages:
        p50, p95 = measure(client, page, requests)
        floor = "  (floor)" if page in ("/healthz", "/static/app.css") else ""
        flag = "" if p95 < 100 else "  OVER 100 ms"
        print(f"{page:<40} {p50:8.1f} {p95:8.1f}{floor}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--samples", action="store_true", help="Print every request's time.")
    args = parser.parse_args()
    global SHOW_SAMPLES
    SHOW_SAMPLES = args.samples
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        ids = seed(engine, args.patients, args.messages)
        print(
            f"seeded {args.patients} patients, {args.messages} messages on "
            f"{engine.dialect.name} in {time.perf_counter() - started:.1f} s"
        )
        settings = load_settings(
            data_dir=Path(tmp) / "var",
            database_url=url,
            secret_key="bench-" + "x" * 40,
            public_url="http://bench",
        )
        runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            clock=FixedClock(NOW),
        )
        client = TestClient(create_app(runtime), base_url="http://bench")
        sign_in(client)
        # The seeding left ~10^6 objects in this process that a web server wouldn't hold;
        # a full GC pass over them (~150 ms, every few dozen requests) is the bench's cost,
        # not a page's. Freeze them out of the collector, as servers do after start-up.
        gc.collect()
        gc.freeze()
        report(client, ids, args.requests)
        engine.dispose()


if __name__ == "__main__":
    main()
