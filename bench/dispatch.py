"""Delivery throughput: the dispatcher against a raw claim loop and a job-per-message design,
and what a backlog costs.

    .venv/bin/python bench/dispatch.py [--n 100000] [--backends postgres,sqlite]
    .venv/bin/python bench/dispatch.py --sections backlog [--backlog-n 200000]

For each backend, on a fresh database (section "throughput"): N due plan SMS and a no-op
transport, then
  - the dispatcher (claim, consent re-check, render, send, outcome + events) with 1 and 4
    worker processes,
  - the raw baseline: a bare claim-and-mark loop on the same table (no render, no events),
  - the naive design: one APScheduler date job per message in SQLAlchemyJobStore, each
    running the same render (on --naive-n messages: it is slow),
  - the claim query's time with 10k and 1M scheduled rows (1,000 of them due),
  - the worker's peak RSS,
  - with the Twilio double at 200 ms latency: messages per second for one worker.
Section "backlog": the claim's time with 1k, 100k and 1M rows *due*, next to a floor (the
same 200 rows locked by primary key), and the time to drain a --backlog-n backlog with 1
and 4 workers, next to a floor that does not depend on the claim's index (a claim-and-mark
loop walking the primary key).
Figures are printed; nothing is asserted.
"""

# The SQL below is assembled from integers and timestamps this script made itself.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from followup.core.clock import SystemClock  # noqa: E402
from followup.core.db import make_engine, make_session_factory, normalize_url, transaction  # noqa: E402
from followup.core.links import LinkSigner  # noqa: E402
from followup.delivery import Dispatcher, DispatchOptions, JobBuilder, Transports  # noqa: E402
from followup.delivery.claim import claim_batch, due_query  # noqa: E402
from followup.delivery.context import render_context  # noqa: E402
from followup.delivery.outbox import transition  # noqa: E402
from followup.delivery.transports.base import NullTransport, SmsTransport  # noqa: E402
from followup.messages.rendering import MessageRenderer  # noqa: E402
from followup.models import (  # noqa: E402
    Base,
    Clinic,
    MessageEvent,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)

