"""TwilioSmsTransport: the real twilio SDK against the loopback double, over real HTTP."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from followup.delivery.transports.base import (
    OutgoingSms,
    PermanentSendError,
    TransientSendError,
    TwilioErrorCode,
)
from followup.delivery.transports.twilio_sms import TwilioSmsTransport, parse_retry_after
from followup.testing.twilio_double import TwilioDouble

PATIENT = "+15551234567"
CLINIC = "+15557654321"


@pytest.fixture
def transport(double: TwilioDouble) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=2
    )


def sms(body: str = "Day 1: some redness is normal.", to: str = PATIENT) -> OutgoingSms:
    return OutgoingSms(to=to, body=body, reference="sm-1", from_number=CLINIC)


def test_send_delivers_exact_fields_and_returns_provider_id(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    message = OutgoingSms(
        to=PATIENT,
        body="Day 3: tightness is expected. Reply WORSE if it hurts more.",
        reference="sm-42",
        from_number=CLINIC,
        status_callback="https://clinic.example/webhooks/twilio/status",
    )

    result = transport.send_sms(message)

    [accepted] = double.accepted
    assert (accepted.to, accepted.from_number, accepted.body) == (PATIENT, CLINIC, message.body)
    assert accepted.status_callback == message.status_callback
    assert accepted.messaging_service_sid is None
    assert result.provider_id == accepted.sid
    assert result.provider_id.startswith("SM")
    assert len(result.provider_id) == 34
    assert result.provider_status == "queued"


def test_send_through_messaging_service(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    service = "MG" + "a" * 32
    message = OutgoingSms(to=PATIENT, body="hello", reference="r", messaging_service_sid=service)

    result = transport.send_sms(message)

    [accepted] = double.accepted
    assert accepted.messaging_service_sid == service
    assert accepted.from_number is None
    assert result.provider_status == "accepted"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (TwilioErrorCode.INVALID_TO_NUMBER, "The phone number is not a valid number"),
        (
            TwilioErrorCode.UNSUBSCRIBED_RECIPIENT,
            "The recipient has unsubscribed (replied STOP) from this sender",
        ),
        (
            TwilioErrorCode.NOT_A_MOBILE_NUMBER,
            "The number is not a mobile number and cannot receive SMS",
        ),
    ],
)
def test_recipient_errors_are_permanent_with_code_and_reason(
    double: TwilioDouble, transport: TwilioSmsTransport, code: int, reason: str
) -> None:
    double.fail_for_number(PATIENT, code)

    with pytest.raises(PermanentSendError) as raised:
        transport.send_sms(sms())

    assert raised.value.code == str(code)
    assert raised.value.reason == reason
    assert double.accepted == []


def test_malformed_number_is_rejected_by_the_double_as_invalid(
    transport: TwilioSmsTransport,
) -> None:
    with pytest.raises(PermanentSendError) as raised:
        transport.send_sms(sms(to="555-1234"))

    assert raised.value.code == "21211"


def test_service_unavailable_is_transient(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    double.fail_next(1, status=503)

    with pytest.raises(TransientSendError) as raised:
        transport.send_sms(sms())

    assert raised.value.code == "503"
    assert raised.value.maybe_sent is False
    transport.send_sms(sms())  # the scripted failure was used up
    assert len(double.accepted) == 1


def test_rate_limit_is_transient_and_honours_retry_after(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    double.fail_next(1, status=429, code=TwilioErrorCode.TOO_MANY_REQUESTS, retry_after=7)

    with pytest.raises(TransientSendError) as raised:
        transport.send_sms(sms())

    assert raised.value.code == "20429"
    assert raised.value.retry_after == 7


def test_queue_overflow_is_transient(double: TwilioDouble, transport: TwilioSmsTransport) -> None:
    double.fail_next(1, status=400, code=TwilioErrorCode.QUEUE_OVERFLOW)

    with pytest.raises(TransientSendError) as raised:
        transport.send_sms(sms())

    assert raised.value.code == "30001"


def test_down_mode_fails_every_request_until_lifted(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    double.set_down(True)
    for _ in range(3):
        with pytest.raises(TransientSendError):
            transport.send_sms(sms())

    double.set_down(False)
    transport.send_sms(sms())

    assert len(double.accepted) == 1


def test_wrong_credentials_are_transient_not_the_messages_fault(double: TwilioDouble) -> None:
    wrong = TwilioSmsTransport(double.account_sid, "not-the-token", api_base_url=double.base_url)

    with pytest.raises(TransientSendError) as raised:
        wrong.send_sms(sms())

    assert raised.value.code == "20003"
    assert double.accepted == []


def test_connection_refused_is_transient_and_certainly_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = TwilioSmsTransport(
        "AC" + "0" * 32, "token", api_base_url=f"http://127.0.0.1:{closed_port}", timeout=2
    )

    with pytest.raises(TransientSendError) as raised:
        transport.send_sms(sms())

    assert raised.value.maybe_sent is False


def test_timeout_is_transient_and_maybe_sent(double: TwilioDouble) -> None:
    transport = TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=0.2
    )
    double.hold_answers()  # the answer never comes before the timeout, however slow we are
    try:
        with pytest.raises(TransientSendError) as raised:
            transport.send_sms(sms())
    finally:
        double.release_answers()

    # Like Twilio, the double took a request whose caller gave up waiting.
    assert raised.value.maybe_sent is True
    assert double.wait_for_accepted(1)
    assert [message.body for message in double.accepted] == [sms().body]


def test_find_sent_finds_a_sent_message(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    result = transport.send_sms(sms("Day 7: how is your skin?"))
    transport.send_sms(sms("something else"))

    found = transport.find_sent(PATIENT, CLINIC, since, body="Day 7: how is your skin?")

    assert found is not None
    assert [message.provider_id for message in found] == [result.provider_id]
    assert found[0].to == PATIENT
    assert found[0].from_number == CLINIC
    assert found[0].created_at.tzinfo is not None


def test_find_sent_returns_empty_for_a_message_never_sent(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    transport.send_sms(sms("sent to someone else", to="+15550001111"))

    assert transport.find_sent(PATIENT, CLINIC, since) == []
    assert transport.find_sent(PATIENT, CLINIC, since, body="never sent") == []


def test_find_sent_follows_pages(double: TwilioDouble, transport: TwilioSmsTransport) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    for number in range(120):  # more than the SDK's default page of 50
        transport.send_sms(sms(f"message {number}"))

    found = transport.find_sent(PATIENT, CLINIC, since)

    assert found is not None
    assert len({message.provider_id for message in found}) == 120


def test_find_sent_ignores_messages_before_since(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    transport.send_sms(sms("old"))

    later = datetime.now(UTC) + timedelta(seconds=5)

    assert transport.find_sent(PATIENT, CLINIC, later) == []


def test_sdk_request_logging_never_shows_the_patients_number(
    transport: TwilioSmsTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    transport.send_sms(sms())
    transport.find_sent(PATIENT, CLINIC, datetime.now(UTC) - timedelta(seconds=2))

    assert PATIENT.removeprefix("+") not in caplog.text


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_a_minute = datetime.now(UTC) + timedelta(seconds=60)
    from_date = parse_retry_after(in_a_minute.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert from_date is not None
    assert 55 <= from_date <= 60


@pytest.mark.slow
def test_eight_threads_each_message_accepted_exactly_once(
    double: TwilioDouble, transport: TwilioSmsTransport
) -> None:
    threads_count, per_thread = 8, 250
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def send_batch(worker: int) -> None:
        start.wait()
        try:
            for number in range(per_thread):
                transport.send_sms(sms(f"worker {worker} message {number}"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=send_batch, args=(w,)) for w in range(threads_count)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began

    assert errors == []
    accepted = double.accepted
    assert len(accepted) == threads_count * per_thread
    assert len({message.sid for message in accepted}) == len(accepted)
    assert double.duplicates() == {}
    assert set(double.count_by_body().values()) == {1}
    print(f"\ntwilio double: {len(accepted) / elapsed:.0f} messages/s accepted (8 SDK threads)")
