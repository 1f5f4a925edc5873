"""The conversation in a real browser: a patient who received day 1, replied WORSE, got the
automatic answer and a nurse's text, all in order with the exact words sent; reopening a
resolved escalation; a second nurse seeing an acknowledgement without reloading; the page
title's count and the optional sound for a new urgent escalation. Every wait is on the
page (Playwright's expect), never a sleep."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from followup.core.clock import SystemClock
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.escalations.lifecycle import acknowledge, open_escalation, resolve
from followup.models import (
    Clinic,
    Escalation,
    EscalationPriority,
    InboundMessage,
    Patient,
    Role,
    StaffUser,
)
from followup.testing.twilio_double import TwilioDouble
from tests.browser.conftest import CLINIC_NUMBER, STAFF_EMAIL, TWILIO_TOKEN, LiveServer
from tests.delivery.support import make_dispatcher
from tests.factories import STAFF_PASSWORD, TEMPLATES_DIR, make_enrollment, make_staff

pytestmark = pytest.mark.browser

SECOND_EMAIL = "grace@bowriver.example"
LIVE_WAIT = 8_000  # ms: the detail page polls every 2 s, the badge every 3 s
_sids = iter(range(1, 10**6))


@pytest.fixture(scope="module")
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble.start() as running:
        yield running


@pytest.fixture(scope="module")
def second_nurse(live_server: LiveServer) -> str:
    with live_server.runtime.sessions.begin() as session:
        clinic = session.scalars(select(Clinic)).one()
        make_staff(session, clinic, email=SECOND_EMAIL, role=Role.STAFF).name = "Nurse Grace"
    return SECOND_EMAIL


def _sign_in(context: BrowserContext, server: LiveServer, email: str) -> Page:
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    return page


def _text_the_clinic(server: LiveServer, phone: str, body: str) -> str:
    """POST the webhook as Twilio does; return the automatic answer the TwiML carries."""
    url = f"{server.url}/webhooks/twilio/sms"
    sid = f"SM{next(_sids):032d}"
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone,
              "To": CLINIC_NUMBER, "Body": body, "NumMedia": "0"}  # fmt: skip
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert response.status_code == 200, response.text
    found = re.search(r"<Message>(.*)</Message>", response.text, re.DOTALL)
    return html.unescape(found.group(1)) if found else ""


def _enrolled(server: LiveServer, first_name: str, phone: str) -> int:
    """A patient treated yesterday whose day-1 message is due now."""
    now = datetime.now(UTC)
    with server.runtime.sessions.begin() as session:
        clinic = session.scalars(select(Clinic)).one()
        result = make_enrollment(session, clinic, now=now, first_name=first_name, phone=phone,
                                 treated_at=now - timedelta(days=1))  # fmt: skip
        day1 = result.messages[0]
        day1.send_at = day1.next_attempt_at = now - timedelta(minutes=1)
        return result.patient.id


def _escalation_of(server: LiveServer, patient_id: int) -> int:
    with server.runtime.sessions() as session:
        escalation_id = session.scalar(
            select(Escalation.id).where(Escalation.patient_id == patient_id)
        )
    assert escalation_id is not None
    return escalation_id


def _send_due(server: LiveServer, double: TwilioDouble) -> None:
    """The worker's round: due messages go to the Twilio double through the real SDK."""
    twilio = TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=5
    )
    dispatcher = make_dispatcher(server.runtime.sessions, SystemClock(), TEMPLATES_DIR, sms=twilio)
    try:
        dispatcher.dispatch_due()
    finally:
        dispatcher.close()


