"""`followup clinic ...`: set up a clinic."""

from __future__ import annotations

import typer
from sqlalchemy import select

from followup.admin.clinics import ClinicError, create_clinic
from followup.cli.common import console, fail, runtime
from followup.core.db import transaction
from followup.core.phones import InvalidPhone
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
) -> None:
    """Create a clinic."""
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
                )
                created = clinic.slug
        except (ClinicError, InvalidPhone) as exc:
            fail(str(exc))
    console.print(f"clinic created: {created}")


@clinic_app.command("list")
def list_clinics() -> None:
    """List clinics."""
    with runtime() as rt, rt.sessions() as session:
        for clinic in session.scalars(select(Clinic).order_by(Clinic.slug)):
            console.print(f"{clinic.slug}\t{clinic.name}\t{clinic.timezone}")
