"""Logs never carry a whole phone number, whoever logs it."""

from __future__ import annotations

import logging

import pytest

from followup.core.logs import RedactPhones, redact


def test_redact_masks_plain_and_url_encoded_numbers() -> None:
    line = "POST /Messages.json To=%2B14035550101 from +14035550199 ok"
    assert redact(line) == "POST /Messages.json To=+1********01 from +1********99 ok"


def test_filter_masks_a_library_log_record(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("some.library")
    logger.addFilter(RedactPhones())
    try:
        with caplog.at_level(logging.INFO, logger="some.library"):
            logger.info("sending to %s", "+14035550101")
    finally:
        logger.filters.clear()
    assert "+14035550101" not in caplog.text
    assert "+1********01" in caplog.text
