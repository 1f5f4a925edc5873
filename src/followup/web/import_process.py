"""The CSV import's own process: what runs there, and what it sends back.

The web process hands a whole import (reading the file, checking every row, writing the
good ones) to a child process, so the import's minute of CPU never competes with the
event loop for the interpreter (Python runs one thread at a time per process), and the
child runs at a lower CPU priority than the web process. This module is all the child
imports: no web app, only the database and the enrollment capability.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

from sqlalchemy import Engine

from followup.core.db import make_engine, make_session_factory
from followup.core.logs import configure_logging
from followup.enrollment.csv_import import ImportReport, ImportStopped, import_csv
from followup.enrollment.csv_rows import ImportFileError, read_rows
from followup.models import Clinic

log = logging.getLogger(__name__)

NICENESS = 10  # below the web process, which answers patients' replies
Progress = tuple[str, str, int, int]  # job id, stage, done, total


@dataclass(frozen=True)
class ImportTask:
    job_id: str
    database_url: str
    templates_dir: Path
    clinic_id: int
    text: str
    now: datetime
    actor: str
    dry_run: bool


@dataclass(frozen=True)
class ImportOutcome:
    report: ImportReport | None  # without its checked rows (up to 50,000, not needed)
    accepted: int = 0
    file_error: str | None = None  # the file itself could not be read


_progress: Queue[Progress] | None = None
_stop: Event | None = None
_engines: dict[str, Engine] = {}


def start_child(progress: Queue[Progress], stop: Event, log_level: str) -> None:
    """The child's start-up (ProcessPoolExecutor's initializer)."""
    global _progress, _stop
    _progress, _stop = progress, stop
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    configure_logging(log_level)


def run_import(task: ImportTask) -> ImportOutcome:
    """One import, in the child; its progress goes to the queue as it runs."""
    engine = _engines.get(task.database_url)
    if engine is None:
        engine = _engines[task.database_url] = make_engine(task.database_url)
    sessions = make_session_factory(engine)

    def progress(stage: str, done: int, total: int) -> None:
        if _progress is not None:
            _progress.put((task.job_id, stage, done, total))
        if _stop is not None and _stop.is_set():
            raise ImportStopped("the server was shutting down")

    try:
        progress("checking", 0, 0)
        rows = read_rows(task.text)
    except ImportFileError as exc:
        return ImportOutcome(report=None, file_error=str(exc))
    with sessions.begin() as session:
        clinic = session.get(Clinic, task.clinic_id)
    if clinic is None:
        raise LookupError(f"no clinic {task.clinic_id}")
    report = import_csv(
        sessions,
        clinic,
        rows,
        templates_dir=task.templates_dir,
        now=task.now,
        actor=task.actor,
        dry_run=task.dry_run,
        progress=progress,
    )
    accepted = report.accepted
    report.valid = []
    return ImportOutcome(report=report, accepted=accepted)
