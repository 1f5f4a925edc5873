"""`followup staff ...`: staff accounts from the command line: add one, reset a forgotten
password, unlock an account held back by failed sign-ins. The same use cases as the
dashboard's settings page, audited as done by "cli"."""

from __future__ import annotations

import getpass

import typer

from followup.admin.clinics import ClinicError, create_staff, get_clinic
from followup.admin.staff_accounts import AccountError, find_staff, reset_password, unlock
from followup.cli.common import console, err_console, fail, read_secret_from_stdin, runtime
from followup.core.db import transaction
from followup.core.passwords import WeakPassword
from followup.models import Role

staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
CLI_ACTOR = "cli"


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


@staff_app.command("reset-password")
def reset_password_command(
    email: str = typer.Argument(..., help="The account's sign-in email."),
) -> None:
    """Give an account a temporary password, printed once, that only lets its holder choose
    a new one; the account's sessions end and any hold on signing in is lifted."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                user = find_staff(session, email)
                temporary = reset_password(session, user, now=rt.clock.now(), actor=CLI_ACTOR)
                account = user.email
        except AccountError as exc:
            fail(str(exc))
    err_console.print(
        f"temporary password for {account} (shown once; it only opens the page where they "
        "choose their own, and every session of the account has ended):",
        highlight=False,
    )
    typer.echo(temporary)


@staff_app.command("unlock")
def unlock_command(
    email: str = typer.Argument(..., help="The account's sign-in email."),
) -> None:
    """Lift the hold that failed sign-ins put on an account, so it can sign in at once."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                user = find_staff(session, email)
                was_held_back = unlock(session, user, now=rt.clock.now(), actor=CLI_ACTOR)
                account = user.email
        except AccountError as exc:
            fail(str(exc))
    state = "unlocked" if was_held_back else "was not held back; nothing to unlock"
    console.print(f"{account}: {state}", highlight=False)


def _prompt_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        fail("passwords do not match")
    return first
