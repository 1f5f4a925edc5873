"""What the browser tests check on every page: axe-core's accessibility rules and that
nothing makes the page scroll sideways. axe-core is vendored (tests/browser/vendor/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"

# Every rule axe-core runs by default (WCAG 2.0-2.2 A/AA and its best practices); each
# violation as "rule (impact): selectors" so a failure names what to fix.
_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} -- ` +
    v.nodes.slice(0, 5).map(n => n.target.join(" ")).join(", "));
}"""


def with_axe(context: BrowserContext) -> BrowserContext:
    """Make axe-core available in every page the context opens. An init script runs through
    the DevTools protocol, so a page's Content-Security-Policy does not block it."""
    context.add_init_script(path=str(AXE_SCRIPT))
    return context


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now."""
    found: list[str] = page.evaluate(_RUN_AXE)
    return found


def sideways_overflow(page: Page) -> dict[str, Any] | None:
    """None if the page fits its viewport's width; else the widths and the widest element
    sticking out, to say what to fix."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          if (root.scrollWidth <= root.clientWidth) return null;
          const wide = [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
            .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                      (typeof e.className === "string" && e.className
                        ? "." + e.className.split(" ").join(".") : ""));
          return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
                  wide: wide.slice(0, 5)};
        }"""
    )
