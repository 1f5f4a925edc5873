"""Settings: one object, built once at start-up from FOLLOWUP_* variables (and an optional .env).

A wrong value stops start-up with one line that names the variable (`ConfigError`).
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "FOLLOWUP_"
REPO_ROOT = Path(__file__).resolve().parents[3]


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming the variable."""


class SmsTransportName(StrEnum):
    CONSOLE = "console"
    TWILIO = "twilio"


class EmailTransportName(StrEnum):
    CONSOLE = "console"
    SMTP = "smtp"


def _default_templates_dir() -> Path:
    packaged = REPO_ROOT / "templates" / "messages"
    return packaged if packaged.is_dir() else Path.cwd() / "templates" / "messages"


class Settings(BaseSettings):
    """Every knob of the service. The README's configuration table lists the same fields."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(Path("var"), description="Local state: SQLite file, outbox, secret.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in data_dir.")
    secret_key: SecretStr | None = Field(
        None, description="Signs sessions and patient links; generated into data_dir if unset."
    )
    public_url: str = Field(
        "",
        description="Public base URL (Twilio signatures, links); empty: http://{host}:{port}.",
    )
    host: str = Field("127.0.0.1", description="Web server bind address.")
    port: int = Field(8000, ge=1, le=65535, description="Web server port.")
    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Addresses whose X-Forwarded-For is believed (comma-separated, or *).",
    )
    templates_dir: Path = Field(default_factory=_default_templates_dir)
    lexicon_path: Path | None = Field(None, description="Extra reply lexicon (TOML).")
    log_level: str = Field("INFO")

    session_idle_minutes: int = Field(
        30, ge=1, le=12 * 60, description="A dashboard session ends after this long unused."
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request body for dashboard forms and the rest."
    )
    max_body_webhook_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request body for Twilio's webhooks."
    )
    max_body_api_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body for the JSON API."
    )
    max_body_import_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest request body for a CSV upload."
    )

    api_rate_limit_per_minute: float = Field(
        120.0, gt=0, description="API requests a minute per token (per web process)."
    )
    api_rate_limit_burst: int = Field(30, ge=1, description="API requests a token may burst.")
    # Twilio gives up on a webhook after 15 s and never retries an incoming message: a
    # reply the database cannot take within this budget (less a second kept for the
    # spool) goes to the spool and is answered from there.
    reply_budget_seconds: float = Field(
        3.0, ge=1.5, le=10, description="Time the SMS webhook takes at most to answer a reply."
    )

    sms_transport: SmsTransportName = SmsTransportName.CONSOLE
    email_transport: EmailTransportName = EmailTransportName.CONSOLE
    outbox_file: Path | None = Field(None, description="Console outbox; default data_dir.")
    email_from: str = Field("followup@clinic.invalid", description="Sender address of emails.")

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = Field(None, description="Point the SDK elsewhere (tests).")
    webhook_signature_check: bool = True

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False

    dispatch_interval_seconds: float = Field(5.0, gt=0)
    dispatch_batch_size: int = Field(200, ge=1)
    send_concurrency: int = Field(8, ge=1, le=256)
    max_attempts: int = Field(6, ge=1)
    lease_seconds: int = Field(120, ge=5)
    rate_limit_per_second: float | None = Field(None, gt=0)
    retry_base_seconds: float = Field(30.0, gt=0, description="First retry delay (doubles).")
    retry_max_seconds: float = Field(3600.0, gt=0, description="Longest retry delay.")
    heartbeat_seconds: float = Field(
        10.0, gt=0, le=300, description="How often a worker records that it is alive."
    )

    retention_days: int | None = Field(
        None, ge=1, description="Default retention for clinics without their own; none: skip."
    )

    metrics_token: SecretStr | None = Field(
        None, description="Bearer token for the web app's /metrics; unset: /metrics is 404."
    )
    worker_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="Port of the worker's own /metrics; unset: off."
    )
    worker_metrics_host: str = Field("127.0.0.1", description="Address it listens on.")
    # prometheus-client's own variable (it reads it too): counters and histograms of every
    # process of a service go to files there, and /metrics adds them up.
    prometheus_multiproc_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
    )

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _existing_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise _named("prometheus_multiproc_dir", f"{value} is not a directory")
        return value

    @field_validator("public_url")
    @classmethod
    def _valid_public_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        # Unset, the public URL is where the app listens: a webhook signed for the URL it
        # was posted to verifies, and links in alerts and emails point at this server.
        if not self.public_url:
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.public_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _transport_requirements(self) -> Settings:
        if self.sms_transport is SmsTransportName.TWILIO:
            if not self.twilio_account_sid:
                raise _named("twilio_account_sid", "required when FOLLOWUP_SMS_TRANSPORT=twilio")
            if self.twilio_auth_token is None:
                raise _named("twilio_auth_token", "required when FOLLOWUP_SMS_TRANSPORT=twilio")
        if self.sms_transport is not SmsTransportName.CONSOLE and not self.webhook_signature_check:
            raise _named(
                "webhook_signature_check", "may be turned off only with the console transport"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'followup.db'}"

    @property
    def effective_outbox_file(self) -> Path:
        return self.outbox_file or self.data_dir / "outbox.jsonl"

    def signing_key(self) -> str:
        """The secret for sessions and signed links; generated once into data_dir for dev."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _local_secret(self.data_dir / "secret_key")

    @property
    def dev_webhook_token_path(self) -> Path:
        return self.data_dir / DEV_WEBHOOK_TOKEN_FILE

    def webhook_auth_token(self) -> str | None:
        """What Twilio webhooks are signed with: the account's auth token. With the console
        transport and no token (development: no real Twilio posts here), a token generated
        once into data_dir, which `followup replies simulate` signs with, so a local reply
        goes through the same signature check as a real one. None: nothing can be verified
        (the webhooks answer 403)."""
        if self.twilio_auth_token is not None:
            return self.twilio_auth_token.get_secret_value()
        if self.sms_transport is not SmsTransportName.CONSOLE:
            return None
        return _local_secret(self.dev_webhook_token_path)


DEV_WEBHOOK_TOKEN_FILE = "twilio_dev_auth_token"  # noqa: S105 (a file name, not a secret)


def _local_secret(path: Path) -> str:
    """A secret kept in a file only its owner reads, created on first use. Two processes
    starting together (the web app, the CLI) end up with the same one: O_EXCL lets only
    one create it; the other reads it."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    return secret


class _NamedError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _named(field: str, message: str) -> _NamedError:
    return _NamedError(field, message)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment; raise ConfigError with one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_first_error_line(exc)) from None


def _first_error_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "invalid value"))
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, _NamedError):
        location, message = [cause.field], str(cause)
    message = message.removeprefix("Value error, ")
    name = location[0].lower() if location else "settings"
    variable = _UNPREFIXED.get(name, ENV_PREFIX + name.upper())
    return f"{variable}: {message}"


# Variables another library defines, read without the FOLLOWUP_ prefix.
_UNPREFIXED = {"prometheus_multiproc_dir": "PROMETHEUS_MULTIPROC_DIR"}
