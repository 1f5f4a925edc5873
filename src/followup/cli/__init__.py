"""The `followup` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="followup",
    help="Post-treatment follow-up for skin clinics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so that `followup --help` stays fast and modules stay independent.
    from followup.cli import commands  # noqa: F401


def main() -> None:
    _register()
    app()
