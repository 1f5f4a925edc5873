"""The `make run` demo clinic in a browser: every main page has something real to show.
Screenshots 20-25 in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from followup.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_demo_clinic_pages(demo_server: LiveServer, browser: Browser, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 1280})
    page = context.new_page()
    page.goto(f"{demo_server.url}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    queue = page.locator("#queue")
    expect(queue).to_contain_text("Ava Singh")
    expect(queue).to_contain_text("Liam Tremblay")
    expect(page.get_by_text("Unreachable destination handset")).to_be_visible()
    expect(page.get_by_test_id("open-badge")).to_have_text("2 open, 1 urgent")
    page.screenshot(path=screenshots / "20-demo-today.png", full_page=True)

    page.get_by_role("link", name="Ava Singh").first.click()
    conversation = page.get_by_test_id("conversation")
    expect(conversation.get_by_text("there's pus near my chin")).to_be_visible()
    expect(conversation).to_contain_text("call 911")  # the automatic answer she was given
    page.screenshot(path=screenshots / "21-demo-urgent-escalation.png", full_page=True)

    page.get_by_role("link", name="Ava Singh").last.click()
    expect(page.get_by_test_id("timeline")).to_contain_text("delivered")
    page.screenshot(path=screenshots / "22-demo-patient-timeline.png", full_page=True)

    page.goto(f"{demo_server.url}/escalations?status=resolved")
    expect(page.locator("#queue")).to_contain_text("Zoe Martin")
    page.screenshot(path=screenshots / "23-demo-resolved.png", full_page=True)

    page.goto(f"{demo_server.url}/patients")
    expect(page.get_by_role("link", name="Noah Wilson")).to_be_visible()
    page.screenshot(path=screenshots / "24-demo-patients.png", full_page=True)

    page.goto(f"{demo_server.url}/audit")
    expect(page.locator("table")).to_contain_text("escalation.resolve")
    page.screenshot(path=screenshots / "25-demo-audit.png", full_page=True)
    context.close()
