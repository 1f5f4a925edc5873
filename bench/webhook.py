"""Benchmark: the inbound SMS webhook under uvicorn on PostgreSQL, against its floor.

    .venv/bin/python bench/webhook.py [--concurrency 16] [--requests 3000] [--rate 100]

Creates a scratch PostgreSQL database (in the server of FOLLOWUP_TEST_POSTGRES_URL, or
--postgres-url), enrolls patients, starts the app in a real uvicorn process on loopback
and drives it with signed requests built as Twilio builds them. In the same run it
measures the floor: a bare endpoint in the same app that only checks the signature and
returns empty TwiML. Then it offers a fixed 100 requests/s to the webhook and reports the
latency. Prints figures; it is not a test. Bounded: a fixed request count, a fixed rate
duration, loopback only; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
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

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fastapi import Response  # noqa: E402

from followup.core.db import make_engine, make_session_factory, normalize_url  # noqa: E402
from followup.web.twilio_signature import TwilioForm  # noqa: E402

AUTH_TOKEN = "bench-auth-token"
CLINIC_NUMBER = "+14035550199"
FLOOR_PATH = "/bench/floor"
SMS_PATH = "/webhooks/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PATIENTS = 300
# A plausible day of replies: mostly check-in answers, some worse, a few red flags,
# questions for the inbox, the odd STOP/HELP and unknown senders.
REPLY_MIX = [
    ("Better", 30), ("same", 15), ("much better thanks!", 10), ("getting worse", 10),
    ("I have a fever and pus", 4), ("Can I wear makeup tomorrow?", 12), ("ok thanks", 10),
    ("HELP", 3), ("STOP", 2), ("UNKNOWN", 4),
]  # fmt: skip


# --- the server process ------------------------------------------------------------


def serve(database_url: str, port: int, data_dir: str, workers: int) -> None:
    """Run the app plus the floor endpoint under uvicorn (called in the child process)."""
    import uvicorn

    os.environ.update(
        BENCH_DATABASE_URL=database_url, BENCH_PORT=str(port), BENCH_DATA_DIR=data_dir
    )
    options: dict[str, Any] = {
        "factory": True,
        "app_dir": str(Path(__file__).parent),
        "host": "127.0.0.1",
        "port": port,
        "workers": workers,
        "log_level": "warning",
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run("webhook:bench_app", **options)
        return
    # With several workers uvicorn binds the socket in the parent (protocol number 0), and
    # asyncio then leaves Nagle on for accepted connections (it sets TCP_NODELAY only for
    # IPPROTO_TCP sockets): every response waited ~40 ms for the client's delayed ACK,
    # floor included. Accepted sockets inherit TCP_NODELAY from the listening one.
    from uvicorn.supervisors import Multiprocess

    sys.path.insert(0, options.pop("app_dir"))  # what uvicorn.run does with app_dir
    config = uvicorn.Config("webhook:bench_app", **options)
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


def bench_app() -> Any:
    """The production app (create_app) with the floor endpoint added; read by uvicorn.
    Logging as `followup web` sets it up: one INFO line per reply, on stderr."""
    from followup.core.config import load_settings
    from followup.core.logs import configure_logging
    from followup.core.runtime import build_runtime
    from followup.web.app import create_app

    settings = load_settings(
        database_url=os.environ["BENCH_DATABASE_URL"],
        public_url=f"http://127.0.0.1:{os.environ['BENCH_PORT']}",
        twilio_auth_token=AUTH_TOKEN,
        secret_key="bench-secret-" + "x" * 32,
        data_dir=Path(os.environ["BENCH_DATA_DIR"]),
    )
    configure_logging("INFO")
    app = create_app(build_runtime(settings))
    app.post(FLOOR_PATH)(floor)
    return app


async def floor(_form: TwilioForm) -> Response:
    """The floor: the same app and signature check, no database, empty TwiML."""
    return Response(EMPTY_TWIML, media_type="application/xml")


# --- set-up ------------------------------------------------------------------------


def create_database(admin_url: str) -> URL:
    name = f"followup_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalize_url(admin_url).set(database=name)


def drop_database(admin_url: str, url: URL) -> None:
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def seed(url: URL) -> list[str]:
    """A clinic with on-call contacts and PATIENTS enrolled patients; returns their phones."""
    from followup.admin.clinics import create_clinic
    from followup.enrollment.enroll import EnrollmentRequest, enroll
    from followup.models import Base, OnCallContact

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    phones = [f"+1403555{index:04d}" for index in range(1000, 1000 + PATIENTS)]
    with make_session_factory(engine)() as session, session.begin():
        clinic = create_clinic(
            session,
            name="Bench Clinic",
            timezone="America/Edmonton",
            contact_phone="+14035550134",
            sender_number=CLINIC_NUMBER,
        )
        session.add(OnCallContact(clinic_id=clinic.id, name="Nurse", phone="+14035550111"))
        session.add(OnCallContact(clinic_id=clinic.id, name="Lead", email="lead@example.org"))
        for index, phone in enumerate(phones):
            request = EnrollmentRequest(
                first_name=f"P{index}",
                phone=phone,
                treatment="microneedling",
                treated_at=now - timedelta(hours=2),
            )
            enroll(
                session,
                clinic,
                request,
                templates_dir=REPO / "templates" / "messages",
                now=now,
                actor="bench",
            )
    engine.dispose()
    return phones


# --- load --------------------------------------------------------------------------


@dataclass
class Signed:
    path: str
    form: dict[str, str]
    signature: str


def build_requests(
    base: str, path: str, phones: list[str], count: int, rng: random.Random
) -> list[Signed]:
    """Signed ahead of time so the client's HMAC work is not in the measurement."""
    validator = RequestValidator(AUTH_TOKEN)
    bodies = [body for body, weight in REPLY_MIX for _ in range(weight)]
    signed = []
    for _ in range(count):
        sid = "SM" + uuid.uuid4().hex
        body = rng.choice(bodies)
        unknown = body == "UNKNOWN"
        sender = "+14035550177" if unknown else rng.choice(phones)
        form = {
            "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "a" * 32,
            "From": sender, "To": CLINIC_NUMBER, "Body": "Who is this?" if unknown else body,
            "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
            "ApiVersion": "2010-04-01", "FromCountry": "CA", "ToCountry": "CA",
        }  # fmt: skip
        signed.append(Signed(path, form, validator.compute_signature(base + path, form)))
    return signed


