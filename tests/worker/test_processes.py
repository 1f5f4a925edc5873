"""Real worker processes (`python -m followup worker`) against PostgreSQL and the Twilio double:
several workers, kill -9 mid-send, SIGTERM mid-batch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL

from followup.core.clock import FixedClock
from followup.core.db import make_engine, make_session_factory
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.models import Base, MessageStatus, ScheduledMessage
from followup.testing.twilio_double import TwilioDouble
from tests.conftest import NewDatabase
from tests.delivery.support import PUBLIC_URL, SECRET, bulk_due_messages, make_dispatcher

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg(postgres_available: bool, new_database: NewDatabase) -> Iterator[Engine]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    engine = make_engine(new_database("postgres"))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble.start() as running:
        yield running


def _worker_env(
    engine: Engine, double: TwilioDouble, tmp_path: Path, **extra: str
) -> dict[str, str]:
    url: URL = engine.url
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWUP_")}
    env |= {
        "FOLLOWUP_DATABASE_URL": url.render_as_string(hide_password=False),
        "FOLLOWUP_DATA_DIR": str(tmp_path),
        "FOLLOWUP_SECRET_KEY": SECRET,
        "FOLLOWUP_PUBLIC_URL": PUBLIC_URL,
        "FOLLOWUP_SMS_TRANSPORT": "twilio",
        "FOLLOWUP_TWILIO_ACCOUNT_SID": double.account_sid,
        "FOLLOWUP_TWILIO_AUTH_TOKEN": double.auth_token,
        "FOLLOWUP_TWILIO_API_BASE_URL": double.base_url,
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }
    return env | extra


def _spawn(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "followup", "worker", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _count(engine: Engine, status: MessageStatus) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(ScheduledMessage.status == status)) or 0)


def _wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.01) -> bool:
    """Wait for a condition (not for time): True as soon as it holds, False on timeout."""
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        event.wait(poll)
    return condition()


def _assert_each_accepted_once(engine: Engine, double: TwilioDouble, total: int) -> None:
    accepted = double.accepted
    assert not double.duplicates()
    with engine.connect() as conn:
        rows = conn.execute(select(ScheduledMessage.status, ScheduledMessage.provider_id)).all()
    assert len(rows) == total
    sent_ids = {provider_id for status, provider_id in rows if status is MessageStatus.SENT}
    reviewed = sum(1 for status, _ in rows if status is MessageStatus.NEEDS_REVIEW)
    assert {status for status, _ in rows} <= {MessageStatus.SENT, MessageStatus.NEEDS_REVIEW}
    assert len(sent_ids) == total - reviewed  # one distinct provider id per sent message
    assert sent_ids <= {message.sid for message in accepted}
    assert len(accepted) <= total  # nothing accepted twice, nothing extra


def test_four_worker_processes_send_every_message_exactly_once(
    pg: Engine, double: TwilioDouble, tmp_path: Path
) -> None:
    """Counted from Twilio's side: each patient's number received one message, no more, no
    less (bulk_due_messages gives every patient their own number). A bounded run: the four
    workers share 4,000 messages; tests/delivery/test_claim_concurrency.py shows in seconds
    that a claim does not wait for another's."""
    total = 4_000
    bulk_due_messages(pg, total, due_at=datetime.now(UTC) - timedelta(minutes=1))
    env = _worker_env(
        pg, double, tmp_path, FOLLOWUP_DISPATCH_BATCH_SIZE="200", FOLLOWUP_SEND_CONCURRENCY="8"
    )
    workers = [_spawn(env, tmp_path, "--once") for _ in range(4)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr.decode()[-2000:]

    per_number = Counter(message.to for message in double.accepted)
    assert per_number == Counter({f"+1403{i:07d}": 1 for i in range(total)})
    _assert_each_accepted_once(pg, double, total)
    assert _count(pg, MessageStatus.SENT) == total


def test_kill_9_mid_send_loses_and_duplicates_nothing(
    pg: Engine, double: TwilioDouble, tmp_path: Path, templates_dir: Path
) -> None:
    """Each round, a worker is killed while Twilio holds the answers to sends it has already
    taken (the double's hold): where the kill lands is chosen, not left to timing."""
    total, rounds, concurrency = 2_000, 10, 8
    rng = random.Random(int(os.environ.get("FOLLOWUP_TEST_SEED", "20261125")))
    bulk_due_messages(pg, total, due_at=datetime.now(UTC) - timedelta(minutes=1))
    env = _worker_env(
        pg, double, tmp_path, FOLLOWUP_DISPATCH_BATCH_SIZE="50",
        FOLLOWUP_SEND_CONCURRENCY=str(concurrency),
        # No lease expires during the rounds, so no round's worker recovers another's.
        FOLLOWUP_LEASE_SECONDS="3600",
    )  # fmt: skip
    for _ in range(rounds):
        double.hold_answers()
        # 1 to 8 sends taken and unanswered: the worker cannot get past them.
        target = len(double.accepted) + rng.randint(1, concurrency)
        worker = _spawn(env, tmp_path, "--once")
        assert double.wait_for_accepted(target, timeout=60), worker.poll()
        assert worker.poll() is None  # still waiting for its answers
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        double.release_answers()  # the answers go to a dead process
    taken_before_the_kills = len(double.accepted)
    stuck = _count(pg, MessageStatus.SENDING)
    assert stuck >= taken_before_the_kills  # every taken send is still a claim

    # The dead workers' requests still in flight at the double have landed by now.
    assert double.wait_idle(timeout=30)
    # Their leases expire: recovery runs with a clock past them, then the rest is sent.
    later = FixedClock(datetime.now(UTC) + timedelta(hours=2))
    twilio = TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=5
    )
    dispatcher = make_dispatcher(
        make_session_factory(pg), later, templates_dir, sms=twilio, batch_size=200,
        concurrency=8, lease_seconds=3600,  # the workers' lease: when their claims began
    )  # fmt: skip
    recovered = recover_stale_claims(dispatcher, limit=10_000)
    assert sum(recovered.values()) == stuck
    # What Twilio took before each kill is found there and recorded as sent, not resent.
    assert recovered["sent"] == taken_before_the_kills
    dispatcher.dispatch_due()
    dispatcher.close()

    _assert_each_accepted_once(pg, double, total)
    assert len(double.accepted) == total
    assert _count(pg, MessageStatus.SENT) == total


