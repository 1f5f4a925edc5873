"""The strict Content-Security-Policy in a real browser: every page of the demo clinic loads
with no violation reported (no inline script, style or handler left anywhere, htmx injects
no style), and what relies on scripts still works under it: the queue and the badge poll
by themselves, and forms post."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select

from followup.core.links import LinkSigner
from followup.demo import DEMO_EMAIL, DEMO_PASSWORD
from followup.models import Clinic, Escalation, EscalationPriority, Patient, Treatment
from tests.browser.conftest import LiveServer
from tests.web_fixtures import make_escalation

pytestmark = pytest.mark.browser

# Reported by the page itself, whatever Chromium prints (init scripts are exempt from CSP).
LISTEN_FOR_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


class CspWatch:
    """Everything the browser refused on the page: console errors and violation events."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Refused to" in message.text or "Content Security Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None
        assert response.status < 500, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        self.page.wait_for_load_state("load")
        self.assert_clean(url)

    def assert_clean(self, where: str) -> None:
        reported = self.page.evaluate("window.__violations")
        assert (self.console, reported) == ([], []), where


def demo_paths(server: LiveServer) -> list[str]:
    """Every page of the dashboard, with rows of the demo clinic where a page needs one, and
    the pages patients reach from their emails."""
    runtime = server.runtime
    with runtime.sessions() as session:
        escalation = session.scalars(select(Escalation).order_by(Escalation.id)).first()
        patient = session.scalars(select(Patient).order_by(Patient.id)).first()
        assert escalation is not None
        assert patient is not None
        treatment = session.scalars(
            select(Treatment).where(Treatment.patient_id == patient.id)
        ).first()
        assert treatment is not None
    signer = LinkSigner(runtime.settings.signing_key(), server.url)
    now = runtime.clock.now()
    return [
        "/today",
        "/escalations",
        "/escalations?status=resolved",
        f"/escalations/{escalation.id}",
        "/patients",
        f"/patients/{patient.id}",
        "/inbox/unknown",
        "/enroll",
        "/import",
        "/reports",
        "/templates",
        "/settings",
        "/settings/api-tokens",
        "/audit",
        "/account",
        "/api/v1/docs",
        signer.checkin_url(patient.id, treatment.id, "better", now).removeprefix(server.url),
        signer.unsubscribe_url(patient.id, now).removeprefix(server.url),
        "/r/not-a-signed-link",
    ]


def sign_in(page: Page, server: LiveServer, watch: CspWatch) -> None:
    watch.visit(f"{server.url}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    watch.assert_clean("after signing in")


def test_every_demo_page_loads_without_a_csp_violation(
    demo_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    watch = CspWatch(page)
    sign_in(page, demo_server, watch)
    for path in demo_paths(demo_server):
        watch.visit(demo_server.url + path)
    context.close()


def test_polling_and_forms_work_under_the_policy(demo_server: LiveServer, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    watch = CspWatch(page)
    sign_in(page, demo_server, watch)
    watch.visit(f"{demo_server.url}/escalations")
    queue = page.locator("#queue")
    expect(queue).to_contain_text("Ava Singh")
    expect(queue).not_to_contain_text("Noah Wilson")
    badge = page.get_by_test_id("open-badge")
    before = badge.inner_text()

    runtime = demo_server.runtime
    with runtime.sessions.begin() as session:
        clinic = session.scalars(select(Clinic)).one()
        noah = session.scalars(select(Patient).where(Patient.first_name == "Noah")).one()
        make_escalation(
            session, clinic, noah, runtime.clock.now(), EscalationPriority.NORMAL, "worse today"
        )
    expect(queue).to_contain_text("Noah Wilson", timeout=6_000)  # the queue polls every 2 s
    expect(badge).not_to_have_text(before, timeout=6_000)  # the badge every 3 s

    page.locator("#queue").get_by_role("link", name="Noah Wilson").click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("escalation-status")).to_have_text("acknowledged")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    watch.assert_clean("after polling and posting forms")
    context.close()