def test_conversation_in_order_with_the_exact_words(
    live_server: LiveServer, browser: Browser, double: TwilioDouble, screenshots: Path
) -> None:
    phone = "+14035550161"
    patient_id = _enrolled(live_server, "Iris", phone)
    _send_due(live_server, double)
    [day1] = [m for m in double.accepted if m.to == phone]
    answer = _text_the_clinic(live_server, phone, "WORSE")
    assert "Our team will contact you" in answer
    escalation_id = _escalation_of(live_server, patient_id)
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = _sign_in(context, live_server, STAFF_EMAIL)

    page.goto(f"{live_server.url}/escalations/{escalation_id}")
    page.get_by_label("Reply to Iris by SMS").fill("Iris, please send us a photo of your chin.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply queued")
    _send_due(live_server, double)
    # Opened afresh (after an action the page comes back focused on the control used).
    page.goto(f"{live_server.url}/escalations/{escalation_id}")

    bubbles = page.get_by_test_id("conversation").locator("li.bubble")
    expected = [
        ("plan", "Day 1 message", day1.body),
        ("reply", "Reply", "WORSE"),
        ("automatic", "Automatic answer", answer),
        ("staff_text", "Nurse Ada", "Iris, please send us a photo of your chin."),
    ]
    expect(bubbles).to_have_count(len(expected))
    for index, (kind, who, words) in enumerate(expected):
        bubble = bubbles.nth(index)
        expect(bubble).to_have_attribute("data-kind", kind)
        expect(bubble.locator(".bubble-who")).to_have_text(who)
        assert bubble.locator(".bubble-text").text_content() == words
    expect(bubbles.nth(0).get_by_test_id("bubble-status")).to_have_text("sent")
    expect(bubbles.nth(3).get_by_test_id("bubble-status")).to_have_text("sent")
    expect(bubbles.nth(0)).to_have_class(re.compile(r"\bbubble-clinic\b"))
    expect(bubbles.nth(1)).to_have_class(re.compile(r"\bbubble-patient\b"))
    opened = bubbles.nth(1)  # the reply that opened the escalation: marked, scrolled to
    expect(opened).to_have_class(re.compile(r"\bbubble-opened\b"))
    expect(opened).to_be_in_viewport()
    expect(page.get_by_test_id("treatment-context")).to_contain_text("Microneedling")
    expect(page.get_by_test_id("treatment-context")).to_contain_text("day 1 after the treatment")
    page.screenshot(path=screenshots / "40-conversation-escalation.png", full_page=True)

    page.goto(f"{live_server.url}/patients/{patient_id}")
    texts = page.get_by_test_id("conversation").locator(".bubble-text")
    expect(texts).to_have_count(len(expected))
    assert texts.all_text_contents() == [words for _, _, words in expected]
    page.screenshot(path=screenshots / "41-conversation-patient.png", full_page=True)
    # Below 1100 px the search box is in the top bar's menu.
    if not page.locator("#nav-search-q").is_visible():
        page.locator("details.menu > summary").click()
    search = page.get_by_role("search").get_by_label("Find a patient").locator("visible=true")
    search.fill("403 555 0161")
    search.press("Enter")
    expect(page.get_by_test_id("search-results")).to_contain_text("Iris")
    page.screenshot(path=screenshots / "42-search.png", full_page=True)
    context.close()


def test_a_resolved_escalation_is_reopened_into_the_queue(
    live_server: LiveServer, browser: Browser
) -> None:
    with live_server.runtime.sessions.begin() as session:
        clinic = session.scalars(select(Clinic)).one()
        nurse = session.scalars(select(StaffUser).where(StaffUser.email == STAFF_EMAIL)).one()
        now = datetime.now(UTC)
        result = make_enrollment(session, clinic, now=now, first_name="Jonah",
                                 phone="+14035550162")  # fmt: skip
        escalation = open_escalation(
            session, clinic=clinic, patient=result.patient, treatment=result.treatment,
            inbound=None, priority=EscalationPriority.NORMAL, reason="check-in: worse",
            now=now - timedelta(hours=3),
        )  # fmt: skip
        acknowledge(session, escalation, nurse, now - timedelta(hours=2, minutes=50))
        resolve(session, escalation, nurse, "Normal healing.", now - timedelta(hours=1))
        escalation_id = escalation.id
    context = browser.new_context()
    page = _sign_in(context, live_server, STAFF_EMAIL)
    page.goto(f"{live_server.url}/escalations?status=resolved")
    row = page.locator(f'tr[data-escalation="{escalation_id}"]')
    expect(row).to_contain_text("acknowledged in 10 minutes")
    expect(row).to_contain_text("resolved in 2 hours")
    expect(row).not_to_contain_text("overdue")

    row.get_by_role("link", name="Jonah").click()
    page.get_by_label("Reopen: why (optional)").fill("She texted again about swelling")
    page.get_by_role("button", name="Reopen").click()

    expect(page.get_by_role("status")).to_contain_text("back in the queue")
    expect(page.get_by_test_id("escalation-status")).to_have_text("acknowledged")
    expect(page.get_by_test_id("conversation")).to_contain_text(
        "Reopened: She texted again about swelling. Earlier outcome: Normal healing."
    )
    page.goto(f"{live_server.url}/escalations")
    expect(page.locator(f'#queue tr[data-escalation="{escalation_id}"]')).to_be_visible()
    context.close()


