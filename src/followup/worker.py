"""The worker process: APScheduler wiring only (which jobs run when); no business logic.

Jobs, each a few lines that call a use case:
  - heartbeat             every FOLLOWUP_HEARTBEAT_SECONDS: this worker is alive (its row in
                          worker_heartbeat, written at start too, deleted on a clean stop)
  - dispatch_due          every FOLLOWUP_DISPATCH_INTERVAL_SECONDS (max_instances=1, coalesce)
  - recover_stale_claims  every minute
  - housekeeping          every five minutes
  - escalation_sla_sweep  every minute
  - sign_in_upkeep        every five minutes: ended sessions, worn-off sign-in counters
  - retention_purge       every hour; purges once per UTC day, whichever worker comes first
  - whatever other modules register with `register_job`

With FOLLOWUP_WORKER_METRICS_PORT set, the worker serves /metrics on that port (the same
gauges as the web app's, and this process's claim and send timings and provider errors).

SIGTERM/SIGINT: stop claiming, let sends already at the provider finish and record them,
give back claimed messages not yet sent, exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType
from wsgiref.simple_server import WSGIServer

from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import start_http_server

from followup.admin.retention import daily_purge
from followup.core.db import transaction
from followup.core.runtime import Runtime
from followup.delivery.heartbeats import WorkerIdentity, beat, forget_long_dead, forget_worker
from followup.delivery.housekeeping import expire_overdue
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.send import Dispatcher, build_dispatcher
from followup.reporting.metrics import registry_for

log = logging.getLogger(__name__)

RECOVERY_INTERVAL = timedelta(minutes=1)
HOUSEKEEPING_INTERVAL = timedelta(minutes=5)
# Cheap when the day's purge is done (one conditional UPDATE): hourly, so a purge happens
# early in each UTC day even if workers restart often.
RETENTION_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class PeriodicJob:
    """A job another module adds to the worker: `run(runtime)` every `every`."""

    name: str
    every: timedelta
    run: Callable[[Runtime], object]


# The hook list: other modules add periodic jobs with `register_job` (a job registered
# again under the same name replaces the first). The escalation SLA sweep is wired below.
PERIODIC_JOBS: dict[str, PeriodicJob] = {}


def register_job(job: PeriodicJob) -> None:
    PERIODIC_JOBS[job.name] = job


def periodic_jobs() -> list[PeriodicJob]:
    from followup.admin.sessions import sign_in_upkeep
    from followup.escalations.lifecycle import escalation_sla_sweep

    defaults = {
        "escalation_sla_sweep": PeriodicJob(
            "escalation_sla_sweep", timedelta(minutes=1), escalation_sla_sweep
        ),
        "sign_in_upkeep": PeriodicJob("sign_in_upkeep", HOUSEKEEPING_INTERVAL, sign_in_upkeep),
    }
    return list((defaults | PERIODIC_JOBS).values())


class Worker:
    def __init__(self, runtime: Runtime, dispatcher: Dispatcher | None = None) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher or build_dispatcher(runtime)
        self._stop_requested = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._metrics_server: WSGIServer | None = None
        self.identity = WorkerIdentity(
            worker_id=self.dispatcher.owner,
            started_at=runtime.clock.now(),
            interval_seconds=runtime.settings.heartbeat_seconds,
        )

    # The jobs -----------------------------------------------------------------------

    def dispatch_due(self) -> Counter[str]:
        return self.dispatcher.dispatch_due()

    def recover_stale_claims(self) -> Counter[str]:
        return recover_stale_claims(self.dispatcher)

    def housekeeping(self) -> int:
        with transaction(self.runtime.sessions) as session:
            now = self.runtime.clock.now()
            forget_long_dead(session, now)
            return expire_overdue(session, now=now, actor=self.dispatcher.owner)

    def heartbeat(self) -> None:
        with transaction(self.runtime.sessions) as session:
            beat(session, self.identity, self.runtime.clock.now())

    def retention_purge(self) -> None:
        with transaction(self.runtime.sessions) as session:
            daily_purge(
                session,
                now=self.runtime.clock.now(),
                default_days=self.runtime.settings.retention_days,
                runner=self.dispatcher.owner,
            )

    # Running --------------------------------------------------------------------------

    def run_once(self) -> Counter[str]:
        """One pass for scripts and tests: recover, tidy, send until nothing is due."""
        counts: Counter[str] = Counter()
        counts.update({f"recovered_{k}": v for k, v in self.recover_stale_claims().items()})
        counts["expired"] += self.housekeeping()
        self._guarded(self.retention_purge)()
        for job in periodic_jobs():
            self._guarded(partial(job.run, self.runtime))()
        counts.update(self.dispatch_due())
        return counts

    def start(self) -> None:
        settings = self.runtime.settings
        self.heartbeat()  # seen from the start; a worker that cannot write this fails here
        scheduler = BackgroundScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        now = datetime.now(UTC)
        dispatch_every = timedelta(seconds=settings.dispatch_interval_seconds)
        # (id, job, every, first run at once); the heartbeat goes on while a stop finishes.
        own: list[tuple[str, Callable[[], None], timedelta, bool]] = [
            ("heartbeat", self._guarded(self.heartbeat, always=True), self.heartbeat_every, False),
            ("retention_purge", self._guarded(self.retention_purge), RETENTION_INTERVAL, True),
            ("dispatch_due", self._guarded(self.dispatch_due), dispatch_every, True),
            (
                "recover_stale_claims",
                self._guarded(self.recover_stale_claims),
                RECOVERY_INTERVAL,
                True,
            ),
            ("housekeeping", self._guarded(self.housekeeping), HOUSEKEEPING_INTERVAL, False),
        ]
        for name, job, every, at_once in own:
            first = {"next_run_time": now} if at_once else {}
            scheduler.add_job(
                job, "interval", seconds=every.total_seconds(), id=name, **first, **common
            )
        for periodic in periodic_jobs():
            scheduler.add_job(
                self._guarded(partial(periodic.run, self.runtime)),
                "interval",
                seconds=periodic.every.total_seconds(),
                id=periodic.name,
                **common,
            )
        scheduler.start()
        self._scheduler = scheduler
        self._serve_metrics()
        log.info("worker started owner=%s", self.dispatcher.owner)

    @property
    def heartbeat_every(self) -> timedelta:
        return timedelta(seconds=self.identity.interval_seconds)

    def _serve_metrics(self) -> None:
        settings = self.runtime.settings
        if settings.worker_metrics_port is None:
            return
        self._metrics_server, _thread = start_http_server(
            settings.worker_metrics_port,
            settings.worker_metrics_host,
            registry=registry_for(self.runtime),
        )
        log.info("worker metrics on port=%s", self.metrics_port)

    @property
    def metrics_port(self) -> int | None:
        """The port /metrics is served on (FOLLOWUP_WORKER_METRICS_PORT=0 picks a free one)."""
        return self._metrics_server.server_port if self._metrics_server else None

    def request_stop(self) -> None:
        self._stop_requested.set()
        self.dispatcher.request_stop()

    def stop(self) -> None:
        """Stop claiming, wait for the running jobs (in-flight sends finish), close."""
        self.dispatcher.request_stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.dispatcher.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        try:
            with transaction(self.runtime.sessions) as session:
                forget_worker(session, self.identity.worker_id)
        except Exception:
            # The row then ages into "dead" and is forgotten a day later: say so, exit anyway.
            log.exception(
                "could not remove this worker's heartbeat owner=%s", self.dispatcher.owner
            )
        log.info("worker stopped owner=%s", self.dispatcher.owner)

    def run_forever(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit code (0 on a clean stop)."""
        self.install_signal_handlers()
        self.start()
        while not self._stop_requested.wait(1.0):
            pass
        self.stop()
        return 0

    def install_signal_handlers(self) -> None:
        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received, stopping signal=%s", signal.Signals(signum).name)
            self.request_stop()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    def _guarded(self, job: Callable[[], object], *, always: bool = False) -> Callable[[], None]:
        """A failing job is logged and retried at its next run, never kills the worker.
        Jobs stop running once a stop is requested, except `always` ones (the heartbeat: a
        worker finishing its sends is still alive)."""

        def run() -> None:
            if self.dispatcher.stopping and not always:
                return
            try:
                job()
            except Exception:
                name = getattr(job, "__name__", None) or getattr(job, "func", job)
                log.exception("worker job failed job=%s", name)

        return run
