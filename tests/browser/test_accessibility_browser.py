"""The dashboard for keyboard and screen-reader users, at desktop and phone width, in
Chromium against the `make run` demo clinic: axe-core finds no violation on any page and no
page scrolls sideways; a focused queue row survives the queue's refreshes and a polite live
region says what changed; after an action focus is back by the control; the top bar stays
one line and its menu works from the keyboard; chart text is at least 12 px on screen.
Screenshots of every page at 1280 and 390 px: test-artifacts/screenshots/page-*.png."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import select

from followup.core.links import LinkSigner
from followup.demo import DEMO_EMAIL, DEMO_PASSWORD
from followup.escalations import lifecycle
from followup.models import Escalation, Patient, StaffUser, Treatment
from tests.browser.a11y import axe_violations, sideways_overflow, with_axe
from tests.browser.conftest import LiveServer
from tests.browser.test_dashboard_browser import send_signed_sms

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAYA_PHONE = "+14035550101"  # a demo patient with no escalation yet
ACTIVE_ID = "document.activeElement && document.activeElement.id"


def _sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()


def _demo_ids(server: LiveServer) -> dict[str, int]:
    with server.runtime.sessions() as session:
        ava = session.scalars(select(Patient).where(Patient.first_name == "Ava")).one()
        liam = session.scalars(select(Patient).where(Patient.first_name == "Liam")).one()
        treatment = session.scalars(select(Treatment).where(Treatment.patient_id == ava.id)).one()

        def escalation(patient: Patient) -> int:
            found: int = session.scalars(
                select(Escalation.id).where(Escalation.patient_id == patient.id)
            ).one()
            return found

        return {
            "ava": ava.id,
            "ava_treatment": treatment.id,
            "ava_escalation": escalation(ava),
            "liam_escalation": escalation(liam),
        }


def _staff_pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    return [
        ("today", "/today"),
        ("escalations", "/escalations"),
        ("escalation", f"/escalations/{ids['ava_escalation']}"),
        ("patients", "/patients"),
        ("patient", f"/patients/{ids['ava']}"),
        ("unknown-numbers", "/inbox/unknown"),
        ("enroll", "/enroll"),
        ("import", "/import"),
        ("reports", "/reports"),
        ("templates", "/templates"),
        ("settings", "/settings"),
        ("api-tokens", "/settings/api-tokens"),
        ("audit", "/audit"),
        ("not-found", "/patients/999999"),
    ]


def _focus_by_tabbing(page: Page, condition: str, limit: int = 60) -> None:
    """Press Tab until `condition` (a JS expression on document.activeElement) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {condition}; }})()"):
            return
    raise AssertionError(f"never reached by Tab: {condition}")


