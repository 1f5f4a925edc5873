"""CI sets FOLLOWUP_REQUIRE_BROWSER=1: then a missing Chromium fails the run instead of
quietly skipping the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run_browser_tests(require: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FOLLOWUP_TEST_CHROMIUM": "/nonexistent/chromium",
        "FOLLOWUP_REQUIRE_BROWSER": require,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/browser/test_dashboard_browser.py::test_nurse_shift_from_sign_in_to_resolved",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_missing_chromium_fails_when_required() -> None:
    result = _run_browser_tests("1")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "FOLLOWUP_REQUIRE_BROWSER=1 but" in result.stdout


@pytest.mark.slow
def test_missing_chromium_skips_otherwise() -> None:
    result = _run_browser_tests("")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout
