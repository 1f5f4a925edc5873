"""Phone numbers and settings: bad values give one clear line."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize(
    ("env", "public_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"FOLLOWUP_PORT": "8741"}, "http://127.0.0.1:8741"),
        ({"FOLLOWUP_HOST": "0.0.0.0", "FOLLOWUP_PORT": "9000"}, "http://0.0.0.0:9000"),
        ({"FOLLOWUP_HOST": "::1"}, "http://[::1]:8000"),
        (
            {"FOLLOWUP_PORT": "8741", "FOLLOWUP_PUBLIC_URL": "https://c.example/"},
            "https://c.example",
        ),
    ],
)
def test_public_url_defaults_to_where_the_app_listens(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], public_url: str
) -> None:
    for key in ("FOLLOWUP_HOST", "FOLLOWUP_PORT", "FOLLOWUP_PUBLIC_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().public_url == public_url


def test_a_port_given_on_the_command_line_moves_the_default_public_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FOLLOWUP_PUBLIC_URL", raising=False)
    monkeypatch.setenv("FOLLOWUP_PORT", "8000")
    assert load_settings(port=8741).public_url == "http://127.0.0.1:8741"  # followup web --port


def test_console_transport_without_a_token_checks_webhooks_with_a_local_dev_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FOLLOWUP_TWILIO_AUTH_TOKEN", raising=False)
    settings = load_settings(data_dir=tmp_path / "var")
    token = settings.webhook_auth_token()
    assert token is not None
    assert len(token) >= 32
    assert load_settings(data_dir=tmp_path / "var").webhook_auth_token() == token  # kept
    assert settings.dev_webhook_token_path.stat().st_mode & 0o777 == 0o600
    configured = load_settings(data_dir=tmp_path / "var", twilio_auth_token="from-twilio")
    assert configured.webhook_auth_token() == "from-twilio"
