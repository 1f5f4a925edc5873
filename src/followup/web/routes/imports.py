"""CSV upload: the file is handed to a background job (web.import_jobs) that reads,
checks and imports it in a process of its own; the job's page polls its progress and shows
every refused row when done. The rules are followup.enrollment's, the same as
`followup enroll --csv`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from followup.core.audit import record_audit
from followup.core.csv_export import csv_text
from followup.enrollment.csv_rows import OPTIONAL, REQUIRED
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import CurrentStaff, DbSession, NotFound, RuntimeDep
from followup.web.import_jobs import ImportJob, ImportJobs
from followup.web.pages import redirect, render

router = staff_pages()
actions = staff_actions()
MAX_BYTES = 5 * 1024 * 1024  # ~50,000 rows; bigger files go through the CLI
SHOWN_PROBLEMS = 200  # rows listed on the page; all of them are in the CSV download
JobId = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PROBLEMS_HEADER = ("line", "name", "outcome", "field", "reason")


def _page(request: Request, status_code: int = 200, **context: object) -> Response:
    values = {
        "required": REQUIRED,
        "optional": OPTIONAL,
        "max_mb": MAX_BYTES // 2**20,
        "shown_problems": SHOWN_PROBLEMS,
    }
    return render(request, "import.html", values | context, status_code=status_code)


def _jobs(request: Request) -> ImportJobs:
    jobs: ImportJobs = request.app.state.import_jobs
    return jobs


def _job(request: Request, staff: CurrentStaff, job_id: str) -> ImportJob:
    job = _jobs(request).get(job_id, staff.clinic_id)
    if job is None:
        raise NotFound
    return job


def _audit_result(
    session: DbSession, runtime: RuntimeDep, staff: CurrentStaff, job: ImportJob, action: str
) -> None:
    """A finished report names patients (the refused rows): seeing it is audited."""
    if job.finished:
        record_audit(
            session,
            at=runtime.clock.now(),
            actor=staff.email,
            action=action,
            clinic_id=staff.clinic_id,
            staff_user_id=staff.id,
            detail={"job": job.id, "rows": job.report.rows if job.report else 0},
        )


@router.get("/import")
def import_form(request: Request, staff: CurrentStaff) -> Response:
    return _page(request)


@actions.post("/import")
def import_upload(
    request: Request,
    staff: CurrentStaff,
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form(max_length=10)] = "check",
) -> Response:
    """A plain function, so FastAPI runs it on a worker thread, not on the event loop."""
    raw = file.file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return _page(request, 413, error=f"The file is larger than {MAX_BYTES // 2**20} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _page(request, 422, error="The file is not UTF-8 text; save it as CSV UTF-8.")
    job = _jobs(request).start(
        clinic_id=staff.clinic_id,
        actor=staff.email,
        filename=(file.filename or "upload.csv")[:200],
        text=text,
        dry_run=mode != "import",
    )
    return redirect(f"/import/{job.id}")


@router.get("/import/{job_id}")
def import_job_page(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, job_id: JobId
) -> Response:
    job = _job(request, staff, job_id)
    _audit_result(session, runtime, staff, job, "import.view")
    return _page(request, job=job)


@router.get("/import/{job_id}/progress")
def import_job_progress(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, job_id: JobId
) -> Response:
    """The job's section alone, for the page's HTMX poll; once finished it carries no
    poll of its own, so the polling stops."""
    job = _job(request, staff, job_id)
    _audit_result(session, runtime, staff, job, "import.view")
    context = {"job": job, "shown_problems": SHOWN_PROBLEMS}
    return render(request, "partials/import_job.html", context)


@router.get("/import/{job_id}/problems.csv")
def import_job_problems(
    request: Request, session: DbSession, staff: CurrentStaff, runtime: RuntimeDep, job_id: JobId
) -> Response:
    """Every refused row and every warning, to fix in the spreadsheet and upload again."""
    job = _job(request, staff, job_id)
    if job.report is None:
        raise NotFound
    _audit_result(session, runtime, staff, job, "import.export")
    rows = [
        (p.line, p.name, outcome, p.field, p.reason)
        for outcome, problems in (
            ("refused", job.report.problems),
            ("warning", job.report.warnings),
        )
        for p in problems
    ]
    rows.sort(key=lambda row: row[0])
    stem = job.filename.rsplit(".", 1)[0] or "upload"
    name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in stem)
    name = name[:80]
    return Response(
        csv_text(PROBLEMS_HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-problems.csv"'},
    )
