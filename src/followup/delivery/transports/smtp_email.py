"""Email through an SMTP server (a relay such as Postmark, SES or the clinic's own).

Each thread keeps its own connection (smtplib objects are not thread-safe) and reuses
it between messages; a connection idle for a while is checked with NOOP first, and a
broken one is dropped so the next message reconnects.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate

from followup.delivery.transports.base import (
    OutgoingEmail,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
)

# Servers commonly drop idle connections after a minute or so; check before reuse.
_IDLE_CHECK_SECONDS = 5.0
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")


class SmtpEmailTransport:
    """Sends multipart/alternative (text + HTML) messages over SMTP."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        timeout: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = timeout
        # Custom context: e.g. tests trusting a self-signed certificate. Default verifies.
        self.tls_context = tls_context or ssl.create_default_context()
        self._local = threading.local()

    def send_email(self, message: OutgoingEmail) -> SendResult:
        email = build_message(message)
        connection = self._connection()
        try:
            connection.send_message(email, from_addr=message.from_address, to_addrs=[message.to])
        except (smtplib.SMTPException, OSError) as exc:
            self._drop_connection()
            raise classify_smtp_error(exc, sending=True) from exc
        self._local.last_used = time.monotonic()
        return SendResult(provider_id=str(email["Message-ID"]), provider_status="accepted")

    def close(self) -> None:
        """Close this thread's connection (other threads' connections close when they end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        self._local.connection = None

    def _connection(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        idle = time.monotonic() - getattr(self._local, "last_used", 0.0)
        if connection is not None and idle > _IDLE_CHECK_SECONDS and not _alive(connection):
            self._drop_connection()
            connection = None
        if connection is None:
            try:
                connection = self._connect()
            except (smtplib.SMTPException, OSError) as exc:
                raise classify_smtp_error(exc, sending=False) from exc
            self._local.connection = connection
        return connection

    def _connect(self) -> smtplib.SMTP:
        connection: smtplib.SMTP
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls_context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if self.starttls and not self.use_ssl:
                connection.starttls(context=self.tls_context)
                connection.ehlo()
            if self.username is not None:
                connection.login(self.username, self._password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None


def build_message(message: OutgoingEmail) -> EmailMessage:
    """The MIME message: text part, optional HTML alternative, and our headers."""
    email = EmailMessage()
    email["From"] = message.from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id_for(message.reference, message.from_address)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    if message.unsubscribe_url:
        # RFC 8058 one-click unsubscribe, which large mailbox providers expect.
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


def message_id_for(reference: str, from_address: str) -> str:
    """A Message-ID derived from our reference.

    Deterministic on purpose: a retry of the same message carries the same Message-ID,
    so mail systems that de-duplicate on it show the patient one copy.
    """
    domain = from_address.rpartition("@")[2] or "followup.invalid"
    local = _UNSAFE_ID_CHARS.sub("-", reference) or "message"
    return f"<followup.{local}@{domain}>"


def classify_smtp_error(exc: BaseException, *, sending: bool) -> SendError:
    """SMTP 4xx -> transient, 5xx -> permanent; network trouble -> transient."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our credentials are wrong: a configuration fault, not this message's.
        return TransientSendError(
            "The email server rejected our login; check the SMTP credentials",
            str(exc.smtp_code),
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return _by_reply_code(code, text)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_reply_code(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return TransientSendError(f"The email server does not support what we need: {exc}")
    # Disconnects and timeouts while sending leave it unknown whether the server took it.
    return TransientSendError(f"Could not talk to the email server: {exc}", maybe_sent=sending)


def _by_reply_code(code: int, text: bytes | str) -> SendError:
    readable = text.decode(errors="replace") if isinstance(text, bytes) else text
    reason = f"The email server answered {code}: {readable}"
    if 500 <= code < 600:
        return PermanentSendError(reason, str(code))
    return TransientSendError(reason, str(code))


def _alive(connection: smtplib.SMTP) -> bool:
    try:
        return connection.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False