def test_a_second_nurse_sees_the_acknowledgement_without_reloading(
    live_server: LiveServer, browser: Browser, second_nurse: str
) -> None:
    phone = "+14035550163"
    patient_id = _enrolled(live_server, "Kai", phone)
    _text_the_clinic(live_server, phone, "I have a fever and it's spreading")
    escalation_id = _escalation_of(live_server, patient_id)
    url = f"{live_server.url}/escalations/{escalation_id}"
    first = browser.new_context()
    second = browser.new_context()
    ada = _sign_in(first, live_server, STAFF_EMAIL)
    grace = _sign_in(second, live_server, second_nurse)
    grace.goto(url)
    ada.goto(url)
    expect(grace.get_by_role("button", name="Acknowledge")).to_be_visible()
    expect(grace).to_have_title(re.compile(r"^\(\d+\) Escalation #\d+ — followup$"))
    grace.evaluate("window.__sameDocument = true")  # gone if the page reloads

    ada.get_by_role("button", name="Acknowledge").click()
    expect(ada.get_by_role("status")).to_contain_text("Acknowledged.")

    acknowledged = grace.get_by_test_id("acknowledged-by")
    expect(acknowledged).to_contain_text("by Nurse Ada", timeout=LIVE_WAIT)
    expect(grace.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(grace.get_by_test_id("escalation-status")).to_have_text("acknowledged")
    assert grace.evaluate("window.__sameDocument") is True
    with live_server.runtime.sessions() as session:
        still_open = session.scalars(
            select(Escalation).where(Escalation.status == "open", Escalation.priority == "urgent")
        ).all()
    # The title's count follows the badge's next poll: one fewer open urgent escalation.
    count = len(still_open)
    title = rf"^\({count}\) Escalation #" if count else r"^Escalation #"
    expect(grace).to_have_title(re.compile(title), timeout=LIVE_WAIT)
    first.close()
    second.close()


def test_the_sound_is_off_until_turned_on_and_then_marks_a_new_urgent_one(
    live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context()
    page = _sign_in(context, live_server, STAFF_EMAIL)
    page.goto(f"{live_server.url}/escalations")
    toggle = page.get_by_role("button", name=re.compile("Sound for new urgent"))
    expect(toggle).to_have_attribute("aria-pressed", "false")

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("localStorage.getItem('followup.urgentSound')") == "on"
    page.reload()  # remembered
    expect(toggle).to_have_attribute("aria-pressed", "true")
    root = page.locator("html")
    chimes_before = root.get_attribute("data-urgent-chimes")

    phone = "+14035550164"
    _enrolled(live_server, "Lena", phone)
    _text_the_clinic(live_server, phone, "my lips are swelling and I can't breathe well")

    expect(root).to_have_attribute("data-urgent-chimes", "1", timeout=LIVE_WAIT)
    assert chimes_before is None  # the reload started a new page: nothing chimed before
    with live_server.runtime.sessions() as session:
        urgent = session.scalar(
            select(InboundMessage.urgent).join(Patient).where(Patient.phone == phone)
        )
    assert urgent is True
    context.close()
