"""CSV upload: check the file and list each bad row, or import the good rows. The rules are
followup.enrollment.csv_import's, the same as `followup enroll --csv`."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import Response

from followup.enrollment.csv_import import OPTIONAL, REQUIRED, ImportFileError, import_csv
from followup.web.access import staff_actions, staff_pages
from followup.web.deps import CurrentStaff, DbSession, RuntimeDep, staff_clinic
from followup.web.pages import render

router = staff_pages()
actions = staff_actions()
MAX_BYTES = 5 * 1024 * 1024  # ~50,000 rows; bigger files go through the CLI


def _page(request: Request, status_code: int = 200, **context: object) -> Response:
    values = {"required": REQUIRED, "optional": OPTIONAL, "max_mb": MAX_BYTES // 2**20}
    return render(request, "import.html", values | context, status_code=status_code)


@router.get("/import")
def import_form(request: Request, staff: CurrentStaff) -> Response:
    return _page(request)


@actions.post("/import")
async def import_upload(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "check",
) -> Response:
    raw = await file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return _page(request, 413, error=f"The file is larger than {MAX_BYTES // 2**20} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _page(request, 422, error="The file is not UTF-8 text; save it as CSV UTF-8.")
    clinic = staff_clinic(session, staff)
    try:
        report = import_csv(
            session,
            clinic,
            text,
            templates_dir=runtime.templates_dir,
            now=runtime.clock.now(),
            actor=staff.email,
            dry_run=mode != "import",
        )
    except ImportFileError as exc:
        return _page(request, 422, error=str(exc))
    return _page(request, report=report, filename=file.filename or "upload.csv")
