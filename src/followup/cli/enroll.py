"""`followup enroll`: enroll one patient from the command line and print the schedule, or
many from a CSV file (`--csv FILE [--dry-run]`, see followup.cli.importing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from followup.admin.clinics import UnknownClinic, get_clinic
from followup.cli.common import BAD_INPUT, console, fail, runtime
from followup.cli.importing import import_csv_file
from followup.core.db import transaction
from followup.core.phones import mask_phone
from followup.enrollment.enroll import (
    DuplicateEnrollment,
    EnrollmentInput,
    InvalidEnrollment,
    enroll,
)
from followup.messages.plans import to_local
from followup.models import ChannelPreference, Language


def enroll_command(
    clinic: str = typer.Option(..., help="Clinic slug."),
    first_name: str | None = typer.Option(None, help="Patient's first name."),
    last_name: str = typer.Option("", help="Patient's last name."),
    phone: str | None = typer.Option(
        None, help="Mobile number; local numbers use the clinic's country."
    ),
    email: str | None = typer.Option(None, help="Email address (needed for email channel)."),
    treatment: str = typer.Option("microneedling", help="Treatment kind (the plan's name)."),
    treated_at: str | None = typer.Option(None, help="ISO time; without offset it is clinic time."),
    channel: ChannelPreference = typer.Option(ChannelPreference.SMS, help="sms, email or both."),
    lang: str = typer.Option(Language.EN.value, help="The patient's language: en, fr or es."),
    practitioner: str | None = typer.Option(None, help="Who did the treatment."),
    consent: str = typer.Option("in_clinic", help="How consent to messages was given."),
    csv: Path | None = typer.Option(None, "--csv", help="Enroll every row of this CSV file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --csv: check rows, write nothing."),
) -> None:
    """Enroll a patient: patient, treatment and scheduled messages in one transaction."""
    if csv is not None:
        raise typer.Exit(import_csv_file(clinic, csv, dry_run=dry_run))
    if first_name is None or phone is None or treated_at is None:
        fail("--first-name, --phone and --treated-at are required (or give --csv FILE)")
    _enroll_one(
        clinic,
        EnrollmentInput(
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email,
            treatment=treatment,
            treated_at=treated_at,  # without an offset: the clinic's time
            channel=channel.value,
            language=lang,
            practitioner=practitioner,
            consent_method=consent,
        ),
    )


ScheduleRow = tuple[str, str, datetime, str]


def _enroll_one(clinic: str, given: EnrollmentInput) -> None:
    """Enroll in one transaction and print the schedule in the clinic's local time; each
    refused field is one line on stderr (exit 2)."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                found = get_clinic(session, clinic)
                tz = ZoneInfo(found.timezone)
                result = enroll(
                    session,
                    found,
                    given,
                    templates_dir=rt.templates_dir,
                    now=rt.clock.now(),
                    actor="cli",
                )
                rows: list[ScheduleRow] = [
                    (m.step or "", m.channel.value, to_local(m.send_at, tz), m.status.value)
                    for m in sorted(result.messages, key=lambda m: (m.send_at, m.channel))
                ]
                summary = (
                    f"enrolled patient #{result.patient.id} ({mask_phone(result.patient.phone)}), "
                    f"treatment #{result.treatment.id} {result.treatment.kind}"
                )
                if result.stop_received_at is not None:
                    summary += "\nopted out: this number texted STOP and has not texted START since"
                for warning in result.warnings:
                    summary += f"\nwarning: {warning.message()}"
        except UnknownClinic as exc:
            fail(str(exc))
        except DuplicateEnrollment as exc:
            fail(f"{exc.field}: {exc}")
        except InvalidEnrollment as exc:
            for error in exc.errors:
                typer.echo(f"error: {error.field}: {error.message}", err=True)
            raise typer.Exit(BAD_INPUT) from None
    console.print(summary)
    _print_schedule(rows, tz)


def _print_schedule(rows: list[ScheduleRow], tz: ZoneInfo) -> None:
    table = Table("step", "channel", f"send at ({tz.key})", "status")
    for step, chan, local, status in rows:
        table.add_row(step, chan, local.strftime("%a %Y-%m-%d %H:%M %Z"), status)
    console.print(table)
