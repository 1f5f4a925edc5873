"""SmtpEmailTransport against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from followup.delivery.transports import smtp_email
from followup.delivery.transports.base import OutgoingEmail, PermanentSendError, TransientSendError
from followup.delivery.transports.smtp_email import SmtpEmailTransport
from followup.testing.smtp_server import LoopbackSmtpServer, self_signed_tls

CLINIC = "care@clinic.example"
PATIENT = "jane@patient.example"
UNSUBSCRIBE = "https://clinic.example/u/abc123"


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtpServer]:
    with LoopbackSmtpServer.start() as server:
        yield server


def email(to: str = PATIENT, **changes: str | None) -> OutgoingEmail:
    fields: dict[str, str | None] = {
        "to": to,
        "from_address": CLINIC,
        "subject": "Day 1 after your microneedling",
        "text": "Some redness today is normal.",
        "html": "<p>Some redness today is <b>normal</b>.</p>",
        "reference": "sm-17",
        "unsubscribe_url": UNSUBSCRIBE,
        "reply_to": "desk@clinic.example",
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def test_sends_multipart_alternative_with_both_parts(smtp: LoopbackSmtpServer) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)

    result = transport.send_email(email())

    [received] = smtp.messages
    assert received.mail_from == CLINIC
    assert received.recipients == [PATIENT]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None
    assert html_part is not None
    assert text_part.get_content().strip() == "Some redness today is normal."
    assert "<b>normal</b>" in html_part.get_content()
    assert message["Message-ID"] == result.provider_id
    assert "sm-17" in result.provider_id
    assert message["Reply-To"] == "desk@clinic.example"


def test_unsubscribe_headers_are_exact(smtp: LoopbackSmtpServer) -> None:
    SmtpEmailTransport(smtp.host, smtp.port).send_email(email())

    message = smtp.messages[0].message
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_text_only_message_without_unsubscribe(smtp: LoopbackSmtpServer) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)

    transport.send_email(email(html=None, unsubscribe_url=None, reply_to=None))

    message = smtp.messages[0].message
    assert message.get_content_type() == "text/plain"
    assert message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None


def test_a_retry_keeps_the_same_message_id(smtp: LoopbackSmtpServer) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)

    first = transport.send_email(email())
    second = transport.send_email(email())

    assert first.provider_id == second.provider_id


def test_temporary_refusal_is_transient(smtp: LoopbackSmtpServer) -> None:
    smtp.refuse(PATIENT, "451 4.3.0 Mailbox temporarily unavailable")

    with pytest.raises(TransientSendError) as raised:
        SmtpEmailTransport(smtp.host, smtp.port).send_email(email())

    assert raised.value.code == "451"
    assert smtp.messages == []


def test_permanent_refusal_is_permanent(smtp: LoopbackSmtpServer) -> None:
    smtp.refuse(PATIENT, "550 5.1.1 No such user")

    with pytest.raises(PermanentSendError) as raised:
        SmtpEmailTransport(smtp.host, smtp.port).send_email(email())

    assert raised.value.code == "550"
    assert "No such user" in raised.value.reason


def test_connection_survives_a_refusal(smtp: LoopbackSmtpServer) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    smtp.refuse("gone@patient.example", "550 5.1.1 No such user")
    with pytest.raises(PermanentSendError):
        transport.send_email(email(to="gone@patient.example"))

    transport.send_email(email())

    assert [m.recipients for m in smtp.messages] == [[PATIENT]]


def test_server_down_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(TransientSendError) as raised:
        SmtpEmailTransport("127.0.0.1", closed_port, timeout=2).send_email(email())

    assert raised.value.maybe_sent is False


def test_reconnects_after_the_server_restarts() -> None:
    with LoopbackSmtpServer.start() as first:
        transport = SmtpEmailTransport(first.host, first.port)
        transport.send_email(email())
    # The server went away; the cached connection is dead.
    with pytest.raises(TransientSendError):
        transport.send_email(email())

    with LoopbackSmtpServer.start() as second:
        transport.port = second.port
        transport.send_email(email())
        assert len(second.messages) == 1


def test_a_dead_idle_connection_is_replaced_before_sending(
    smtp: LoopbackSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    transport.send_email(email())
    monkeypatch.setattr(smtp_email, "_IDLE_CHECK_SECONDS", -1.0)  # treat it as long idle
    transport._local.connection.sock.close()  # the server or a NAT dropped it meanwhile

    transport.send_email(email())

    assert len(smtp.messages) == 2


def test_threads_send_concurrently_over_their_own_connections(smtp: LoopbackSmtpServer) -> None:
    transport = SmtpEmailTransport(smtp.host, smtp.port)
    errors: list[BaseException] = []

    def send_batch(worker: int) -> None:
        try:
            for number in range(25):
                transport.send_email(email(reference=f"w{worker}-{number}"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=send_batch, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert len({m.message["Message-ID"] for m in smtp.messages}) == 200


def test_starttls_and_login(tmp_path: Path) -> None:
    contexts = self_signed_tls(tmp_path)
    if contexts is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    server_tls, client_tls = contexts
    with LoopbackSmtpServer.start(credentials=("clinic", "s3cret"), tls_context=server_tls) as smtp:
        transport = SmtpEmailTransport(
            smtp.host,
            smtp.port,
            username="clinic",
            password="s3cret",
            starttls=True,
            tls_context=client_tls,
        )

        transport.send_email(email())

        assert smtp.messages[0].login == "clinic"


def test_wrong_password_is_transient_configuration_fault(tmp_path: Path) -> None:
    contexts = self_signed_tls(tmp_path)
    if contexts is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    server_tls, client_tls = contexts
    with LoopbackSmtpServer.start(credentials=("clinic", "s3cret"), tls_context=server_tls) as smtp:
        transport = SmtpEmailTransport(
            smtp.host,
            smtp.port,
            username="clinic",
            password="wrong",
            starttls=True,
            tls_context=client_tls,
        )

        with pytest.raises(TransientSendError) as raised:
            transport.send_email(email())

        assert raised.value.code == "535"
        assert smtp.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_over_plain_connection_when_server_allows_it() -> None:
    with LoopbackSmtpServer.start(credentials=("clinic", "s3cret")) as smtp:
        transport = SmtpEmailTransport(smtp.host, smtp.port, username="clinic", password="s3cret")

        transport.send_email(email())

        assert smtp.messages[0].login == "clinic"