class _Sweep:
    """Visits pages, collecting axe violations and sideways scrolling; screenshots each."""

    def __init__(self, page: Page, shots: Path, width: int) -> None:
        self.page, self.shots, self.width = page, shots, width
        self.problems: list[str] = []

    def check(self, name: str, url: str) -> None:
        self.page.goto(url)
        overflow = sideways_overflow(self.page)
        if overflow is not None:
            self.problems.append(f"{name} at {self.width}px scrolls sideways: {overflow}")
        self.problems.extend(f"{name} at {self.width}px: {v}" for v in axe_violations(self.page))
        self.page.screenshot(path=self.shots / f"page-{name}-{self.width}.png", full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_every_page_passes_axe_and_fits_the_screen(
    demo_server: LiveServer, browser: Browser, screenshots: Path, viewport: dict[str, int]
) -> None:
    ids = _demo_ids(demo_server)
    context: BrowserContext = with_axe(browser.new_context(viewport=viewport))
    page = context.new_page()
    sweep = _Sweep(page, screenshots, viewport["width"])
    sweep.check("sign-in", f"{demo_server.url}/login")
    _sign_in(page, demo_server)
    for name, path in _staff_pages(ids):
        sweep.check(name, demo_server.url + path)
    signer = LinkSigner(demo_server.runtime.settings.signing_key(), demo_server.url)
    now = demo_server.runtime.clock.now()
    answer = signer.checkin_url(ids["ava"], ids["ava_treatment"], "better", now)
    sweep.check("patient-link-answer", answer)
    page.get_by_role("button", name="Confirm").click()
    sweep.check("patient-link-answered", page.url)
    sweep.check("patient-link-unsubscribe", signer.unsubscribe_url(ids["ava"], now))
    sweep.check("patient-link-broken", f"{demo_server.url}/r/not-a-real-link")
    context.close()
    assert sweep.problems == []


def test_a_focused_queue_row_survives_refreshes_and_enter_opens_it(
    demo_server: LiveServer, browser: Browser
) -> None:
    ids = _demo_ids(demo_server)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, demo_server)
    # Liam's row, second in the queue: a new escalation will be inserted above it.
    _focus_by_tabbing(page, "el.closest('#queue') && el.textContent.includes('Liam Tremblay')")
    focused = page.evaluate(ACTIVE_ID)
    assert focused == f"esc-{ids['liam_escalation']}-link"
    rows = page.locator("#queue tr[data-escalation]")
    # Counted, not assumed: other tests of this module share the demo server and may
    # already have resolved a row of the queue.
    before = rows.count()
    refreshes = _refreshes(page)
    assert send_signed_sms(demo_server, "worse", "SM" + "5" * 32, MAYA_PHONE).status_code == 200
    # Two refreshes after the reply was stored: the queue has been rebuilt around the row.
    _refreshed_twice(page, refreshes)
    expect(page.locator("#queue-news")).to_have_text("1 new normal escalation: Maya Chen.")
    expect(rows).to_have_count(before + 1)
    texts = rows.all_text_contents()
    maya = next(i for i, text in enumerate(texts) if "Maya Chen" in text)
    liam = next(i for i, text in enumerate(texts) if "Liam Tremblay" in text)
    assert maya < liam  # inserted above the focused row
    assert page.evaluate(ACTIVE_ID) == focused
    assert page.evaluate("document.activeElement.isConnected") is True
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{demo_server.url}/escalations/{ids['liam_escalation']}")
    context.close()


def _refreshes(page: Page) -> int:
    return int(page.locator(".queue-live").get_attribute("data-refreshes") or 0)


def _refreshed_twice(page: Page, since: int | None = None) -> None:
    """Wait, on the page, until the queue has refreshed twice more since `since` (now)."""
    refreshes = _refreshes(page) if since is None else since
    # A function, not an expression: Playwright would eval an expression, which a page's
    # Content-Security-Policy forbids.
    page.wait_for_function(
        "n => Number(document.querySelector('.queue-live').dataset.refreshes) >= n",
        arg=refreshes + 2,
    )


def test_when_the_focused_row_leaves_the_queue_focus_stays_in_the_queue(
    demo_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, demo_server)
    page.goto(f"{demo_server.url}/escalations")
    _focus_by_tabbing(page, "el.closest('#queue') && el.textContent.includes('Ava Singh')")
    with demo_server.runtime.sessions.begin() as session:  # a colleague resolves it
        ava = session.scalars(select(Patient).where(Patient.first_name == "Ava")).one()
        escalation = session.scalars(select(Escalation).where(Escalation.patient_id == ava.id))
        colleague = session.scalars(select(StaffUser).where(StaffUser.email == DEMO_EMAIL)).one()
        lifecycle.resolve(session, escalation.one(), colleague, "Called her", datetime.now(UTC))
    _refreshed_twice(page)
    expect(page.locator("#queue-news")).to_have_text("No longer in the queue: Ava Singh.")
    expect(page.locator("#queue")).not_to_contain_text("Ava Singh")
    # Focus went to the row that took its place, not back to the top of the page.
    assert page.evaluate("!!document.activeElement.closest('#queue tr[data-escalation]')")
    context.close()


