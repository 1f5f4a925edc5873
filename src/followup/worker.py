"""The worker process: APScheduler wiring only (which jobs run when); no business logic.

Jobs, each a few lines that call a use case:
  - dispatch_due          every FOLLOWUP_DISPATCH_INTERVAL_SECONDS (max_instances=1, coalesce)
  - recover_stale_claims  every minute
  - housekeeping          every five minutes
  - escalation_sla_sweep  every minute
  - sign_in_upkeep        every five minutes: ended sessions, worn-off sign-in counters
  - whatever other modules register with `register_job`

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

from apscheduler.schedulers.background import BackgroundScheduler

from followup.core.db import transaction
from followup.core.runtime import Runtime
from followup.delivery.housekeeping import expire_overdue
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.send import Dispatcher, build_dispatcher

log = logging.getLogger(__name__)

RECOVERY_INTERVAL = timedelta(minutes=1)
HOUSEKEEPING_INTERVAL = timedelta(minutes=5)


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

    # The jobs -----------------------------------------------------------------------

    def dispatch_due(self) -> Counter[str]:
        return self.dispatcher.dispatch_due()

    def recover_stale_claims(self) -> Counter[str]:
        return recover_stale_claims(self.dispatcher)

    def housekeeping(self) -> int:
        with transaction(self.runtime.sessions) as session:
            return expire_overdue(
                session, now=self.runtime.clock.now(), actor=self.dispatcher.owner
            )

    # Running --------------------------------------------------------------------------

    def run_once(self) -> Counter[str]:
        """One pass for scripts and tests: recover, tidy, send until nothing is due."""
        counts: Counter[str] = Counter()
        counts.update({f"recovered_{k}": v for k, v in self.recover_stale_claims().items()})
        counts["expired"] += self.housekeeping()
        for job in periodic_jobs():
            self._guarded(partial(job.run, self.runtime))()
        counts.update(self.dispatch_due())
        return counts

    def start(self) -> None:
        settings = self.runtime.settings
        scheduler = BackgroundScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._guarded(self.dispatch_due),
            "interval",
            seconds=settings.dispatch_interval_seconds,
            id="dispatch_due",
            next_run_time=datetime.now(UTC),
            **common,
        )
        scheduler.add_job(
            self._guarded(self.recover_stale_claims),
            "interval",
            seconds=RECOVERY_INTERVAL.total_seconds(),
            id="recover_stale_claims",
            next_run_time=datetime.now(UTC),
            **common,
        )
        scheduler.add_job(
            self._guarded(self.housekeeping),
            "interval",
            seconds=HOUSEKEEPING_INTERVAL.total_seconds(),
            id="housekeeping",
            **common,
        )
        for job in periodic_jobs():
            scheduler.add_job(
                self._guarded(partial(job.run, self.runtime)),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.name,
                **common,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("worker started owner=%s", self.dispatcher.owner)

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

    def _guarded(self, job: Callable[[], object]) -> Callable[[], None]:
        """A failing job is logged and retried at its next run, never kills the worker."""

        def run() -> None:
            if self.dispatcher.stopping:
                return
            try:
                job()
            except Exception:
                name = getattr(job, "__name__", None) or getattr(job, "func", job)
                log.exception("worker job failed job=%s", name)

        return run
