"""`followup clinic ...` and `followup staff ...`: set up a clinic and who works there."""

from __future__ import annotations

import getpass

import typer
from sqlalchemy import select

from followup.admin.clinics import ClinicError, create_clinic, create_staff, get_clinic
from followup.cli.common import console, fail, read_secret_from_stdin, runtime
from followup.core.db import transaction
from followup.core.passwords import WeakPassword
from followup.core.phones import InvalidPhone
from followup.models import Clinic, Role

clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


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


@staff_app.command("add")
def add_staff(
    clinic: str = typer.Option(..., help="Clinic slug."),
    email: str = typer.Option(..., help="Sign-in email."),
    role: Role = typer.Option(Role.STAFF, help="admin or staff."),
    name: str = typer.Option("", help="Display name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create a staff account (password from a prompt or --password-stdin)."""
    password = read_secret_from_stdin() if password_stdin else _prompt_password()
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                user = create_staff(
                    session,
                    get_clinic(session, clinic),
                    email=email,
                    password=password,
                    role=role,
                    name=name,
                )
                created = user.email
        except (ClinicError, WeakPassword) as exc:
            fail(str(exc))
    console.print(f"staff account created: {created} ({role.value})")


def _prompt_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        fail("passwords do not match")
    return first
