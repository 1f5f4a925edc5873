"""The worker's APScheduler wiring: which jobs, how often, and the hook list."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.admin.sessions import start_session
from followup.core.clock import FixedClock
from followup.core.config import load_settings
from followup.core.runtime import Runtime
from followup.models import MessageKind, MessageStatus, ScheduledMessage, StaffSession
from followup.worker import PERIODIC_JOBS, PeriodicJob, Worker, periodic_jobs, register_job
from tests.delivery.support import (
    SECRET,
    make_clinic,
    make_dispatcher,
    make_message,
    make_patient,
    make_treatment,
)
from tests.factories import make_staff


@pytest.fixture
def worker(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
    tmp_path: Path,
) -> Iterator[Worker]:
    settings = load_settings(data_dir=tmp_path, secret_key=SECRET, dispatch_interval_seconds=2.5)
    runtime = Runtime(settings=settings, engine=engine, sessions=session_factory, clock=clock)
    built = Worker(runtime, make_dispatcher(session_factory, clock, templates_dir))
    yield built
    built.stop()


def test_jobs_are_periodic_single_instance_and_coalesced(worker: Worker) -> None:
    worker.start()
    scheduler = worker._scheduler
    assert scheduler is not None
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"dispatch_due", "recover_stale_claims", "housekeeping"} <= set(jobs)
    assert "escalation_sla_sweep" in jobs
    assert jobs["dispatch_due"].trigger.interval == timedelta(seconds=2.5)
    assert jobs["recover_stale_claims"].trigger.interval == timedelta(minutes=1)
    for job in jobs.values():
        assert job.max_instances == 1
        assert job.coalesce is True


def test_registered_jobs_join_the_schedule(worker: Worker) -> None:
    ran: list[Runtime] = []
    register_job(PeriodicJob("test_job", timedelta(seconds=30), ran.append))
    try:
        assert "test_job" in {job.name for job in periodic_jobs()}
        worker.run_once()
        assert ran == [worker.runtime]
    finally:
        PERIODIC_JOBS.pop("test_job")


def test_a_failing_job_does_not_stop_the_pass(
    worker: Worker, session: Session, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken job registered before dispatch is logged, and the due message still goes."""
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    treatment = make_treatment(session, patient, clock.now() - timedelta(days=1))
    due = make_message(session, clinic, patient, treatment, send_at=clock.now())
    session.commit()
    ran_after: list[Runtime] = []

    def broken(_runtime: Runtime) -> None:
        raise RuntimeError("boom")

    register_job(PeriodicJob("broken_job", timedelta(seconds=30), broken))
    register_job(PeriodicJob("job_after_it", timedelta(seconds=30), ran_after.append))
    try:
        with caplog.at_level(logging.ERROR, logger="followup.worker"):
            counts = worker.run_once()
    finally:
        PERIODIC_JOBS.pop("broken_job")
        PERIODIC_JOBS.pop("job_after_it")
    assert counts["sent"] == 1
    assert ran_after == [worker.runtime]
    assert "worker job failed" in caplog.text
    session.expire_all()
    assert session.get_one(ScheduledMessage, due.id).status is MessageStatus.SENT


def test_housekeeping_expires_paused_messages_past_their_window(
    worker: Worker, session: Session, clock: FixedClock
) -> None:
    clinic = make_clinic(session)
    patient = make_patient(session, clinic)
    paused = make_message(
        session, clinic, patient, None, send_at=clock.now(), kind=MessageKind.STAFF_REPLY,
        body="Hi", status=MessageStatus.PAUSED, expires_at=clock.now() + timedelta(hours=1),
    )  # fmt: skip
    session.commit()
    assert worker.housekeeping() == 0
    clock.advance(timedelta(hours=2))
    assert worker.housekeeping() == 1
    session.expire_all()
    assert session.get_one(ScheduledMessage, paused.id).status is MessageStatus.EXPIRED


def test_the_worker_deletes_ended_sessions(
    worker: Worker, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    def sessions_left() -> int | None:
        with session_factory() as session:
            return session.scalar(select(func.count(StaffSession.id)))

    with session_factory.begin() as session:
        start_session(session, make_staff(session, make_clinic(session)), clock.now())
    assert "sign_in_upkeep" in {job.name for job in periodic_jobs()}
    worker.run_once()
    assert sessions_left() == 1
    clock.advance(timedelta(hours=13))
    worker.run_once()
    assert sessions_left() == 0
