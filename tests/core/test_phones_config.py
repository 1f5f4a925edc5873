"""Phone numbers and settings: bad values give one clear line."""

from __future__ import annotations

import pytest

from followup.core.config import ConfigError, load_settings
from followup.core.phones import InvalidPhone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(403) 555-0134", "CA", "+14035550134"),
        ("+33 6 12 34 56 78", "CA", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_normalize_phone(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "555", "+1 800 555 0199", "+33 1 42 68 53 00"])
def test_invalid_or_non_mobile_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, "CA")


def test_mask_phone_keeps_country_code_and_last_two_digits() -> None:
    assert mask_phone("+14035550134") == "+1********34"
    assert mask_phone(None) == "-"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"FOLLOWUP_DATABASE_URL": "mysql://root@localhost/x"}, "FOLLOWUP_DATABASE_URL"),
        ({"FOLLOWUP_DATABASE_URL": "::not a url::"}, "FOLLOWUP_DATABASE_URL"),
        ({"FOLLOWUP_SMS_TRANSPORT": "pigeon"}, "FOLLOWUP_SMS_TRANSPORT"),
        ({"FOLLOWUP_SMS_TRANSPORT": "twilio"}, "FOLLOWUP_TWILIO_ACCOUNT_SID"),
        (
            {"FOLLOWUP_SMS_TRANSPORT": "twilio", "FOLLOWUP_TWILIO_ACCOUNT_SID": "AC1"},
            "FOLLOWUP_TWILIO_AUTH_TOKEN",
        ),
        ({"FOLLOWUP_PORT": "99999"}, "FOLLOWUP_PORT"),
        ({"FOLLOWUP_PUBLIC_URL": "clinic.example"}, "FOLLOWUP_PUBLIC_URL"),
    ],
)
def test_wrong_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_defaults_run_on_sqlite_in_var_with_console_transports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for key in ("FOLLOWUP_DATABASE_URL", "FOLLOWUP_SMS_TRANSPORT", "FOLLOWUP_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    settings = load_settings()
    assert settings.effective_database_url == "sqlite:///var/followup.db"
    assert settings.sms_transport.value == "console"
    assert settings.email_transport.value == "console"
