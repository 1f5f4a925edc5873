"""The /import page: a file is checked and imported in the background, every refused row
is named with its line and field, and no cell a booking system might send is a 500."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.enrollment.csv_import import ImportReport
from followup.models import AuditEvent, Patient, ScheduledMessage, Treatment
from followup.web.import_jobs import ImportJob
from followup.web.pages import TEMPLATES
from tests.enrollment.import_support import (
    BAD_CELLS,
    CELLS_HEADER,
    GOOD_ROW,
    WHEN,
    bad_cells_csv,
)
from tests.factories import STAFF_PASSWORD
from tests.reporting.seed import formula_cells
from tests.web.uploads import upload
from tests.web_fixtures import ClinicRows
from tests.webapp import sign_in


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count(Patient.id))) or 0,
            session.scalar(select(func.count(Treatment.id))) or 0,
            session.scalar(select(func.count(ScheduledMessage.id))) or 0,
        )


def _refused(page: str) -> dict[int, str]:
    """Line -> field of the refused-rows table."""
    return {
        int(line): field
        for line, field in re.findall(r"<tr><td>(\d+)</td><td>([a-z_]+)</td>", page)
    }


def test_check_refuses_each_bad_cell_by_line_and_field(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _counts(session_factory)
    page = upload(staff_client, bad_cells_csv(), mode="check")
    assert page.status_code == 200, page.text
    assert _refused(page.text) == {line: field for line, field, _ in BAD_CELLS}
    assert "<strong>1</strong> can be imported" in page.text
    assert _counts(session_factory) == before


def test_import_writes_the_good_row_and_none_of_the_bad_ones(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    patients, treatments, messages = _counts(session_factory)
    page = upload(staff_client, bad_cells_csv(), mode="import")
    assert page.status_code == 200, page.text
    assert _refused(page.text) == {line: field for line, field, _ in BAD_CELLS}
    assert "<strong>1</strong> imported" in page.text
    assert _counts(session_factory) == (patients + 1, treatments + 1, messages + 3)


def test_a_cell_too_long_to_read_refuses_the_file_with_its_line(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _counts(session_factory)
    huge = "x" * 140_000  # past the CSV reader's 131,072-character limit for one cell
    text = CELLS_HEADER + GOOD_ROW + f"\nGus,Smith,403-555-7008,microneedling,{WHEN},{huge}\n"
    page = upload(staff_client, text, mode="import")
    assert page.status_code == 200
    assert 'data-stage="failed"' in page.text
    assert "The file can&#39;t be imported: line 3:" in page.text
    assert _counts(session_factory) == before


def test_refused_rows_download_as_csv_with_formula_like_cells_as_text(
    staff_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    evil = '=HYPERLINK("http://evil.example","x")'
    text = CELLS_HEADER + f'"{evil.replace(chr(34), chr(34) * 2)}",-2+3,12,microneedling,{WHEN},\n'
    page = upload(staff_client, text, mode="check")
    link = re.search(r'href="(/import/[^"]+/problems\.csv)"', page.text)
    assert link, page.text
    download = staff_client.get(link.group(1))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["line", "name", "outcome", "field", "reason"]
    assert rows[1][:4] == ["2", "'" + evil + " -2+3", "refused", "phone"]
    assert formula_cells(download.text) == []
    with session_factory() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "import.export" in actions


def test_another_clinic_cannot_see_an_import(
    staff_client: TestClient, visitor_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> None:
    page = upload(staff_client, bad_cells_csv(), mode="check")
    job_url = str(page.url.path)
    sign_in(staff_client, two_clinics[1].staff.email, STAFF_PASSWORD)
    assert staff_client.get(job_url).status_code == 404
    assert staff_client.get(job_url + "/problems.csv").status_code == 404


def test_a_running_import_polls_its_progress_and_a_finished_one_stops() -> None:
    running = ImportJob(id="job-1234abcd", clinic_id=1, filename="t.csv", dry_run=False)
    running.stage, running.done, running.total = "importing", 200, 50_000
    html = _partial(running)
    section = re.search(r"<section[^>]*>", html)
    assert section
    assert 'hx-get="/import/job-1234abcd/progress"' in section.group(0)
    assert 'hx-trigger="every 1s"' in section.group(0)
    assert '<progress max="50000" value="200"' in html
    running.report, running.finished_at = ImportReport(rows=3, imported=3, dry_run=False), 1.0
    finished = _partial(running)
    assert "hx-trigger" not in finished
    assert 'data-stage="done"' in finished
    assert "<strong>3</strong> imported" in finished


def test_import_pages_need_no_inline_script_or_style(staff_client: TestClient) -> None:
    page = upload(staff_client, bad_cells_csv(), mode="check")
    for html in (staff_client.get("/import").text, page.text):
        main = html.split("<main", 1)[1]
        assert "<script" not in main
        assert "<style" not in main
        assert not re.search(r"\s(style|on[a-z]+|hx-on[:\w-]*)=", main)


def _partial(job: ImportJob) -> str:
    template = TEMPLATES.env.get_template("partials/import_job.html")
    return template.render(job=job, shown_problems=200)
