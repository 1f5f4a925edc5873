"""`followup token create/revoke/list`: API tokens for booking systems."""

from __future__ import annotations

import typer
from rich.table import Table

from followup.admin.api_tokens import (
    TokenError,
    create_token,
    find_token,
    list_tokens,
    revoke_token,
)
from followup.admin.clinics import UnknownClinic, get_clinic
from followup.cli.common import console, fail, runtime
from followup.core.db import transaction

token_app = typer.Typer(help="API tokens for booking systems.", no_args_is_help=True)


@token_app.command("create")
def create_command(
    clinic: str = typer.Option(..., help="Clinic slug."),
    name: str = typer.Option(..., help="What the token is for, e.g. the booking system."),
) -> None:
    """Create a token and print it once; only its hash is stored."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                issued = create_token(
                    session, get_clinic(session, clinic), name=name, now=rt.clock.now(), actor="cli"
                )
                token_id, secret = issued.token.id, issued.secret
        except (UnknownClinic, TokenError) as exc:
            fail(str(exc))
    console.print(f"token #{token_id} created. It is shown only now; store it safely:")
    # Printed bare, so `followup token create ... | tail -1` can feed a secret store.
    print(secret)


@token_app.command("revoke")
def revoke_command(
    clinic: str = typer.Option(..., help="Clinic slug."),
    token: str = typer.Argument(..., help="Token id or prefix (see `followup token list`)."),
) -> None:
    """Revoke a token: requests made with it are refused from now on."""
    with runtime() as rt:
        try:
            with transaction(rt.sessions) as session:
                found = find_token(session, get_clinic(session, clinic), token)
                changed = revoke_token(session, found, now=rt.clock.now(), actor="cli")
                prefix = found.prefix
        except (UnknownClinic, TokenError) as exc:
            fail(str(exc))
    console.print(f"token {prefix} {'revoked' if changed else 'was already revoked'}")


@token_app.command("list")
def list_command(clinic: str = typer.Option(..., help="Clinic slug.")) -> None:
    """List a clinic's tokens (never the secrets)."""
    with runtime() as rt, rt.sessions() as session:
        try:
            tokens = list_tokens(session, get_clinic(session, clinic))
        except UnknownClinic as exc:
            fail(str(exc))
        table = Table("id", "prefix", "name", "created", "last used", "revoked")
        for t in tokens:
            table.add_row(
                str(t.id),
                t.prefix,
                t.name,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
            )
    console.print(table)
