"""ConsoleTransport: the development "send" that prints and keeps a JSON-lines outbox."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from followup.core.phones import mask_phone
from followup.delivery.transports.base import NullTransport, OutgoingEmail, OutgoingSms
from followup.delivery.transports.console import ConsoleTransport

PATIENT = "+15551234567"
CLINIC = "+15557654321"


def sms(body: str = "Day 1: redness is normal.", to: str = PATIENT) -> OutgoingSms:
    return OutgoingSms(to=to, body=body, reference="sm-1", from_number=CLINIC)


def outbox_lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_sms_is_appended_to_the_outbox_as_json(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    transport = ConsoleTransport(outbox, io.StringIO())

    first = transport.send_sms(sms("first"))
    transport.send_sms(sms("second"))

    entries = outbox_lines(outbox)
    assert [entry["body"] for entry in entries] == ["first", "second"]
    assert entries[0]["channel"] == "sms"
    assert entries[0]["to"] == PATIENT
    assert entries[0]["reference"] == "sm-1"
    assert entries[0]["provider_id"] == first.provider_id
    assert datetime.fromisoformat(entries[0]["at"]).tzinfo is not None


def test_printed_line_masks_the_phone_number(tmp_path: Path) -> None:
    stream = io.StringIO()

    ConsoleTransport(tmp_path / "outbox.jsonl", stream).send_sms(sms("Day 3: check-in"))

    printed = stream.getvalue()
    assert PATIENT not in printed
    assert "+1********67" in printed
    assert "Day 3: check-in" in printed


def test_email_is_recorded_and_printed_with_masked_address(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    stream = io.StringIO()
    message = OutgoingEmail(
        to="jane@patient.example",
        from_address="care@clinic.example",
        subject="Day 7",
        text="How is your skin?",
        html=None,
        reference="em-3",
    )

    ConsoleTransport(outbox, stream).send_email(message)

    [entry] = outbox_lines(outbox)
    assert (entry["channel"], entry["subject"], entry["text"]) == ("email", "Day 7", message.text)
    assert "jane@" not in stream.getvalue()
    assert "j***@patient.example" in stream.getvalue()


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+15551234567", "+1********67"),
        ("+447700900123", "+44********23"),
        ("+33612345678", "+33*******78"),
        ("123", "***"),
        ("5551234567", "********67"),
    ],
)
def test_mask_phone_keeps_country_code_and_last_two_digits(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_concurrent_sends_never_interleave_lines(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    transport = ConsoleTransport(outbox, io.StringIO())
    long_body = "x" * 5000  # longer than one small write, so interleaving would show

    def send_batch(worker: int) -> None:
        for number in range(50):
            transport.send_sms(sms(f"{worker}-{number}-{long_body}"))

    workers = [threading.Thread(target=send_batch, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    entries = outbox_lines(outbox)  # every line parses
    assert len(entries) == 400
    assert len({entry["body"] for entry in entries}) == 400


def test_find_sent_reads_the_outbox(tmp_path: Path) -> None:
    transport = ConsoleTransport(tmp_path / "outbox.jsonl", io.StringIO())
    since = datetime.now(UTC) - timedelta(seconds=1)
    result = transport.send_sms(sms("Day 1"))
    transport.send_sms(sms("Day 1", to="+15550001111"))

    found = transport.find_sent(PATIENT, CLINIC, since, body="Day 1")

    assert found is not None
    assert [message.provider_id for message in found] == [result.provider_id]
    assert found[0].from_number == CLINIC


def test_find_sent_is_empty_for_messages_never_sent(tmp_path: Path) -> None:
    transport = ConsoleTransport(tmp_path / "outbox.jsonl", io.StringIO())
    since = datetime.now(UTC) - timedelta(seconds=1)
    assert transport.find_sent(PATIENT, CLINIC, since) == []  # no outbox file yet

    transport.send_sms(sms("Day 1"))

    assert transport.find_sent(PATIENT, CLINIC, since, body="Day 3") == []
    assert transport.find_sent(PATIENT, "+15559990000", since) == []
    assert transport.find_sent(PATIENT, CLINIC, datetime.now(UTC) + timedelta(seconds=5)) == []


def test_a_torn_last_line_does_not_hide_later_messages(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    transport = ConsoleTransport(outbox, io.StringIO())
    since = datetime.now(UTC) - timedelta(seconds=1)
    transport.send_sms(sms("Day 1"))
    with outbox.open("a", encoding="utf-8") as file:
        file.write('{"channel": "sms", "to": "+1555')  # a crash mid-write

    transport.send_sms(sms("Day 3"))

    found = transport.find_sent(PATIENT, CLINIC, since)

    assert found is not None
    assert [message.body for message in found] == ["Day 1", "Day 3"]


def test_null_transport_counts_calls_from_many_threads() -> None:
    transport = NullTransport()

    def send_batch() -> None:
        for _ in range(500):
            transport.send_sms(sms())

    workers = [threading.Thread(target=send_batch) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert transport.sms_count == 4000
    assert transport.find_sent(PATIENT, CLINIC, datetime.now(UTC)) is None
