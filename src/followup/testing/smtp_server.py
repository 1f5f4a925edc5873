"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

aiosmtpd is a development dependency, so it is imported only when a server starts;
this module itself imports without it.

    with LoopbackSmtpServer.start() as smtp:
        transport = SmtpEmailTransport(smtp.host, smtp.port)
        ...
        smtp.messages[0].message["Subject"]
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReceivedEmail:
    mail_from: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage
    login: str | None


@dataclass
class RecordingHandler:
    """An aiosmtpd handler: keeps each message; refuses chosen recipients with a chosen reply."""

    messages: list[ReceivedEmail] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: threading.Event = field(default_factory=threading.Event)

    def refuse(self, recipient: str, reply: str) -> None:
        """Answer RCPT TO:<recipient> with `reply`, e.g. "550 5.1.1 No such user"."""
        self.refusals[recipient.lower()] = reply

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self.refusals.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        login = session.auth_data.login.decode() if session.auth_data else None
        received = ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed, login)
        with self.lock:
            self.messages.append(received)
        self.received.set()
        return "250 Message accepted"


class LoopbackSmtpServer:
    """aiosmtpd's threaded Controller on 127.0.0.1, on a port the OS picks."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller

        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = 0
        options: dict[str, Any] = {}
        if credentials is not None:
            options["authenticator"] = _Authenticator(*credentials)
            options["auth_required"] = True
            # Without TLS the server would refuse AUTH over plain text.
            options["auth_require_tls"] = tls_context is not None
        if tls_context is not None:
            options["tls_context"] = tls_context
            options["require_starttls"] = True

        outer = self

        class _PortZeroController(Controller):
            # aiosmtpd probes `self.port` once listening; learn the OS-chosen port first.
            def _trigger_server(self) -> None:
                assert isinstance(self.server, asyncio.Server)
                self.port = self.server.sockets[0].getsockname()[1]
                outer.port = self.port
                super()._trigger_server()  # type: ignore[no-untyped-call]

        self._controller = _PortZeroController(self.handler, hostname=self.host, port=0, **options)

    @classmethod
    @contextmanager
    def start(cls, **options: Any) -> Iterator[LoopbackSmtpServer]:
        server = cls(**options)
        server._controller.start()
        try:
            yield server
        finally:
            server._controller.stop()

    @property
    def messages(self) -> list[ReceivedEmail]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, recipient: str, reply: str) -> None:
        self.handler.refuse(recipient, reply)


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self._expected = (username.encode(), password.encode())

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login,
                auth_data.password,
            )
            == self._expected
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext] | None:
    """A server context with a fresh self-signed cert for 127.0.0.1, and a client context
    trusting it; None when the `openssl` command is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        openssl,
        *["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
    ]
    command += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    command += ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    return server_context, client_context