TEMPLATES = REPO / "templates" / "messages"
ADMIN_URL = os.environ.get(
    "FOLLOWUP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LEASE = timedelta(minutes=2)
SECRET = "bench-secret-key-0123456789abcdef0123456789"

# --- databases and rows -------------------------------------------------------------------


def new_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    name = f"followup_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalize_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    name = normalize_url(url).database
    admin = create_engine(normalize_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _series(engine: Engine, n: int) -> str:
    """A SELECT yielding i = 1..n, in each dialect."""
    if engine.dialect.name == "postgresql":
        return f"SELECT i FROM generate_series(1, {n}) AS s(i)"
    return (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
        f" WHERE i < {n}) SELECT i FROM s"
    )


def populate(engine: Engine, n: int) -> None:
    """One clinic; n patients, treatments and due day-1 SMS (INSERT ... SELECT: fast)."""
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
    expires = (now + timedelta(days=2)).replace(tzinfo=None).isoformat(sep=" ")
    treated = (now - timedelta(days=1)).replace(tzinfo=None).isoformat(sep=" ")
    series = _series(engine, n)
    phone = (
        "'+1403' || lpad(i::text, 7, '0')"
        if engine.dialect.name == "postgresql"
        else "'+1403' || substr('0000000' || i, -7, 7)"
    )
    with engine.begin() as conn:
        conn.execute(
            Clinic.__table__.insert(),
            {"id": 1, "slug": "bench", "name": "Bench Clinic", "timezone": "America/Edmonton",
             "country": "CA", "sender_number": "+14035550100", "contact_phone": "+14035550148"},
        )  # fmt: skip
        conn.exec_driver_sql(
            "INSERT INTO patient (id, clinic_id, first_name, last_name, phone, channel, language)"
            f" SELECT i, 1, 'P' || i, '', {phone}, 'sms', 'en'"
            f" FROM ({series}) AS q"
        )
        conn.exec_driver_sql(
            "INSERT INTO treatment (id, patient_id, kind, treated_at)"
            f" SELECT i, i, 'microneedling', '{treated}' FROM ({series}) AS q"
        )
        conn.exec_driver_sql(
            "INSERT INTO scheduled_message (clinic_id, patient_id, treatment_id, kind, step,"
            " channel, send_at, next_attempt_at, expires_at, status, attempts)"
            f" SELECT 1, i, i, 'plan', 'day1', 'sms', '{due}', '{due}', '{expires}',"
            f" 'scheduled', 0 FROM ({series}) AS q"
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def reset(engine: Engine) -> None:
    """Every message due again, no events: the next run starts from the same state."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM message_event")
        conn.exec_driver_sql(
            "UPDATE scheduled_message SET status = 'scheduled', attempts = 0, lease_owner = NULL,"
            " lease_expires_at = NULL, provider_id = NULL, sent_at = NULL, updated_at = NULL"
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE scheduled_message")


def count_sent(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(text("SELECT count(*) FROM scheduled_message WHERE status = 'sent'")) or 0
        )


# --- the dispatcher in worker processes --------------------------------------------------


def _transport(double_url: str | None, account: str, token: str) -> SmsTransport:
    if double_url is None:
        return NullTransport()
    from followup.delivery.transports.twilio_sms import TwilioSmsTransport

    return TwilioSmsTransport(account, token, api_base_url=double_url, timeout=10)


def worker_main(
    url: str, go: Any, ready: Any, results: Any, double: tuple[str, str, str] | None
) -> None:
    engine = make_engine(url)
    sms = _transport(*double) if double else NullTransport()
    dispatcher = Dispatcher(
        make_session_factory(engine),
        Transports(sms=sms, email=NullTransport()),
        JobBuilder(TEMPLATES, LinkSigner(SECRET, "https://followup.bench")),
        clock=SystemClock(),
        options=DispatchOptions(
            status_callback_url="https://followup.bench/webhooks/twilio/status"
        ),
    )
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    ready.release()
    go.wait()
    started = time.perf_counter()
    sent = 0
    while True:
        counts = dispatcher.dispatch_due()
        sent += counts["sent"]
        if not sum(counts.values()):
            break
    elapsed = time.perf_counter() - started
    dispatcher.close()
    results.put((sent, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


@dataclass
class RunResult:
    sent: int
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def run_workers(url: str, workers: int, double: tuple[str, str, str] | None = None) -> RunResult:
    ctx = mp.get_context("spawn")
    go, ready, results = ctx.Event(), ctx.Semaphore(0), ctx.Queue()
    procs = [
        ctx.Process(target=worker_main, args=(url, go, ready, results, double))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    outcomes = [results.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return RunResult(sum(o[0] for o in outcomes), elapsed, max(o[2] for o in outcomes) / 1024)


# --- raw baseline ------------------------------------------------------------------------


def raw_loop(engine: Engine, batch: int = 200) -> RunResult:
    """Claim-and-mark with no rendering and no events: the floor the dispatcher sits on."""
    factory = make_session_factory(engine)
    started = time.perf_counter()
    sent = 0
    while True:
        now = datetime.now(UTC)
        with transaction(factory) as session:
            ids = session.scalars(
                due_query(now, batch).with_only_columns(ScheduledMessage.id)
            ).all()
            if ids:
                session.execute(
                    ScheduledMessage.__table__.update()
                    .where(ScheduledMessage.id.in_(ids))
                    .values(
                        status="sending",
                        lease_owner="raw",
                        lease_expires_at=now + timedelta(minutes=2),
                    )
                )
        if not ids:
            break
        with transaction(factory) as session:
            session.execute(
                ScheduledMessage.__table__.update()
                .where(ScheduledMessage.id.in_(ids))
                .values(status="sent", sent_at=now, provider_id="raw", lease_owner=None)
            )
        sent += len(ids)
    return RunResult(sent, time.perf_counter() - started, 0.0)


# --- the naive design: one APScheduler job per message -----------------------------------

_NAIVE: dict[str, Any] = {}


def naive_send(message_id: int) -> None:
    """What a job-per-message design runs: load, render the same SMS, "send", mark sent."""
    factory, renderer = _NAIVE["factory"], _NAIVE["renderer"]
    signer = _NAIVE["signer"]
    with transaction(factory) as session:
        message = session.get_one(ScheduledMessage, message_id)
        patient = session.get_one(Patient, message.patient_id)
        treatment = session.get_one(Treatment, message.treatment_id)
        clinic = session.get_one(Clinic, message.clinic_id)
        now = datetime.now(UTC)
        context = render_context(clinic, patient, treatment, "day1", TEMPLATES, signer, now)
        renderer.render_sms(treatment.kind, "day1", patient.language.value, context)
        message.provider_id = "naive"
        message.sent_at = now
        transition(session, message, MessageStatus.SENT, at=now, actor="naive")


def naive_jobs(url: str, n: int) -> tuple[RunResult, float]:
    from apscheduler.executors.pool import ThreadPoolExecutor as JobPool
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    engine = make_engine(url)
    _NAIVE.update(
        factory=make_session_factory(engine),
        renderer=MessageRenderer(TEMPLATES),
        signer=LinkSigner(SECRET, "https://followup.bench"),
    )
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, executors={"default": JobPool(8)}, timezone="UTC"
    )
    scheduler.start(paused=True)
    with engine.connect() as conn:
        ids = conn.scalars(select(ScheduledMessage.id).order_by(ScheduledMessage.id).limit(n)).all()
    started = time.perf_counter()
    run_at = datetime.now(UTC)
    for message_id in ids:
        scheduler.add_job(naive_send, "date", run_date=run_at, args=[message_id],
                          id=f"m{message_id}", misfire_grace_time=None)  # fmt: skip
    add_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scheduler.resume()
    while count_sent(engine) < len(ids):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    scheduler.shutdown(wait=True)
    engine.dispose()
    return RunResult(len(ids), elapsed, 0.0), add_seconds


# --- the claim query at 10k and 1M rows --------------------------------------------------


def claim_time(backend: str, workdir: Path, rows: int, repeats: int = 30) -> float:
    """Median ms of the dispatcher's claim of 200 rows (`claim_batch`: lock with FOR UPDATE
    SKIP LOCKED, lease, log the events; rolled back each time): `rows` scheduled, 1,000 due."""
    url = new_database(backend, workdir)
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        _scheduled_rows(engine, rows)
        factory = make_session_factory(engine)
        timings = []
        for _ in range(repeats):
            with factory() as session, session.begin():
                started = time.perf_counter()
                claimed, _ = claim_batch(
                    session, owner="bench", now=datetime.now(UTC), limit=200, lease_seconds=120
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert len(claimed) == 200
                session.rollback()
        return statistics.median(timings)
    finally:
        engine.dispose()
        drop_database(url)


def _scheduled_rows(engine: Engine, rows: int) -> None:
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
    series = _series(engine, rows)
    future = (
        "datetime('now', '+' || (i % 10 + 1) || ' days')"
        if engine.dialect.name == "sqlite"
        else "now() + (i % 10 + 1) * interval '1 day'"
    )
    with engine.begin() as conn:
        conn.execute(
            Clinic.__table__.insert(),
            {"id": 1, "slug": "bench", "name": "Bench", "timezone": "UTC", "country": "CA",
             "contact_phone": "+14035550148"},
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO scheduled_message (clinic_id, kind, channel, body, send_at,"
                " next_attempt_at, status, attempts)"
                f" SELECT 1, 'staff_reply', 'sms', 'x', {future},"
                f" CASE WHEN i % {rows // 1000} = 0 THEN '{due}' ELSE {future} END, 'scheduled', 0"
                f" FROM ({series}) AS q"
            )
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE scheduled_message")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


# --- a backlog: claim time with many rows due, and the time to drain it -------------------


def _due_rows(engine: Engine, rows: int) -> None:
    """`rows` scheduled messages, every one due (spread over the last hour)."""
    now = datetime.now(UTC)
    series = _series(engine, rows)
    due = (
        f"datetime('{now.replace(tzinfo=None).isoformat(sep=' ')}', '-' || (i % 3600 + 60)"
        " || ' seconds')"
        if engine.dialect.name == "sqlite"
        else f"'{now.isoformat()}'::timestamptz - (i % 3600 + 60) * interval '1 second'"
    )
    with engine.begin() as conn:
        conn.execute(
            Clinic.__table__.insert(),
            {"id": 1, "slug": "bench", "name": "Bench", "timezone": "UTC", "country": "CA",
             "contact_phone": "+14035550148"},
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO scheduled_message (clinic_id, kind, channel, body, send_at,"
                " next_attempt_at, status, attempts)"
                f" SELECT 1, 'staff_reply', 'sms', 'x', {due}, {due}, 'scheduled', 0"
                f" FROM ({series}) AS q"
            )
        )
    _analyze(engine)


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE scheduled_message")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def claim_time_due(backend: str, workdir: Path, due: int, repeats: int) -> tuple[float, float]:
    """Median ms of `claim_batch` (200 rows, rolled back) with `due` rows all due, and of the
    floor: locking, leasing and logging the same 200 rows found by primary key."""
    url = new_database(backend, workdir)
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        _due_rows(engine, due)
        factory = make_session_factory(engine)
        timings, floor = [], []
        with engine.connect() as conn:
            ids = list(conn.scalars(text("SELECT id FROM scheduled_message ORDER BY id LIMIT 200")))
        for _ in range(repeats):
            with factory() as session, session.begin():
                started = time.perf_counter()
                claimed, _ = claim_batch(
                    session, owner="bench", now=datetime.now(UTC), limit=200, lease_seconds=120
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert len(claimed) == 200
                session.rollback()
            with factory() as session, session.begin():
                started = time.perf_counter()
                _lease_by_id(session, ids)
                floor.append((time.perf_counter() - started) * 1000)
                session.rollback()
        return statistics.median(timings), statistics.median(floor)
    finally:
        engine.dispose()
        drop_database(url)


def _lease_by_id(session: Any, ids: list[int]) -> None:
    """The claim's writes without its search: lock 200 known rows, lease them, log them."""
    now = datetime.now(UTC)
    table = ScheduledMessage.__table__
    locked = session.execute(
        select(table.c.id, table.c.status).where(table.c.id.in_(ids)).with_for_update()
    ).all()
    session.execute(
        table.update()
        .where(table.c.id.in_(ids))
        .values(status="sending", lease_owner="bench", lease_expires_at=now, updated_at=now)
    )
    session.execute(
        MessageEvent.__table__.insert(),
        [
            {"message_id": row.id, "at": now, "from_status": row.status,
             "to_status": "sending", "detail": "attempt 1", "actor": "bench"}
            for row in locked
        ],
    )  # fmt: skip


def keyset_floor(engine: Engine, batch: int = 200) -> RunResult:
    """Claim-and-mark walking the primary key (`id > last ORDER BY id`): the cost of draining
    a backlog on this machine whatever the claim's own index does."""
    factory = make_session_factory(engine)
    table = ScheduledMessage.__table__
    started = time.perf_counter()
    sent, last = 0, 0
    while True:
        now = datetime.now(UTC)
        with transaction(factory) as session:
            ids = session.scalars(
                select(table.c.id)
                .where(table.c.id > last, table.c.status == "scheduled")
                .order_by(table.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if ids:
                session.execute(
                    table.update()
                    .where(table.c.id.in_(ids))
                    .values(status="sending", lease_owner="floor", lease_expires_at=now)
                )
        if not ids:
            break
        last = ids[-1]
        with transaction(factory) as session:
            session.execute(
                table.update()
                .where(table.c.id.in_(ids))
                .values(status="sent", sent_at=now, provider_id="floor", lease_owner=None)
            )
        sent += len(ids)
    return RunResult(sent, time.perf_counter() - started, 0.0)


def bench_backlog(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    print(f"\n== {backend}: backlog (claim of 200 with many rows due; draining a backlog)")
    times = {}
    for due in args.due_rows:
        median, floor = claim_time_due(backend, workdir, due, args.claim_repeats)
        times[due] = median
        print(
            f"  claim, {due:>9,} rows due: {median:7.2f} ms median"
            f"  (floor, 200 rows by primary key: {floor:5.2f} ms; claim / floor"
            f" {median / floor:5.1f})"
        )
    low, high = min(times), max(times)
    print(f"  claim at {high:,} due / at {low:,} due: {times[high] / times[low]:.2f}x")
    if not args.backlog_n:
        return
    url = new_database(backend, workdir)
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        populate(engine, args.backlog_n)
        floor = keyset_floor(engine)
        show("floor (keyset walk)", floor, "claim-and-mark by primary key, one process")
        for workers in (1, 4):
            reset(engine)
            drained = run_workers(url, workers)
            assert drained.sent == args.backlog_n, drained.sent
            show(
                f"drain, {workers} worker{'s' if workers > 1 else ''}",
                drained,
                f"{drained.seconds / floor.seconds:.2f}x the floor's time",
            )
    finally:
        engine.dispose()
        drop_database(url)


# --- the Twilio double at 200 ms ---------------------------------------------------------


def with_latency(url: str, engine: Engine, n: int, latency: float) -> RunResult:
    import json

    from followup.testing.twilio_double import TwilioDoubleControl

    proc = subprocess.Popen(
        [sys.executable, "-m", "followup.testing.twilio_double"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        TwilioDoubleControl(info["base_url"]).set_latency(latency)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE scheduled_message SET status = 'sent'"
                f" WHERE id > (SELECT min(id) + {n} - 1 FROM scheduled_message)"
            )
        return run_workers(url, 1, (info["base_url"], info["account_sid"], info["auth_token"]))
    finally:
        proc.terminate()
        proc.wait()


# --- the report ----------------------------------------------------------------------------


def show(label: str, result: RunResult, note: str = "") -> None:
    detail = f"{result.sent:,} in {result.seconds:.1f} s" + (f", {note}" if note else "")
    print(f"  {label:<24}: {result.rate:8.1f} msg/s  ({detail})")


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    print(f"\n== {backend}: N = {args.n:,} due messages, no-op transport, batch 200, concurrency 8")
    url = new_database(backend, workdir)
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        populate(engine, args.n)
        print(f"  setup: {args.n:,} rows in {time.perf_counter() - started:.1f} s")
        one = run_workers(url, 1)
        show("dispatcher, 1 worker", one, f"peak RSS {one.peak_rss_mb:.0f} MB")
        reset(engine)
        four = run_workers(url, 4)
        show("dispatcher, 4 workers", four, f"peak RSS per worker {four.peak_rss_mb:.0f} MB")
        reset(engine)
        raw = raw_loop(engine)
        show("raw claim-and-mark loop", raw)
        reset(engine)
        naive, add_seconds = naive_jobs(url, min(args.naive_n, args.n))
        show("APScheduler job per msg", naive, f"adding the jobs took {add_seconds:.1f} s more")
        print(
            f"  ratios: 1 worker / raw = {one.rate / raw.rate:.2f};"
            f" 1 worker / job-per-message = {one.rate / naive.rate:.1f}x;"
            f" 4 workers / 1 worker = {four.rate / one.rate:.2f}"
        )
        reset(engine)
        slow = with_latency(url, engine, args.latency_n, 0.2)
        ideal = 8 / 0.2
        show(
            "Twilio double at 200 ms", slow, f"1 worker; ideal {ideal:.0f}: {slow.rate / ideal:.2f}"
        )
    finally:
        engine.dispose()
        drop_database(url)
    for rows in (10_000, 1_000_000):
        median = claim_time(backend, workdir, rows)
        print(f"  claim query, {rows:>9,} scheduled rows (1,000 due): {median:6.2f} ms median")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="due messages (default 100,000)")
    parser.add_argument(
        "--naive-n", type=int, default=2_000, help="messages for the job-per-message design"
    )
    parser.add_argument("--latency-n", type=int, default=400, help="messages for the 200 ms run")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--sections", default="throughput,backlog", help="throughput,backlog")
    parser.add_argument(
        "--backlog-n", type=int, default=200_000, help="messages in the backlog to drain (0: none)"
    )
    parser.add_argument(
        "--due-rows",
        type=lambda value: [int(part) for part in value.split(",")],
        default=[1_000, 100_000, 1_000_000],
        help="rows due for the claim timings (comma-separated)",
    )
    parser.add_argument("--claim-repeats", type=int, default=30)
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    print(f"bench/dispatch.py on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"load average at start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if "throughput" in sections:
                bench_backend(backend.strip(), args, Path(tmp))
            if "backlog" in sections:
                bench_backlog(backend.strip(), args, Path(tmp))
    print(f"load average at end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
