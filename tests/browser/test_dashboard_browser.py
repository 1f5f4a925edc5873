"""A nurse's shift in a real browser: sign in, enroll a patient and see the schedule, a
WORSE text from that patient appears in the open queue by itself, acknowledge, reply,
resolve, and the patient's conversation and timeline show all of it. Screenshots of each
main page go to test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from twilio.request_validator import RequestValidator

from tests.browser.conftest import CLINIC_NUMBER, STAFF_EMAIL, TWILIO_TOKEN, LiveServer
from tests.factories import STAFF_PASSWORD

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}
PATIENT_PHONE = "+14035550142"
# Form fields a screen reader would announce without a name.
UNLABELLED_FIELDS = """
[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)
"""
WORSE_TEXT = "It's getting worse, red and swollen, and I have a fever"


def send_signed_sms(
    server: LiveServer, body: str, sid: str, sender: str = PATIENT_PHONE
) -> httpx.Response:
    """POST the webhook exactly as Twilio does: form fields plus X-Twilio-Signature."""
    url = f"{server.url}/webhooks/twilio/sms"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": CLINIC_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def sign_in_with_keyboard(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/today")
    expect(page).to_have_url(f"{server.url}/login?next=/today")
    page.keyboard.type(STAFF_EMAIL)  # the email field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()


def enroll_patient(page: Page, shots: Path) -> None:
    page.get_by_role("link", name="Enroll", exact=True).click()
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Blake")
    page.get_by_label("Mobile phone").fill("403 555 0142")
    page.get_by_label("Practitioner").fill("Dr. Okafor")
    page.get_by_label("The patient agreed to receive follow-up messages").check()
    page.get_by_role("button", name="Preview schedule").click()
    preview = page.get_by_test_id("schedule-preview")
    expect(preview).to_contain_text("Day 1")
    expect(preview).to_contain_text("Day 7")
    page.screenshot(path=shots / "03-enroll-preview.png", full_page=True)
    page.get_by_role("button", name="Confirm enrollment").click()
    expect(page.get_by_role("status")).to_contain_text("Nora Blake is enrolled")
    expect(page.get_by_test_id("timeline")).to_contain_text("Day 3")


def handle_escalation(page: Page, shots: Path) -> None:
    page.get_by_role("link", name="Nora Blake").first.click()
    expect(page.get_by_role("heading", level=1, name="Nora Blake")).to_be_visible()
    page.screenshot(path=shots / "06-escalation.png", full_page=True)
    acknowledge = page.get_by_role("button", name="Acknowledge")
    acknowledge.focus()
    page.keyboard.press("Enter")  # keyboard operable
    expect(page.get_by_test_id("escalation-status")).to_have_text("acknowledged")
    page.get_by_label("Reply to Nora by SMS").fill("Nora, please call us now at the clinic.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply queued")
    page.get_by_label("Note for colleagues (not sent)").fill("Called back, booked a visit today.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_label("Outcome").fill("Seen in clinic; antibiotics prescribed.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_test_id("escalation-status")).to_have_text("resolved")


def test_nurse_shift_from_sign_in_to_resolved(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.screenshot(path=screenshots / "01-sign-in.png")
    sign_in_with_keyboard(page, live_server)
    page.screenshot(path=screenshots / "02-today-empty.png", full_page=True)
    enroll_patient(page, screenshots)

    page.get_by_role("link", name="Escalations").click()
    expect(page.get_by_text("Nothing waiting")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    assert send_signed_sms(live_server, WORSE_TEXT, "SM" + "1" * 32).status_code == 200
    row = page.locator("#queue").get_by_role("link", name="Nora Blake")
    expect(row).to_be_visible(timeout=5_000)  # the queue polls every 2 s
    expect(page.get_by_test_id("open-badge")).to_be_visible(timeout=5_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#queue")).to_contain_text("urgent")
    page.screenshot(path=screenshots / "05-escalations-live.png", full_page=True)
    page.get_by_role("link", name="Today").click()
    expect(page.locator("#queue")).to_contain_text("Nora Blake")
    page.screenshot(path=screenshots / "04-today.png", full_page=True)

    handle_escalation(page, screenshots)
    page.get_by_role("link", name="Nora Blake").click()
    conversation = page.get_by_test_id("conversation")
    for text in (WORSE_TEXT, "please call us now", "Called back, booked a visit today."):
        expect(conversation).to_contain_text(text)
    timeline = page.get_by_test_id("timeline")
    for text in ("antibiotics prescribed", "resolved", "Day 1"):
        expect(timeline).to_contain_text(text)
    page.screenshot(path=screenshots / "07-patient-timeline.png", full_page=True)
    context.close()


def test_other_pages_render_at_tablet_and_phone_width(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    for name, viewport in (("tablet", TABLET), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in_with_keyboard(page, live_server)
        for path, heading, shot in (
            ("/patients", "Patients", "08-patients"),
            ("/templates", "Message templates", "09-templates"),
            ("/settings", "Settings", "10-settings"),
            ("/audit", "Audit log", "11-audit"),
            ("/escalations?status=resolved", "Escalations", "12-escalations-resolved"),
            ("/enroll", "Enroll a patient", "13-enroll"),
            ("/inbox/unknown", "Unknown numbers", "15-unknown-numbers"),
            ("/today", "Today", "14-today"),
        ):
            page.goto(live_server.url + path)
            expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
            assert page.evaluate(UNLABELLED_FIELDS) == [], path
            # Nothing wider than the screen: no sideways scrolling on a phone.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, (path, name, width)
            if name == "tablet" or shot in ("08-patients", "12-escalations-resolved"):
                page.screenshot(path=screenshots / f"{shot}-{name}.png", full_page=True)
        context.close()
