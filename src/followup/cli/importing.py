"""`followup enroll --csv FILE [--dry-run]`: check a spreadsheet of treatments, report each
bad row, and import the good ones in one transaction."""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from followup.admin.clinics import UnknownClinic, get_clinic
from followup.cli.common import console, fail, runtime
from followup.core.db import transaction
from followup.enrollment.csv_import import ImportFileError, ImportReport, import_csv

SOME_ERRORS = 1  # exit code when some rows were refused (the good ones were imported)


def import_csv_file(clinic: str, path: Path, *, dry_run: bool) -> int:
    """Run the import; print the report; return the exit code."""
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
            with transaction(rt.sessions) as session:
                report = import_csv(
                    session,
                    get_clinic(session, clinic),
                    text,
                    templates_dir=rt.templates_dir,
                    now=rt.clock.now(),
                    actor="cli",
                    dry_run=dry_run,
                    progress=progress,
                )
        except (UnknownClinic, ImportFileError) as exc:
            fail(f"{path}: {exc}" if isinstance(exc, ImportFileError) else str(exc))
    _print_report(path, report)
    return SOME_ERRORS if report.problems else 0


def _print_report(path: Path, report: ImportReport) -> None:
    if report.problems:
        table = Table("line", "field", "reason", title=f"{len(report.problems)} rows refused")
        for problem in report.problems:
            table.add_row(str(problem.line), problem.field, problem.reason)
        console.print(table)
    good = len(report.valid)
    if report.dry_run:
        console.print(f"{path}: {report.rows} rows, {good} would be imported (dry run)")
    else:
        console.print(f"{path}: {report.rows} rows, {report.imported} imported")
