"""The loopback Twilio double itself: auth, control from other processes, status callbacks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from followup.delivery.transports.base import OutgoingSms, TransientSendError
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
from followup.testing.twilio_double import TwilioDouble, TwilioDoubleControl

PATIENT = "+15551234567"
CLINIC = "+15557654321"


def transport_for(double: TwilioDouble) -> TwilioSmsTransport:
    return TwilioSmsTransport(
        double.account_sid, double.auth_token, api_base_url=double.base_url, timeout=5
    )


def send(double: TwilioDouble, body: str = "hello", **fields: Any) -> str:
    message = OutgoingSms(to=PATIENT, body=body, reference="r", from_number=CLINIC, **fields)
    return transport_for(double).send_sms(message).provider_id


def messages_url(double: TwilioDouble) -> str:
    return f"{double.base_url}/2010-04-01/Accounts/{double.account_sid}/Messages.json"


def test_wrong_basic_auth_gets_twilio_style_401(double: TwilioDouble) -> None:
    form = {"To": PATIENT, "From": CLINIC, "Body": "x"}
    answer = requests.post(
        messages_url(double), data=form, auth=(double.account_sid, "wrong"), timeout=5
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    assert double.accepted == []


def test_created_resource_is_twilio_shaped(double: TwilioDouble) -> None:
    form = {"To": PATIENT, "From": CLINIC, "Body": "Day 1"}
    auth = (double.account_sid, double.auth_token)

    answer = requests.post(messages_url(double), data=form, auth=auth, timeout=5)

    assert answer.status_code == 201
    resource = answer.json()
    assert resource["status"] == "queued"
    assert (resource["to"], resource["from"], resource["body"]) == (PATIENT, CLINIC, "Day 1")
    assert resource["account_sid"] == double.account_sid
    assert resource["date_created"].endswith("+0000")
    assert resource["uri"].endswith(f"/Messages/{resource['sid']}.json")


def test_control_endpoint_drives_the_double_from_another_process(double: TwilioDouble) -> None:
    script = (
        "import sys; from followup.testing.twilio_double import TwilioDoubleControl as C; "
        "C(sys.argv[1]).fail_next(2, status=503)"
    )
    subprocess.run([sys.executable, "-c", script, double.base_url], check=True, timeout=60)

    for _ in range(2):
        with pytest.raises(TransientSendError):
            send(double)
    send(double, body="third time")

    assert [m.body for m in double.accepted] == ["third time"]


_SENDER_SCRIPT = """
import sys
from followup.delivery.transports.base import OutgoingSms
from followup.delivery.transports.twilio_sms import TwilioSmsTransport
base_url, account_sid, auth_token, worker = sys.argv[1:5]
transport = TwilioSmsTransport(account_sid, auth_token, api_base_url=base_url)
for number in range(250):
    body = f"process {worker} message {number}"
    message = OutgoingSms(to="+15551234567", body=body, reference="r", from_number="+1555")
    transport.send_sms(message)
"""


@pytest.mark.slow
def test_four_processes_sending_at_once_are_each_accepted_once(double: TwilioDouble) -> None:
    credentials = [double.base_url, double.account_sid, double.auth_token]
    senders = [
        subprocess.Popen([sys.executable, "-c", _SENDER_SCRIPT, *credentials, str(worker)])
        for worker in range(4)
    ]

    assert [sender.wait(timeout=120) for sender in senders] == [0, 0, 0, 0]
    remote = TwilioDoubleControl(double.base_url)
    assert len(remote.accepted) == 1000
    assert remote.duplicates() == {}


def test_remote_control_reads_accepted_messages_and_duplicates(double: TwilioDouble) -> None:
    send(double, body="once")
    send(double, body="twice")
    send(double, body="twice")
    remote = TwilioDoubleControl(double.base_url)

    assert [m.body for m in remote.accepted] == ["once", "twice", "twice"]
    assert remote.count_by_body() == {"once": 1, "twice": 2}
    assert remote.duplicates() == {(PATIENT, "twice"): 2}


def test_remote_down_mode_and_reset(double: TwilioDouble) -> None:
    remote = TwilioDoubleControl(double.base_url)
    remote.set_down(True)
    with pytest.raises(TransientSendError):
        send(double)

    remote.reset()
    send(double)

    assert len(double.accepted) == 1


class _CallbackReceiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], str]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.received.append((self.path, form, self.headers["X-Twilio-Signature"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def callback_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    received: list[tuple[str, dict[str, str], str]] = []
    handler = type("Receiver", (_CallbackReceiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/twilio/status", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_status_callbacks_are_signed_like_twilio(
    double: TwilioDouble, callback_server: tuple[str, list[tuple[str, dict[str, str], str]]]
) -> None:
    url, received = callback_server
    sid = send(double, status_callback=url)

    assert double.deliver_status(sid, "sent") == 204
    assert double.deliver_status(sid, "undelivered", error_code=30003) == 204

    validator = RequestValidator(double.auth_token)
    assert [form["MessageStatus"] for _, form, _ in received] == ["sent", "undelivered"]
    for _, form, signature in received:
        assert form["MessageSid"] == sid
        assert form["To"] == PATIENT
        assert validator.validate(url, form, signature)
    assert received[1][1]["ErrorCode"] == "30003"
    assert not RequestValidator("other-token").validate(url, received[0][1], received[0][2])


def test_fetch_and_list_show_the_delivered_status(
    double: TwilioDouble, callback_server: tuple[str, list[tuple[str, dict[str, str], str]]]
) -> None:
    url, _ = callback_server
    sid = send(double, status_callback=url)
    client = transport_for(double)._client()
    assert client.messages(sid).fetch().status == "queued"

    double.deliver_status(sid, "delivered")

    assert client.messages(sid).fetch().status == "delivered"
    assert [m.status for m in client.messages.list(to=PATIENT)] == ["delivered"]


def test_fetch_of_an_unknown_message_is_404(double: TwilioDouble) -> None:
    client = transport_for(double)._client()

    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "0" * 32).fetch()

    assert raised.value.status == 404


def test_deliver_status_needs_a_callback_url(double: TwilioDouble) -> None:
    sid = send(double)

    with pytest.raises(ValueError, match="no StatusCallback"):
        double.deliver_status(sid, "delivered")


def test_runs_standalone_and_prints_its_credentials() -> None:
    command = [sys.executable, "-m", "followup.testing.twilio_double", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = json.loads(process.stdout.readline())
        remote = TwilioDoubleControl(printed["base_url"])
        transport = TwilioSmsTransport(
            printed["account_sid"], printed["auth_token"], api_base_url=printed["base_url"]
        )
        transport.send_sms(OutgoingSms(to=PATIENT, body="bench", reference="r", from_number=CLINIC))

        assert [m.body for m in remote.accepted] == ["bench"]
        assert printed["account_sid"].startswith("AC")
    finally:
        process.terminate()
        process.wait(timeout=10)
