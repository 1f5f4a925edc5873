"""`followup replies ...`: try the reply classifier on real text, one reply per line; replay
the outage spool; play a patient texting the clinic (`simulate`, in cli/simulate.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followup.cli.common import runtime
from followup.cli.replies_evaluate import evaluate_command
from followup.cli.simulate import simulate_command
from followup.replies import Classification, LexiconError, classify, load_lexicon
from followup.replies.runtime import replay_spool, spool_of

replies_app = typer.Typer(
    help="Patient replies: classify them, replay the spool, play a patient.",
    no_args_is_help=True,
)
replies_app.command("simulate")(simulate_command)


@replies_app.command("classify")
def classify_command(
    json_lines: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (JSON Lines).")
    ] = False,
    lexicon_paths: Annotated[
        list[Path] | None,
        typer.Option("--lexicon", help="A clinic lexicon file extending the packaged one."),
    ] = None,
) -> None:
    """Read replies from stdin, one per line, and print how each is classified."""
    try:
        lexicon = load_lexicon(*(lexicon_paths or []))
    except LexiconError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    texts = [line.rstrip("\r\n") for line in sys.stdin]
    results = [(text, classify(text, lexicon)) for text in texts if text.strip()]
    if json_lines:
        for text, result in results:
            typer.echo(json.dumps(_as_json(text, result), ensure_ascii=False))
    else:
        Console().print(_table(results))


def _as_json(text: str, result: Classification) -> dict[str, object]:
    return {
        "text": text,
        "intent": result.intent.value,
        "urgent": result.urgent,
        "matched": list(result.matched),
    }


def _table(results: list[tuple[str, Classification]]) -> Table:
    table = Table("reply", "intent", "urgent", "matched")
    for text, result in results:
        urgent = "[bold red]URGENT[/]" if result.urgent else ""
        # Replies are patient text: print them literally, never as rich markup.
        table.add_row(escape(text), result.intent.value, urgent, escape(", ".join(result.matched)))
    return table


replies_app.command("evaluate")(evaluate_command)


@replies_app.command("replay-spool")
def replay_spool_command() -> None:
    """Handle the replies kept on disk while the database was unreachable (the web app
    also does this by itself every 30 seconds)."""
    with runtime() as rt:
        waiting = len(spool_of(rt).pending())
        result = replay_spool(rt)
    typer.echo(
        f"{waiting} kept, {result.handled} handled, {result.failed} still failing,"
        f" {result.unreadable} unreadable (renamed .unreadable)"
    )
    if result.failed or result.unreadable:
        raise typer.Exit(code=1)
