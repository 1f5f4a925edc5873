"""`followup worker`: the delivery worker (APScheduler jobs) until SIGTERM/SIGINT;
`followup worker --once`: one pass for scripts (recover, tidy, send until nothing is due)."""

from __future__ import annotations

import typer

from followup.cli.common import console, runtime
from followup.worker import Worker


def worker_command(
    once: bool = typer.Option(
        False, "--once", help="Send everything due now, then exit (for scripts and cron)."
    ),
) -> None:
    """Send due messages through the configured transports; SIGTERM stops cleanly."""
    with runtime() as rt:  # also sets up logging (followup.core.logs: phone numbers redacted)
        worker = Worker(rt)
        if not once:
            raise typer.Exit(worker.run_forever())
        worker.install_signal_handlers()
        try:
            counts = worker.run_once()
        finally:
            worker.dispatcher.close()
    summary = " ".join(f"{key}={value}" for key, value in sorted(counts.items()) if value)
    console.print(f"worker pass done: {summary or 'nothing due'}")
