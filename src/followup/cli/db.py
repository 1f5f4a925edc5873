"""`followup db ...`: schema migrations."""

from __future__ import annotations

import typer

from followup.cli.common import console, settings
from followup.core.runtime import upgrade_database

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    url = settings().effective_database_url
    upgrade_database(url, revision)
    console.print(f"database at revision {revision}")
