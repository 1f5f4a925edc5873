"""`followup purge --older-than DAYS [--clinic SLUG] [--execute]`: remove message bodies and
reply texts past retention. Without --execute it only counts."""

from __future__ import annotations

import typer
from rich.table import Table

from followup.admin.clinics import UnknownClinic, get_clinic
from followup.admin.retention import RetentionError, purge
from followup.cli.common import console, fail, runtime
from followup.core.db import transaction


def purge_command(
    older_than: int = typer.Option(
        ..., "--older-than", help="Days to keep, for clinics without their own retention."
    ),
    clinic: str | None = typer.Option(None, help="Only this clinic (slug)."),
    execute: bool = typer.Option(False, "--execute", help="Really clear; default is a dry run."),
) -> None:
    """Purge message bodies and inbound texts past each clinic's retention (dry run unless
    --execute); counts, statuses and intents stay for the reports."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                targets = [get_clinic(session, clinic)] if clinic else None
                counts = purge(
                    session,
                    older_than_days=older_than,
                    now=rt.clock.now(),
                    execute=execute,
                    clinics=targets,
                    actor="cli",
                )
        except (UnknownClinic, RetentionError) as exc:
            fail(str(exc))
    table = Table("clinic", "keep days", "cutoff (UTC)", "message bodies", "inbound texts")
    for c in counts:
        days = f"{c.retention_days}{' (clinic)' if c.from_clinic_setting else ''}"
        table.add_row(
            c.clinic,
            days,
            f"{c.cutoff:%Y-%m-%d %H:%M}",
            str(c.message_bodies),
            str(c.inbound_texts),
        )
    console.print(table)
    if execute:
        console.print("purged.")
    else:
        console.print("dry run: nothing changed. Add --execute to purge.")
