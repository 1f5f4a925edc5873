"""Build the configured transports from Settings (the only place that knows the names)."""

from __future__ import annotations

from followup.core.config import EmailTransportName, Settings, SmsTransportName
from followup.delivery.transports.base import EmailTransport, SmsTransport
from followup.delivery.transports.console import ConsoleTransport
from followup.delivery.transports.smtp_email import SmtpEmailTransport
from followup.delivery.transports.twilio_sms import TwilioSmsTransport

# A send must finish well inside the claim's lease: crash recovery asks the provider
# whether a message went out only after the lease, when no request can still be in flight.
MAX_PROVIDER_TIMEOUT = 10.0


def provider_timeout(settings: Settings) -> float:
    return min(MAX_PROVIDER_TIMEOUT, settings.lease_seconds / 3)


def build_transports(settings: Settings) -> tuple[SmsTransport, EmailTransport]:
    """The SMS and email transports FOLLOWUP_SMS_TRANSPORT / FOLLOWUP_EMAIL_TRANSPORT name."""
    console: ConsoleTransport | None = None

    def get_console() -> ConsoleTransport:
        nonlocal console
        console = console or ConsoleTransport(settings.effective_outbox_file)
        return console

    sms: SmsTransport
    if settings.sms_transport is SmsTransportName.TWILIO:
        # Settings refuses FOLLOWUP_SMS_TRANSPORT=twilio without these two.
        assert settings.twilio_account_sid is not None
        assert settings.twilio_auth_token is not None
        sms = TwilioSmsTransport(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            api_base_url=settings.twilio_api_base_url,
            timeout=provider_timeout(settings),
        )
    else:
        sms = get_console()
    email: EmailTransport
    if settings.email_transport is EmailTransportName.SMTP:
        email = SmtpEmailTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
            timeout=provider_timeout(settings),
        )
    else:
        email = get_console()
    return sms, email
