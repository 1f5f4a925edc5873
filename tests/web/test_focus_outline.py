"""The keyboard focus outline stands out (WCAG 2.2, 1.4.11: at least 3:1) against every
surface a focusable element sits on, computed from the stylesheets themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "followup" / "web" / "static"
# The rules that paint the surfaces a link, button or field can sit on.
STAFF_SURFACES = (
    "body",
    ".card",
    "header.top",
    "table.list",
    "tr.overdue",
    ".flash",
    ".flash-error",
    ".warn",
    ".empty",
    ".tl",
    ".menu-list",
    ".reply-body",
    "pre.body",
)
PATIENT_SURFACES = ("body", ".note")


def _rules(css: str) -> dict[str, str]:
    """Each selector (of a comma-separated list) -> its declarations, later rules added on."""
    rules: dict[str, str] = {}
    plain = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", plain):
        for selector in selectors.split(","):
            key = selector.strip()
            rules[key] = rules.get(key, "") + ";" + body
    return rules


def _value(rules: dict[str, str], selector: str, prop: str) -> str:
    found = re.findall(rf"(?:^|;)\s*{re.escape(prop)}\s*:\s*([^;]+)", rules[selector])
    assert found, f"{selector} sets no {prop}"
    # Custom properties are read from :root (the only place this stylesheet sets them).
    return re.sub(
        r"var\((--[\w-]+)\)", lambda m: _value(rules, ":root", m.group(1)), found[-1].strip()
    )


def _colour(value: str) -> str:
    match = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
    assert match, f"no hex colour in {value!r}"
    hex_digits = match.group(0)[1:]
    return hex_digits if len(hex_digits) == 6 else "".join(c * 2 for c in hex_digits)


def _luminance(hex_digits: str) -> float:
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours given as six hex digits."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_ratio_matches_known_values() -> None:
    assert contrast("000000", "ffffff") == pytest.approx(21.0)
    assert contrast("f0b429", "ffffff") == pytest.approx(1.86, abs=0.01)  # the old outline


@pytest.mark.parametrize("surface", STAFF_SURFACES)
def test_staff_focus_outline_is_at_least_3_to_1_against(surface: str) -> None:
    rules = _rules((STATIC / "app.css").read_text(encoding="utf-8"))
    outline = _colour(_value(rules, ":focus-visible", "outline"))
    background = _colour(_value(rules, surface, "background"))
    assert contrast(outline, background) >= 3.0, (surface, outline, background)


@pytest.mark.parametrize("surface", PATIENT_SURFACES)
def test_patient_page_focus_outline_is_at_least_3_to_1_against(surface: str) -> None:
    rules = _rules((STATIC / "patient.css").read_text(encoding="utf-8"))
    outline = _colour(_value(rules, ":focus-visible", "outline"))
    background = _colour(_value(rules, surface, "background"))
    assert contrast(outline, background) >= 3.0, (surface, outline, background)
