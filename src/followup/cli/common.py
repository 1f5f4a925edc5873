"""What every command shares: loading settings once, and failing with one clear line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from followup.core.clock import Clock
from followup.core.config import ConfigError, Settings, load_settings
from followup.core.logs import configure_logging
from followup.core.runtime import Runtime, build_runtime

BAD_INPUT = 2
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print one line on stderr and exit (2 for bad input, by convention of this CLI)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings(**overrides: Any) -> Settings:
    """Load settings once per command (command-line options in `overrides` win over the
    environment) and set up logging from them."""
    try:
        loaded = load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
    configure_logging(loaded.log_level)
    return loaded


@contextmanager
def runtime(clock: Clock | None = None, **overrides: Any) -> Iterator[Runtime]:
    built = build_runtime(settings(**overrides), clock)
    try:
        yield built
    finally:
        built.close()


def read_secret_from_stdin() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def injected_clock(ctx: typer.Context) -> Clock | None:
    """A clock handed in as the command's context object (`app(obj=clock)`, as tests do),
    so a command that judges time can be run at a chosen instant; None: the system clock."""
    obj = ctx.find_root().obj
    return obj if callable(getattr(obj, "now", None)) else None
