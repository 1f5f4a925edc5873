"""A big CSV import runs beside the webhook, not in its way: while 50,000 rows are checked
and imported, signed replies from patients are still answered within a second (Twilio
gives up on a webhook after 15 s). Measured from outside, against a real uvicorn server
on SQLite and on PostgreSQL, with the import started over HTTP like a nurse starts it."""

from __future__ import annotations

import csv
import io
import itertools
import re
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from followup.core.clock import FixedClock
from followup.core.db import make_engine, make_session_factory
from followup.models import Base, InboundMessage, Treatment
from tests.conftest import DatabaseMaker
from tests.factories import STAFF_PASSWORD, make_clinic, make_enrollment, make_staff
from tests.web.live_app import free_port, live_app
from tests.webapp import csrf_from

pytestmark = pytest.mark.slow

ROWS = 50_000
REPLY_BOUND_SECONDS = 1.0
# Replies arrive at a steady pace, more than any clinic gets: the pace of the load, not a
# wait for the app to do something.
REPLY_EVERY_SECONDS = 0.1
TOKEN = "live-test-auth-token"
CLINIC_NUMBER = "+14035550199"
PATIENT_PHONE = "+14035550101"
STAFF_EMAIL = "nurse@example.com"
_STAGE = re.compile(r'data-stage="(\w+)"')


@dataclass
class Live:
    url: str
    engine: Engine

    def count(self, model: type) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def live(
    backend: str, database_maker: DatabaseMaker, tmp_path: Path, clock: FixedClock
) -> Iterator[Live]:
    url = database_maker.new(backend)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with make_session_factory(engine).begin() as session:
        clinic = make_clinic(session, sender_number=CLINIC_NUMBER)
        make_staff(session, clinic, STAFF_EMAIL)
        make_enrollment(session, clinic, now=clock.now(), phone=PATIENT_PHONE)
    port = free_port()
    settings = {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "live-test-secret-" + "x" * 32,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TWILIO_AUTH_TOKEN": TOKEN,
    }
    try:
        with live_app(settings, clock.now(), tmp_path / "server.log", port) as base:
            yield Live(base, engine)
    finally:
        engine.dispose()


def big_csv(rows: int, now: datetime) -> bytes:
    """`rows` good treatments of the last 25 days, on numbers no patient has yet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["first_name", "last_name", "phone", "treatment", "treated_at"])
    local = now.astimezone(ZoneInfo("America/Edmonton"))
    for n in range(rows):
        treated = local - timedelta(days=1 + n % 25, minutes=n % 600)
        kind = "chemical-peel" if n % 4 == 0 else "microneedling"
        phone = f"+1587{5550000 + n:07d}"
        writer.writerow([f"P{n}", "Import", phone, kind, f"{treated:%Y-%m-%d %H:%M}"])
    return out.getvalue().encode()


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    token = csrf_from(client.get("/login").text)
    form = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form).status_code == 303
    return client


_sids = itertools.count(1)


def worse_reply(base: str) -> tuple[dict[str, str], str]:
    """A patient's WORSE text, as Twilio posts it: its fields and X-Twilio-Signature."""
    sid = f"SM{next(_sids):032x}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "a" * 32,
        "From": PATIENT_PHONE,
        "To": CLINIC_NUMBER,
        "Body": "WORSE",
        "NumMedia": "0",
    }
    url = f"{base}/webhooks/twilio/sms"
    return params, RequestValidator(TOKEN).compute_signature(url, params)


def test_signed_replies_are_answered_within_a_second_while_50000_rows_import(
    live: Live, clock: FixedClock
) -> None:
    staff = signed_in(live.url)
    upload_page = staff.get("/import")
    files = {"file": ("treatments.csv", big_csv(ROWS, clock.now()), "text/csv")}
    data = {"csrf_token": csrf_from(upload_page.text), "mode": "import"}
    twilio = httpx.Client(base_url=live.url, timeout=120)
    _send(twilio, live.url)  # a server that was already answering replies
    latencies: dict[str, list[float]] = {}
    pace = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        upload = pool.submit(staff.post, "/import", data=data, files=files)
        stage = "uploading"
        while stage not in ("done", "failed"):
            latencies.setdefault(stage, []).append(_send(twilio, live.url))
            pace.wait(REPLY_EVERY_SECONDS)
            if upload.done():
                stage = _stage(staff, upload.result())
    every = [seconds for values in latencies.values() for seconds in values]
    print(  # the figures for the record (pytest -s)
        f"\n{len(every)} replies during the import: median {statistics.median(every):.3f} s,"
        f" max {max(every):.3f} s; per stage: "
        + ", ".join(f"{k} {len(v)} (max {max(v):.3f} s)" for k, v in latencies.items())
    )
    assert max(every) < REPLY_BOUND_SECONDS
    assert stage == "done"
    # The import did run while the replies came: some were answered during each stage.
    assert len(latencies.get("checking", [])) >= 3
    assert len(latencies.get("importing", [])) >= 3
    assert live.count(Treatment) == ROWS + 1
    assert live.count(InboundMessage) == len(every) + 1


def _send(twilio: httpx.Client, base: str) -> float:
    """Post a signed WORSE reply; how long the answer took, in seconds."""
    params, signature = worse_reply(base)
    started = time.perf_counter()
    answer = twilio.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    assert "<Message>" in answer.text
    return elapsed


def _stage(staff: httpx.Client, upload: httpx.Response) -> str:
    """Where the import is: its progress as the page polls it, or "done" when the upload's
    own answer was the result (an import that ran inside the request)."""
    if upload.status_code != 303:
        return "done" if upload.status_code == 200 else "failed"
    progress = staff.get(upload.headers["location"] + "/progress")
    found = _STAGE.search(progress.text)
    assert found, progress.text
    return found.group(1)