async def _send(http: aiohttp.ClientSession, base: str, request: Signed) -> float:
    started = time.perf_counter()
    async with http.post(
        base + request.path, data=request.form, headers={"X-Twilio-Signature": request.signature}
    ) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{request.path}: HTTP {response.status}")
    return time.perf_counter() - started


async def closed_loop(
    base: str, requests: list[Signed], concurrency: int
) -> tuple[float, list[float]]:
    """`concurrency` clients, each sending its next request as soon as one returns."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            while queue:
                latencies.append(await _send(http, base, queue.pop()))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(requests) / elapsed, latencies


async def open_loop(base: str, requests: list[Signed], rate: float) -> tuple[float, list[float]]:
    """Requests offered at a fixed rate whatever the answers do; latency counts from the
    moment a request was due, so a stall is not hidden (no coordinated omission)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()

        async def one(index: int, request: Signed) -> None:
            due = started + index / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await _send(http, base, request)
            latencies.append(time.perf_counter() - due)

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        elapsed = time.perf_counter() - started
    return len(requests) / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process tree (all threads, uvicorn workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children)


def report(name: str, throughput: float, latencies: list[float], cpu: float) -> dict[str, float]:
    row = {
        "rps": throughput,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "server_cpu_ms": cpu / len(latencies) * 1000,
    }
    print(
        f"{name:<34} {row['rps']:>9.0f} {row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f}"
        f" {row['server_cpu_ms']:>9.2f} {len(latencies):>8}"
    )
    return row


async def measured(pid: int, phase: Any) -> tuple[float, list[float], float]:
    before = cpu_seconds(pid)
    throughput, latencies = await phase
    return throughput, latencies, cpu_seconds(pid) - before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def run(args: argparse.Namespace, base: str, phones: list[str], pid: int) -> dict[str, Any]:
    rng = random.Random(7)
    warm = 200
    floor_reqs = build_requests(base, FLOOR_PATH, phones, args.requests + warm, rng)
    hook_reqs = build_requests(base, SMS_PATH, phones, args.requests + warm, rng)
    rate_reqs = build_requests(base, SMS_PATH, phones, int(args.rate * args.rate_seconds), rng)
    await closed_loop(base, floor_reqs[:warm], args.concurrency)
    await closed_loop(base, hook_reqs[:warm], args.concurrency)
    print(f"{'':<34} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'cpu ms/req':>9} {'requests':>8}")
    c = args.concurrency
    floor = report(
        f"floor (signature only), c={c}",
        *await measured(pid, closed_loop(base, floor_reqs[warm:], c)),
    )
    hook = report(f"webhook, c={c}", *await measured(pid, closed_loop(base, hook_reqs[warm:], c)))
    paced = report(
        f"webhook at {args.rate:.0f} req/s offered",
        *await measured(pid, open_loop(base, rate_reqs, args.rate)),
    )
    ratio = hook["rps"] / floor["rps"]
    print(f"\nwebhook/floor throughput: {ratio:.2f} (target >= 0.5)")
    print(f"p99 at {args.rate:.0f} req/s: {paced['p99_ms']:.1f} ms (target < 50 ms)")
    return {"floor": floor, "webhook": hook, "paced": paced, "ratio": ratio}


def add_postgres_url(parser: argparse.ArgumentParser) -> None:
    """The server the scratch database is made in (also bench/replies.py's)."""
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "FOLLOWUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_postgres_url(parser)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    url = create_database(args.postgres_url)
    server = None
    try:
        phones = seed(url)
        port = _free_port()
        with tempfile.TemporaryDirectory() as data_dir:
            database_url = url.render_as_string(hide_password=False)
            server_log = Path(data_dir) / "server.log"  # what journald would be given
            with server_log.open("w") as stderr:
                server = subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--serve",
                        database_url,
                        str(port),
                        data_dir,
                        str(args.workers),
                    ],
                    stderr=stderr,
                )
            base = f"http://127.0.0.1:{port}"
            try:
                asyncio.run(_wait_ready(base, server))
            except RuntimeError:
                sys.stderr.write(server_log.read_text()[-4000:])
                raise
            cpus = os.cpu_count()
            print(
                f"PostgreSQL, uvicorn with {args.workers} worker process(es) on loopback,"
                f" {cpus} CPUs, {PATIENTS} patients, load average {os.getloadavg()[0]:.1f}\n"
            )
            asyncio.run(run(args, base, phones, server.pid))
            lines = server_log.read_text().splitlines()
            print(f"server log: {len(lines)} lines at INFO (production logging)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(args.postgres_url, url)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(main())