def test_sigterm_mid_batch_exits_cleanly_leaving_nothing_in_sending(
    pg: Engine, double: TwilioDouble, tmp_path: Path
) -> None:
    total = 400
    bulk_due_messages(pg, total, due_at=datetime.now(UTC) - timedelta(minutes=1))
    double.set_latency(0.2)
    env = _worker_env(
        pg, double, tmp_path, FOLLOWUP_DISPATCH_BATCH_SIZE="100", FOLLOWUP_SEND_CONCURRENCY="8"
    )
    worker = _spawn(env, tmp_path)  # the long-running scheduler, not --once
    assert _wait_until(lambda: len(double.accepted) >= 20, 60)

    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)

    assert worker.returncode == 0, stderr.decode()[-2000:]
    assert _count(pg, MessageStatus.SENDING) == 0
    sent = _count(pg, MessageStatus.SENT)
    assert sent == len(double.accepted)  # every send that went out was recorded
    assert sent < total
    with pg.connect() as conn:
        waiting = conn.execute(
            select(ScheduledMessage.status, ScheduledMessage.attempts).where(
                ScheduledMessage.status != MessageStatus.SENT
            )
        ).all()
    assert len(waiting) == total - sent
    assert {(status, attempts) for status, attempts in waiting} == {(MessageStatus.SCHEDULED, 0)}
    assert not double.duplicates()
