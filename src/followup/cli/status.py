"""`followup status [--json]`: is the service keeping up? Workers, the queue, this node's
spool of replies, and escalations waiting past their SLA. Exits 1 when messages are due and
no worker is alive (for a cron check), 0 otherwise."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from followup.cli.common import console, injected_clock, runtime
from followup.replies.runtime import spool_of
from followup.reporting.operations import ServiceStatus, service_status
from followup.web.labels import duration_words as duration

DEGRADED = 1


def status_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Workers alive and dead, messages by status, the oldest due message, spooled replies,
    open escalations by priority and how many are past their SLA."""
    with runtime(injected_clock(ctx)) as rt, rt.sessions() as session:
        status = service_status(session, rt.clock.now(), len(spool_of(rt).pending()))
    if as_json:
        typer.echo(json.dumps(status.as_dict(), indent=2))
    else:
        _print(status)
    if status.degraded:
        raise typer.Exit(DEGRADED)


def _print(status: ServiceStatus) -> None:
    now = status.now
    verdict = "[bold red]DEGRADED[/]" if status.degraded else "[green]ok[/]"
    console.print(f"followup status at {now:%Y-%m-%d %H:%M:%S} UTC: {verdict}")
    workers = Table("worker", "host", "pid", "version", "started (UTC)", "last beat", "state")
    for worker in status.workers:
        state = "alive" if worker.alive else "[red]dead[/]"
        workers.add_row(
            worker.worker_id,
            worker.host,
            str(worker.pid),
            worker.version,
            f"{worker.started_at:%Y-%m-%d %H:%M}",
            f"{duration(worker.silent_for)} ago",
            state,
        )
    console.print(f"workers alive: {status.alive_workers}")
    if status.workers:
        console.print(workers)
    oldest = (
        f", the oldest waiting {duration(status.queue.oldest_age(now))}"
        if status.queue.oldest_due_at
        else ""
    )
    console.print(f"due now: {status.queue.due}{oldest}")
    queue = Table("status", "messages")
    for message_status, count in status.by_status().items():
        if count:
            queue.add_row(message_status.value, str(count))
    console.print(queue)
    console.print(f"replies in this node's spool: {status.spooled_replies}")
    escalations = Table("escalations", "open", "past SLA")
    for priority, load in status.escalations.items():
        escalations.add_row(priority.value, str(load.open), str(load.past_sla))
    console.print(escalations)
