"""CSV import and report generation times, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_report.py [--rows 10000] [--bad-every 20]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-postgres]

For each backend, in a fresh database: generates a CSV of `--rows` treatments (one in
`--bad-every` bad: bad phone, unknown treatment, future date, bad time zone, duplicate)
and prints, side by side:
  - baseline: a bare bulk INSERT of the same patients, treatments and messages (no checks,
    no events, no audit), the floor for writing these rows on this machine;
  - check: `followup enroll --csv --dry-run` work (every row validated, duplicates looked up);
  - import: the whole import (check + bulk write of rows, events and audit), in batches of
    `csv_import.BATCH_ROWS` rows, each its own transaction.
Then plays the messages out (sent/delivered events, replies, escalations), runs ANALYZE
(as autovacuum would have on a live database) and times `build_report` over the period.
Target: import < 30 s per backend. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, insert, select, text, update

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from followup.admin.clinics import create_clinic  # noqa: E402
from followup.core.db import make_engine, make_session_factory, normalize_url  # noqa: E402
from followup.enrollment.csv_import import check_csv, import_csv  # noqa: E402
from followup.enrollment.csv_rows import read_rows  # noqa: E402
from followup.models import (  # noqa: E402
    Base,
    Escalation,
    InboundMessage,
    MessageEvent,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from followup.reporting.reports import build_report  # noqa: E402

NOW = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Edmonton")
TEMPLATES = REPO / "templates" / "messages"
BAD = ("phone", "treatment", "future", "timezone", "duplicate")


def make_csv(rows: int, bad_every: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["first_name", "last_name", "phone", "treatment", "treated_at", "timezone"])
    previous: list[str] = []
    for n in range(rows):
        treated = (NOW - timedelta(days=1 + n % 25, minutes=n % 600)).astimezone(TZ)
        kind = "chemical-peel" if n % 4 == 0 else "microneedling"
        row = [
            f"P{n}",
            "Bench",
            f"+1403{5550000 + n:07d}"[:12],
            kind,
            f"{treated:%Y-%m-%d %H:%M}",
            "",
        ]
        if n % bad_every == bad_every - 1:
            row = _spoil(row, BAD[(n // bad_every) % len(BAD)], previous)
        else:
            previous = row
        writer.writerow(row)
    return out.getvalue()


def _spoil(row: list[str], kind: str, previous: list[str]) -> list[str]:
    if kind == "phone":
        return [*row[:2], "555-01", *row[3:]]
    if kind == "treatment":
        return [*row[:3], "tattoo-removal", *row[4:]]
    if kind == "future":
        return [*row[:4], f"{NOW + timedelta(days=3):%Y-%m-%d %H:%M}", ""]
    if kind == "timezone":
        return [*row[:5], "Mars/Olympus"]
    return list(previous)


def timed(label: str, results: dict[str, float], action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = action()
    results[label] = time.perf_counter() - start
    return value


def fresh(url: str) -> Engine:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def run_backend(name: str, url: str, text_csv: str, rows: int) -> dict[str, float]:
    results: dict[str, float] = {}
    engine = fresh(url)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        clinic = create_clinic(
            session, name="Bench", timezone="America/Edmonton", contact_phone="+14035550134"
        )
    report = timed(
        "check",
        results,
        lambda: check_csv(sessions, clinic, read_rows(text_csv), templates_dir=TEMPLATES, now=NOW),
    )
    results["good_rows"] = len(report.valid)
    results["bad_rows"] = len(report.problems)
    timed("baseline", results, lambda: bare_insert(engine, clinic.id, [v for _, v in report.valid]))
    engine.dispose()
    engine = fresh(url)  # the import gets the same empty database the baseline had
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        clinic = create_clinic(
            session, name="Bench", timezone="America/Edmonton", contact_phone="+14035550134"
        )

    def do_import() -> int:
        return import_csv(
            sessions,
            clinic,
            read_rows(text_csv),
            templates_dir=TEMPLATES,
            now=NOW,
            actor="bench",
        ).imported

    results["imported"] = timed("import", results, do_import)
    play_out(engine, clinic.id)
    analyze(engine)
    with sessions() as session:
        c = session.merge(clinic)
        timed("report", results, lambda: build_report(session, c, NOW - timedelta(days=40), NOW))
    engine.dispose()
    return results


def analyze(engine: Engine) -> None:
    """Statistics, as a live database has them (autovacuum's ANALYZE): without them the
    PostgreSQL planner misjudges the report's joins over the freshly played-out rows."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def bare_insert(engine: Engine, clinic_id: int, valids: list[Any]) -> None:
    """The same rows, straight in, ids chosen here (the database is fresh): one prepared
    executemany per table, no checks, events or audit - the floor any import pays."""
    ids = range(1, len(valids) + 1)
    with engine.begin() as conn:
        conn.execute(
            insert(Patient.__table__),
            [{"id": i, "clinic_id": clinic_id, "first_name": v.request.first_name,
              "last_name": v.request.last_name, "phone": v.phone, "channel": "sms",
              "language": "en"} for i, v in zip(ids, valids, strict=True)],
        )  # fmt: skip
        conn.execute(
            insert(Treatment.__table__),
            [{"id": i, "patient_id": i, "kind": v.plan.name, "treated_at": v.request.treated_at}
             for i, v in zip(ids, valids, strict=True)],
        )  # fmt: skip
        conn.execute(
            insert(ScheduledMessage.__table__),
            [{"clinic_id": clinic_id, "patient_id": i, "treatment_id": i, "kind": "plan",
              "step": s.step, "channel": "sms", "send_at": s.send_at,
              "next_attempt_at": s.send_at, "expires_at": s.expires_at, "status": "scheduled"}
             for i, v in zip(ids, valids, strict=True) for s in v.sends],
        )  # fmt: skip


def play_out(engine: Engine, clinic_id: int) -> None:
    """Give the report something to count: due messages sent and delivered (with events),
    a third of them answered, and an escalation for each WORSE."""
    rng = random.Random(6)
    m = ScheduledMessage
    with engine.begin() as conn:
        due = conn.execute(
            select(m.id, m.send_at, m.patient_id, m.treatment_id).where(m.send_at < NOW)
        ).all()
        conn.execute(
            update(m)
            .where(m.send_at < NOW)
            .values(status=MessageStatus.DELIVERED, sent_at=m.send_at, delivered_at=m.send_at)
        )
        events = [
            {"message_id": mid, "at": at, "to_status": status}
            for mid, at, _, _ in due
            for status in ("sent", "delivered")
        ]
        conn.execute(insert(MessageEvent.__table__), events)
        replies = [_reply(rng, clinic_id, p, t, at) for mid, at, p, t in due if mid % 3 == 0]
        conn.execute(insert(InboundMessage.__table__), replies)
        escalations = [_escalation(rng, clinic_id, r) for r in replies if r["intent"] == "worse"]
        conn.execute(insert(Escalation.__table__), escalations)


def _reply(rng: random.Random, clinic_id: int, patient: int, treatment: int, at: datetime) -> Any:
    return {
        "provider_sid": f"SM{uuid.uuid4().hex}",
        "clinic_id": clinic_id,
        "patient_id": patient,
        "treatment_id": treatment,
        "channel": "sms",
        "from_address": "+14035550000",
        "to_address": "+14035550199",
        "body": "x",
        "intent": rng.choice(("better", "same", "worse", "other")),
        "urgent": False,
        "matched": [],
        "media": [],
        "received_at": at + timedelta(hours=3),
    }


def _escalation(rng: random.Random, clinic_id: int, reply: dict[str, Any]) -> dict[str, Any]:
    opened = reply["received_at"]
    return {
        "clinic_id": clinic_id,
        "patient_id": reply["patient_id"],
        "priority": rng.choice(("urgent", "normal", "inbox")),
        "status": "resolved",
        "reason": "bench",
        "opened_at": opened,
        "acknowledged_at": opened + timedelta(minutes=rng.randrange(1, 120)),
        "resolved_at": opened + timedelta(minutes=rng.randrange(120, 2000)),
    }


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"followup_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = normalize_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad-every", type=int, default=20)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    text_csv = make_csv(args.rows, args.bad_every)
    backends: list[tuple[str, str, Callable[[], None]]] = []
    tmp = tempfile.TemporaryDirectory()
    backends.append(("sqlite", f"sqlite:///{Path(tmp.name) / 'bench.db'}", tmp.cleanup))
    if not args.no_postgres:
        url, drop = postgres_database(args.postgres_url)
        backends.append(("postgresql", url, drop))
    print(f"{args.rows} CSV rows, 1 in {args.bad_every} bad; times in seconds")
    heads = ("good", 6), ("bad", 5), ("baseline", 9), ("check", 7), ("import", 7), ("x base", 7)
    print(f"{'backend':<11} " + " ".join(f"{h:>{w}}" for h, w in heads) + f" {'report':>7}")
    for name, url, cleanup in backends:
        try:
            r = run_backend(name, url, text_csv, args.rows)
        finally:
            cleanup()
        counts = f"{r['good_rows']:>6.0f} {r['bad_rows']:>5.0f}"
        times = f"{r['baseline']:>9.2f} {r['check']:>7.2f} {r['import']:>7.2f}"
        print(
            f"{name:<11} {counts} {times} {r['import'] / r['baseline']:>7.1f} {r['report']:>7.2f}"
        )
    print("(x base = import / baseline; SQLite file on local disk, PostgreSQL over loopback TCP)")


if __name__ == "__main__":
    main()