def test_after_an_action_focus_is_by_the_controls_not_at_the_top(
    demo_server: LiveServer, browser: Browser
) -> None:
    ids = _demo_ids(demo_server)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, demo_server)
    page.goto(f"{demo_server.url}/escalations/{ids['liam_escalation']}")  # still open
    page.get_by_role("button", name="Acknowledge").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_have_text("Acknowledged.")
    assert page.evaluate(ACTIVE_ID) == "act"  # the "Handle it" heading
    assert "flash" in (page.locator("#act").get_attribute("aria-describedby") or "")
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ID) == "reply-body"  # one Tab to the next thing to do
    page.keyboard.type("We will call you in a few minutes.")
    page.get_by_role("button", name="Send reply").press("Enter")
    expect(page.locator("#flash")).to_contain_text("Reply queued")
    assert page.evaluate(ACTIVE_ID) == "reply-body"
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_top_bar_is_one_line_and_its_menu_works_from_the_keyboard(
    demo_server: LiveServer, browser: Browser, screenshots: Path, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    _sign_in(page, demo_server)
    middles = page.evaluate(
        "[...document.querySelectorAll('header.top .brand, .top-links > li, .signout')]"
        ".filter(el => el.offsetParent).map(el => {"
        "  const box = el.getBoundingClientRect(); return box.top + box.height / 2; })"
    )
    assert max(middles) - min(middles) < 4, middles  # every item of the bar on one line
    assert page.locator("header.top").bounding_box()["height"] < 60  # type: ignore[index]
    _focus_by_tabbing(page, "el.tagName === 'SUMMARY'")
    page.keyboard.press("Enter")
    reports = page.get_by_role("link", name="Reports")
    expect(reports).to_be_visible()
    assert sideways_overflow(page) is None  # the open menu stays on screen
    page.screenshot(path=screenshots / f"page-menu-open-{viewport['width']}.png")
    page.keyboard.press("Escape")
    expect(reports).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_chart_text_is_at_least_12px_on_screen(
    demo_server: LiveServer, browser: Browser, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    _sign_in(page, demo_server)
    page.goto(f"{demo_server.url}/reports")
    smallest = page.evaluate(
        """[...document.querySelectorAll('svg.chart')].map(svg => {
             const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
             return Math.min(...[...svg.querySelectorAll('text')]
               .map(t => parseFloat(getComputedStyle(t).fontSize) * scale));
           })"""
    )
    assert len(smallest) == 6
    assert min(smallest) >= 12, smallest
    context.close()


# The policy being introduced for every page: nothing inline, nothing from elsewhere.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`));
"""


def _with_strict_csp(route: Route) -> None:
    """Serve pages as if the app sent STRICT_CSP (it will; a colleague is adding it)."""
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch()
    route.fulfill(
        response=response, headers={**response.headers, "content-security-policy": STRICT_CSP}
    )


def test_pages_and_the_live_queue_work_under_a_strict_content_security_policy(
    demo_server: LiveServer, browser: Browser
) -> None:
    ids = _demo_ids(demo_server)
    context = browser.new_context(viewport=PHONE)
    context.route("**/*", _with_strict_csp)
    context.add_init_script(_RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    violations: list[str] = []

    def recorded(name: str) -> None:
        violations.extend(f"{name}: {v}" for v in page.evaluate("window.__cspViolations"))

    page.goto(f"{demo_server.url}/login")
    recorded("sign-in")
    _sign_in(page, demo_server)
    for name, path in _staff_pages(ids):
        page.goto(demo_server.url + path)
        if name == "today":
            _refreshed_twice(page)  # htmx, idiomorph and app.js all ran
            page.get_by_text("Menu").click()
            expect(page.get_by_role("link", name="Reports")).to_be_visible()
        recorded(name)
    signer = LinkSigner(demo_server.runtime.settings.signing_key(), demo_server.url)
    page.goto(signer.unsubscribe_url(ids["ava"], demo_server.runtime.clock.now()))
    recorded("patient-link-unsubscribe")
    context.close()
    assert violations == []
