"""`followup enroll --csv FILE [--dry-run]`: check a spreadsheet of treatments, name each
refused row on one line of stderr (`FILE:LINE: FIELD: REASON`, the form compilers use, so
an editor or grep can jump to it), and import the good ones."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from followup.admin.clinics import UnknownClinic, get_clinic
from followup.cli.common import BAD_INPUT, console, fail, runtime
from followup.core.db import transaction
from followup.enrollment.csv_import import ImportReport, import_csv
from followup.enrollment.csv_rows import ImportFileError, read_rows


def import_csv_file(clinic: str, path: Path, *, dry_run: bool) -> int:
    """Run the import; print the report; return the exit code: 2 when any row was refused
    (the good ones were imported all the same), else 0."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--csv: cannot read {path}: {exc}")
    with (
        runtime() as rt,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("checking rows", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{stage} rows", completed=done, total=total)

        try:
            rows = read_rows(text)
            with transaction(rt.sessions) as session:
                found = get_clinic(session, clinic)
            report = import_csv(
                rt.sessions,
                found,
                rows,
                templates_dir=rt.templates_dir,
                now=rt.clock.now(),
                actor="cli",
                dry_run=dry_run,
                progress=progress,
            )
        except UnknownClinic as exc:
            fail(str(exc))
        except ImportFileError as exc:
            fail(f"{path}: {exc}")
    _print_report(path, report)
    return BAD_INPUT if report.problems or report.stopped else 0


def _print_report(path: Path, report: ImportReport) -> None:
    for problem in report.problems:
        typer.echo(f"{path}:{problem.line}: {problem.field}: {problem.reason}", err=True)
    for warning in report.warnings:
        typer.echo(f"{path}:{warning.line}: warning: {warning.reason}", err=True)
    if report.stopped:
        typer.echo(f"{path}: the import stopped: {report.stopped}", err=True)
    refused = len(report.problems)
    if report.dry_run:
        done = f"{report.accepted} would be imported (dry run)"
    else:
        done = f"{report.imported} imported"
    typer.echo(f"{path}: {report.rows} rows, {done}, {refused} refused")
