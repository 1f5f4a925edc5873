"""The enroll form and the CSV import in Chromium: every bad field marked at once, Confirm
after a change shows the new schedule before enrolling anyone, and an import's progress
and report arrive on the page by themselves. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from followup.models import Patient
from tests.browser.conftest import STAFF_EMAIL, LiveServer
from tests.factories import STAFF_PASSWORD

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}
CLINIC_TZ = ZoneInfo("America/Edmonton")


def _signed_in(browser: Browser, server: LiveServer) -> Page:
    page = browser.new_context(viewport=TABLET).new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    return page


def _patients(server: LiveServer, first_name: str) -> int:
    with server.runtime.sessions() as session:
        query = select(func.count(Patient.id)).where(Patient.first_name == first_name)
        return session.scalar(query) or 0


def _day(treated: datetime, days: int) -> str:
    """How the preview shows a step sent on day `days` at the clinic's 10:00."""
    return f"{treated.date() + timedelta(days=days):%a %b %-d}, 10:00"


def test_four_bad_fields_show_four_errors_each_beside_its_field(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    page = _signed_in(browser, live_server)
    page.goto(f"{live_server.url}/enroll")
    tomorrow = datetime.now(CLINIC_TZ) + timedelta(days=1)
    page.get_by_label("First name").fill("")
    page.get_by_label("Mobile phone").fill("12")
    page.get_by_label("Email").fill("ines-at-example")
    page.get_by_label("Send by").select_option("both")
    page.get_by_label("Treated at").fill(f"{tomorrow:%Y-%m-%dT%H:%M}")
    page.get_by_label("The patient agreed to receive follow-up messages").check()
    page.get_by_role("button", name="Preview schedule").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_contain_text("4 fields need a look")
    for field in ("first_name", "phone", "email", "treated_at"):
        control = page.locator(f"#{field}")
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_attribute("aria-describedby", f"err-{field}")
        expect(control).to_have_class("invalid")
        expect(page.locator(f"#err-{field}")).to_be_visible()
        # Marked by more than colour alone: the border thickens.
        assert control.evaluate("el => getComputedStyle(el).borderTopWidth") == "2px"
    assert page.locator("form .error").count() == 4
    expect(page.locator("#err-treated_at")).to_contain_text("future")
    expect(page.get_by_test_id("schedule-preview")).to_have_count(0)
    page.screenshot(path=screenshots / "40-enroll-four-errors.png", full_page=True)
    page.context.close()


def test_confirm_after_the_date_changed_shows_the_new_schedule_first(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    page = _signed_in(browser, live_server)
    page.goto(f"{live_server.url}/enroll")
    now = datetime.now(CLINIC_TZ).replace(second=0, microsecond=0)
    first, changed = now - timedelta(hours=1), now - timedelta(days=2)
    page.get_by_label("First name").fill("Ines")
    page.get_by_label("Last name").fill("Moreau")
    page.get_by_label("Mobile phone").fill("403 555 0177")
    page.get_by_label("Treated at").fill(f"{first:%Y-%m-%dT%H:%M}")
    page.get_by_label("The patient agreed to receive follow-up messages").check()
    page.get_by_role("button", name="Preview schedule").click()
    preview = page.get_by_test_id("schedule-preview")
    expect(preview).to_contain_text(_day(first, 7))

    page.get_by_label("Treated at").fill(f"{changed:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Confirm enrollment").click()
    expect(page.get_by_test_id("preview-changed")).to_be_visible()
    expect(preview).to_contain_text(_day(changed, 7))
    expect(preview).not_to_contain_text(_day(first, 7))
    assert _patients(live_server, "Ines") == 0
    page.screenshot(path=screenshots / "41-enroll-schedule-changed.png", full_page=True)

    page.get_by_role("button", name="Confirm enrollment").click()
    expect(page.get_by_role("status")).to_contain_text("Ines Moreau is enrolled")
    assert _patients(live_server, "Ines") == 1
    page.context.close()


def test_an_import_shows_its_progress_then_its_report_without_a_reload(
    live_server: LiveServer, browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    path = tmp_path / "treatments.csv"
    path.write_text(_treatments_csv(1500), encoding="utf-8")
    page = _signed_in(browser, live_server)
    page.goto(f"{live_server.url}/import")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Check and import the good rows").click()
    job = page.get_by_test_id("import-job")
    expect(job).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    assert job.get_attribute("data-stage") in ("waiting", "checking", "importing")
    expect(job).to_have_attribute("data-stage", "done", timeout=120_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.get_by_test_id("import-status")).to_contain_text("1499 imported")
    expect(page.get_by_test_id("import-refused")).to_contain_text("phone")
    page.screenshot(path=screenshots / "42-import-report.png", full_page=True)
    page.context.close()


def _treatments_csv(rows: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["first_name", "last_name", "phone", "treatment", "treated_at"])
    yesterday = datetime.now(CLINIC_TZ) - timedelta(days=1)
    for n in range(rows):
        phone = "12" if n == 7 else f"+1780555{n:04d}"
        writer.writerow([f"B{n}", "Browser", phone, "microneedling", f"{yesterday:%Y-%m-%d}"])
    return out.getvalue()
