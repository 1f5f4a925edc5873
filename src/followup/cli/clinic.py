"""`followup clinic ...`: set up a clinic."""

from __future__ import annotations

import typer
from sqlalchemy import select

from followup.admin.clinics import ClinicError, create_clinic
from followup.cli.common import console, fail, runtime
from followup.core.db import transaction
from followup.core.phones import InvalidPhone
from followup.messages.office_hours import (
    OfficeHours,
    OfficeHoursError,
    describe_office_hours,
    parse_days,
    parse_times,
)
from followup.models import Clinic

clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)


@clinic_app.command("add")
def add_clinic(
    name: str = typer.Option(..., help="Clinic name as patients know it."),
    tz: str = typer.Option(..., help="IANA time zone, e.g. America/Edmonton."),
    phone: str = typer.Option(..., help="Number patients call."),
    country: str = typer.Option("CA", help="ISO country code for local phone numbers."),
    slug: str | None = typer.Option(None, help="Short id; made from the name if omitted."),
    sender: str | None = typer.Option(None, help="The SMS number messages come from."),
    email: str | None = typer.Option(None, help="Clinic contact email."),
    sms_name: str | None = typer.Option(None, help="Short name for SMS bodies (max 40)."),
    office_days: str = typer.Option(
        "mon-fri", help="Days staff read patients' texts, e.g. mon-fri or mon,wed,fri."
    ),
    office_hours: str = typer.Option(
        "09:00-17:00", help="When on those days, clinic time, e.g. 08:30-16:30."
    ),
) -> None:
    """Create a clinic."""
    try:
        hours = OfficeHours(parse_days(office_days), *parse_times(office_hours))
    except OfficeHoursError as exc:
        option = "--office-days" if exc.field == "office_days" else "--office-hours"
        fail(f"{option}: {exc}")
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                clinic = create_clinic(
                    session,
                    name=name,
                    timezone=tz,
                    contact_phone=phone,
                    country=country,
                    slug=slug,
                    sender_number=sender,
                    contact_email=email,
                    sms_name=sms_name,
                    office_hours=hours,
                )
                created = clinic.slug
        except (ClinicError, InvalidPhone) as exc:
            fail(str(exc))
    words = describe_office_hours(hours, "en")
    console.print(f"clinic created: {created}; reads messages {words}", soft_wrap=True)


@clinic_app.command("list")
def list_clinics() -> None:
    """List clinics, with the hours their staff read patients' texts."""
    with runtime() as rt, rt.sessions() as session:
        for clinic in session.scalars(select(Clinic).order_by(Clinic.slug)):
            hours = describe_office_hours(OfficeHours.of(clinic), "en")
            line = f"{clinic.slug}\t{clinic.name}\t{clinic.timezone}\t{hours}"
            console.print(line, soft_wrap=True, highlight=False)
