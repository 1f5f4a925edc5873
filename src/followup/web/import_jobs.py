"""CSV imports in the background of the web process, so that neither the event loop nor
the interpreter that answers patients' replies ever waits for one.

An upload becomes a job: a random id, its clinic, its stage and counts, which the import
page polls. The job itself runs in a child process (web.import_process), one at a time
per web process; a second upload waits its turn rather than take the other core too. The
child is started with the first import and kept for the next. A finished job is
forgotten an hour later: its rows are in the database, its report was for the person who
uploaded the file.

Jobs live in this process's memory. With several web processes behind a load balancer,
the import page must come back to the one that took the upload (sticky sessions); another
answers "not found". When the app stops, a running import stops after its current batch.
"""

from __future__ import annotations

import logging
import multiprocessing
import secrets
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from followup.core.runtime import Runtime
from followup.enrollment.csv_import import ImportReport, ImportStopped
from followup.web.import_process import ImportOutcome, ImportTask, Progress, run_import, start_child

log = logging.getLogger(__name__)

KEEP_SECONDS = 3600.0  # how long a finished job's report stays on the import page
MAX_JOBS = 20  # per process (a report may list 50,000 refused rows); oldest finished go first
# A fresh interpreter for the child: forking a process that runs threads (the event loop,
# database pools) can copy a lock in the middle of being held.
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class ImportJob:
    id: str
    clinic_id: int
    filename: str
    dry_run: bool
    stage: str = "waiting"  # then checking, importing (what the import reports)
    done: int = 0
    total: int = 0
    report: ImportReport | None = None
    accepted: int = 0  # rows that passed the check
    error: str | None = None
    finished_at: float | None = None  # time.monotonic(), set last
    future: Future[ImportOutcome] | None = field(default=None, repr=False)
    ended: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def state(self) -> str:
        """The stage, or "done" / "failed" once finished."""
        if self.finished_at is None:
            return self.stage
        return "failed" if self.error else "done"


class ImportJobs:
    """The imports of one web process, and the child process that runs them."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._progress: Queue[Progress] | None = None
        self._stop: Event | None = None

    def start(
        self, *, clinic_id: int, actor: str, filename: str, text: str, dry_run: bool
    ) -> ImportJob:
        """Queue an import of the CSV `text` and return at once."""
        runtime = self._runtime
        job = ImportJob(
            id=secrets.token_urlsafe(16), clinic_id=clinic_id, filename=filename, dry_run=dry_run
        )
        task = ImportTask(
            job_id=job.id,
            database_url=runtime.engine.url.render_as_string(hide_password=False),
            templates_dir=runtime.templates_dir,
            clinic_id=clinic_id,
            text=text,
            now=runtime.clock.now(),
            actor=actor,
            dry_run=dry_run,
        )
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
            job.future = self._submit(task)
        job.future.add_done_callback(lambda future: self._finish(job, future))
        return job

    def get(self, job_id: str, clinic_id: int) -> ImportJob | None:
        """The job, if it exists and belongs to `clinic_id` (else None, as if unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.clinic_id == clinic_id else None

    def wait(self, job_id: str, timeout: float | None = None) -> ImportJob:
        """Block until the job has finished (for tests; never on the event loop)."""
        with self._lock:
            job = self._jobs[job_id]
        if not job.ended.wait(timeout):
            raise TimeoutError(f"import job {job_id} is still running")
        return job

    def close(self) -> None:
        """Stop: a running import stops after its current batch; waiting ones are dropped."""
        with self._lock:
            pool, stop, progress = self._pool, self._stop, self._progress
            self._pool = None
        if stop is not None:
            stop.set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if progress is not None:
            progress.put(("", "", 0, 0))  # ends the progress thread

    def _submit(self, task: ImportTask) -> Future[ImportOutcome]:
        if self._pool is not None:
            try:
                return self._pool.submit(run_import, task)
            except BrokenProcessPool:  # the child died (killed, out of memory): a new one
                log.warning("csv import process was lost; starting another")
        self._progress, self._stop = _CONTEXT.Queue(), _CONTEXT.Event()
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=_CONTEXT,
            initializer=start_child,
            initargs=(self._progress, self._stop, self._runtime.settings.log_level),
        )
        threading.Thread(
            target=self._follow, args=(self._progress,), name="import-progress", daemon=True
        ).start()
        return self._pool.submit(run_import, task)

    def _follow(self, progress: Queue[Progress]) -> None:
        """Copy the child's progress reports onto the jobs (a thread of this process)."""
        while True:
            job_id, stage, done, total = progress.get()
            if not job_id:
                return
            with self._lock:
                job = self._jobs.get(job_id)
            if job is not None and job.finished_at is None:
                job.stage, job.done, job.total = stage, done, total

    def _finish(self, job: ImportJob, future: Future[ImportOutcome]) -> None:
        try:
            outcome = future.result()
        except CancelledError:
            job.error = "The server stopped before this import could start; upload it again."
        except ImportStopped:
            job.error = "The server stopped while checking this file; upload it again."
        except Exception:
            # The child's failure arrives here: logged and shown instead of vanishing.
            log.exception("csv import job=%s clinic=%s failed", job.id, job.clinic_id)
            job.error = "The import failed on the server; rows written before that are kept."
        else:
            if outcome.file_error is not None:
                job.error = f"The file can't be imported: {outcome.file_error}"
            job.report, job.accepted = outcome.report, outcome.accepted
        job.finished_at = time.monotonic()
        job.ended.set()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and now - job.finished_at > KEEP_SECONDS:
                del self._jobs[job_id]
        finished = sorted(
            (job for job in self._jobs.values() if job.finished_at is not None),
            key=lambda job: job.finished_at or 0.0,
        )
        for job in finished[: max(0, len(self._jobs) - MAX_JOBS + 1)]:
            del self._jobs[job.id]
