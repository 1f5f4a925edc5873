"""The reports page in Chromium: charts drawn, tables beside them, CSV link; screenshot in
test-artifacts/screenshots/30-reports.png."""

from __future__ import annotations

import random
from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from followup.models import Clinic
from tests.browser.conftest import STAFF_EMAIL, LiveServer
from tests.factories import STAFF_PASSWORD
from tests.reporting.seed import SINCE, UNTIL, seed_history

DESKTOP = {"width": 1280, "height": 900}


def test_reports_page_shows_charts_and_numbers(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    with live_server.runtime.sessions.begin() as session:
        clinic = session.scalars(select(Clinic)).one()
        seed_history(session, clinic, random.Random(6))
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.goto(f"{live_server.url}/reports?since={SINCE.date()}&until={UNTIL.date()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reports")
    expect(page.get_by_role("img", name="Messages per day")).to_be_visible()
    expect(page.get_by_role("img", name="Reply rate per step")).to_be_visible()
    assert page.locator("svg.chart rect").count() > 50
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    page.screenshot(path=screenshots / "30-reports.png", full_page=True)
    context.close()
