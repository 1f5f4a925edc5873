"""A loopback double of Twilio's Messages REST API, for tests and benches.

The real twilio SDK talks to it over real HTTP on 127.0.0.1. It accepts and lists
messages like Twilio, checks HTTP Basic auth, and can be told to misbehave (latency,
scripted failures, numbers that always fail, "down"). It counts every message it
accepts, so tests can prove each message was accepted exactly once.

Control from the test process: the `TwilioDouble` methods. From other processes:
`TwilioDoubleControl(base_url)` (in twilio_double_control, re-exported here), which
speaks the control endpoints (`POST /_double/config` with a JSON object,
`GET /_double/messages`). The control endpoints need no auth: the double only listens
on loopback.

Deviations from Twilio, on purpose: a message's `date_sent` is its acceptance time (the
double "sends" at once), and scripted failures (`fail_next`) apply to sends only, so
`messages.list` keeps working while sends fail. As with Twilio, a request whose client
timed out may still have been accepted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

from followup.delivery.transports.base import TWILIO_ERROR_REASONS

# The remote-control client lives in twilio_double_control (it needs no server code);
# `X as X` re-exports it, so `from followup.testing.twilio_double import ...` still works.
from followup.testing.twilio_double_control import AcceptedMessage as AcceptedMessage
from followup.testing.twilio_double_control import Controls
from followup.testing.twilio_double_control import TwilioDoubleControl as TwilioDoubleControl

API_VERSION = "2010-04-01"
_MESSAGES_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>SM[0-9a-f]{32}))?\.json$"
)
# Resource fields the double never varies.
_FIXED_FIELDS: dict[str, str | None] = dict.fromkeys(("price", "error_code", "error_message"))
_FIXED_FIELDS |= {"direction": "outbound-api", "num_segments": "1", "num_media": "0"}
_FIXED_FIELDS |= {"price_unit": "USD"}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
HOLD_CAP_SECONDS = 300.0


@dataclass
class _Failure:
    status: int
    code: int | None = None
    retry_after: float | None = None


@dataclass
class _State:
    account_sid: str
    auth_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[AcceptedMessage] = field(default_factory=list)
    created_at: dict[str, datetime] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0
    down: bool = False
    fail_queue: deque[_Failure] = field(default_factory=deque)
    failing_numbers: dict[str, _Failure] = field(default_factory=dict)
    # Set while answers flow; cleared by hold_answers(). An Event, so a release lets every
    # held answer go at once.
    answering: threading.Event = field(default_factory=threading.Event)
    connections: int = 0  # open client connections, each served by a thread of its own
    grew: threading.Condition = field(init=False)  # notified as messages or connections change

    def __post_init__(self) -> None:
        self.answering.set()
        self.grew = threading.Condition(self.lock)

    def configure(self, config: dict[str, Any]) -> None:
        """Apply a control request; the keys mirror the `TwilioDouble` methods."""
        with self.lock:
            if config.get("reset"):
                self.latency, self.down = 0.0, False
                self.fail_queue.clear()
                self.failing_numbers.clear()
                self.answering.set()
            if "hold" in config:
                if config["hold"]:
                    self.answering.clear()
                else:
                    self.answering.set()
            if "latency" in config:
                self.latency = float(config["latency"])
            if "down" in config:
                self.down = bool(config["down"])
            if "fail_next" in config:
                spec = dict(config["fail_next"])
                count = int(spec.pop("n"))
                self.fail_queue.extend(_Failure(**spec) for _ in range(count))
            if "fail_for_number" in config:
                spec = dict(config["fail_for_number"])
                number = spec.pop("to")
                self.failing_numbers[number] = _Failure(**spec)

    def scripted_failure(self, to: str) -> _Failure | None:
        with self.lock:
            if self.fail_queue:
                return self.fail_queue.popleft()
            return self.failing_numbers.get(to)

    def accept(self, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        message = AcceptedMessage(
            sid="SM" + secrets.token_hex(16),
            to=form["To"],
            from_number=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
            date_created=format_datetime(now),
        )
        with self.lock:
            self.accepted.append(message)
            self.created_at[message.sid] = now
            # Twilio answers "accepted" when a messaging service will pick the sender.
            self.statuses[message.sid] = "accepted" if message.messaging_service_sid else "queued"
            self.grew.notify_all()
        return self.resource(message)

    def find(self, sid: str) -> AcceptedMessage | None:
        with self.lock:
            return next((m for m in self.accepted if m.sid == sid), None)

    def resource(self, message: AcceptedMessage) -> dict[str, Any]:
        """The message as Twilio's JSON resource."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}.json"
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": message.to,
            "from": message.from_number,
            "messaging_service_sid": message.messaging_service_sid,
            "body": message.body,
            "status": self.statuses[message.sid],
            **_FIXED_FIELDS,
            **dict.fromkeys(("date_created", "date_updated", "date_sent"), message.date_created),
            "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's session reuses connections
    disable_nagle_algorithm = True
    server: _DoubleServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # thousands of requests per second; the tests read state, not logs

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_double/messages":
            with self._state.lock:
                accepted = list(self._state.accepted)
            self._reply(200, {"messages": [asdict(m) for m in accepted]})
            return
        match = _MESSAGES_PATH.match(parts.path)
        if match is None:
            self._error(404, 20404, "The requested resource was not found")
        elif not self._admitted(match["account"]):
            return
        elif match["sid"] is None:
            self._reply(200, _list_page(self._state, parse_qs(parts.query)))
        elif (message := self._state.find(match["sid"])) is not None:
            self._reply(200, self._state.resource(message))
        else:
            self._error(404, 20404, "The requested resource was not found")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_double/config":
            self._state.configure(json.loads(raw or b"{}"))
            self._reply(200, {"ok": True})
            return
        match = _MESSAGES_PATH.match(self.path)
        if match is None or match["sid"] is not None:
            self._error(404, 20404, "The requested resource was not found")
        elif self._admitted(match["account"]):
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            self._create(form)

    @property
    def _state(self) -> _State:
        return self.server.state

    def _admitted(self, account: str) -> bool:
        """Latency, "down" mode and Basic auth, in that order; False if already answered."""
        state = self._state
        if state.latency:
            time.sleep(state.latency)
        if state.down:
            self._error(503, None, "Service Unavailable")
            return False
        if account != state.account_sid or self.headers.get("Authorization") != self.server.auth:
            self._error(401, 20003, "Authenticate")
            return False
        return True

    def _create(self, form: dict[str, str]) -> None:
        to = form.get("To", "")
        failure = self._state.scripted_failure(to)
        if failure is not None:
            self._error(failure.status, failure.code, retry_after=failure.retry_after)
        elif not to:
            self._error(400, 21604)
        elif not _E164.match(to):
            self._error(400, 21211)
        elif not form.get("Body"):
            self._error(400, 21602)
        elif not (form.get("From") or form.get("MessagingServiceSid")):
            self._error(400, 21603)
        else:
            resource = self._state.accept(form)
            # Held (hold_answers): taken, but the caller hears nothing until released. The
            # cap only keeps a forgotten hold from pinning the thread for ever.
            self._state.answering.wait(HOLD_CAP_SECONDS)
            self._reply(201, resource)

    def _error(
        self, status: int, code: int | None, message: str = "", retry_after: float | None = None
    ) -> None:
        text = message or TWILIO_ERROR_REASONS.get(code or 0, "Error")
        body = {"code": code, "message": text, "status": status}
        if code is not None:
            body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._reply(status, body, headers)

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def _list_page(state: _State, query: dict[str, list[str]]) -> dict[str, Any]:
    """One page of `GET Messages.json`, newest first, filtered like Twilio."""
    arg = {key: values[0] for key, values in query.items()}
    after = _parse_when(arg.get("DateSent>"))
    before = _parse_when(arg.get("DateSent<"))
    with state.lock:
        pairs = [(m, state.created_at[m.sid]) for m in reversed(state.accepted)]
    selected = [
        message
        for message, created in pairs
        if arg.get("To", message.to) == message.to
        and arg.get("From", message.from_number) == message.from_number
        and (after is None or created >= after)
        and (before is None or created <= before)
    ]
    page_size = min(int(arg.get("PageSize", 50)), 1000)
    page = int(arg.get("Page", 0))
    start = page * page_size
    chunk = selected[start : start + page_size]
    base = f"/{API_VERSION}/Accounts/{state.account_sid}/Messages.json"
    filters = {k: v for k, v in arg.items() if k not in {"Page", "PageSize", "PageToken"}}

    def page_uri(number: int) -> str:
        token = {"PageToken": f"PA{number}"} if number else {}
        return f"{base}?{urlencode({**filters, 'PageSize': page_size, 'Page': number, **token})}"

    return {
        "messages": [state.resource(message) for message in chunk],
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "previous_page_uri": page_uri(page - 1) if page else None,
        "next_page_uri": page_uri(page + 1) if start + page_size < len(selected) else None,
    }


def _parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # several worker processes open connections at once

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        super().__init__(address, _Handler)
        self.state = state
        token = f"{state.account_sid}:{state.auth_token}".encode()
        self.auth = "Basic " + base64.b64encode(token).decode()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        state = self.state
        with state.grew:
            state.connections += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with state.grew:
                state.connections -= 1
                state.grew.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected here, not a failure of the double.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class TwilioDouble(Controls):
    """The double, running in this process on a background thread."""

    def __init__(
        self, port: int = 0, account_sid: str | None = None, auth_token: str | None = None
    ) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self._state = _State(self.account_sid, self.auth_token)
        self._server = _DoubleServer(("127.0.0.1", port), self._state)
        host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{bound_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @classmethod
    @contextlib.contextmanager
    def start(cls, port: int = 0, **credentials: str) -> Iterator[TwilioDouble]:
        double = cls(port, **credentials)
        double.open()
        try:
            yield double
        finally:
            double.close()

    def open(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _configure(self, config: dict[str, Any]) -> None:
        self._state.configure(config)

    @property
    def accepted(self) -> list[AcceptedMessage]:
        with self._state.lock:
            return list(self._state.accepted)

    def wait_for_accepted(self, count: int, timeout: float = 30) -> bool:
        """Wait until `count` messages in all are accepted (a request whose caller timed
        out may still be on its way in); False if that did not happen within `timeout`."""
        state = self._state
        with state.grew:
            return state.grew.wait_for(lambda: len(state.accepted) >= count, timeout)

    def wait_idle(self, timeout: float = 30) -> bool:
        """Wait until no client holds a connection open (a killed process's requests have
        all landed or been dropped); False if that did not happen within `timeout`."""
        state = self._state
        with state.grew:
            return state.grew.wait_for(lambda: state.connections == 0, timeout)

    def deliver_status(self, sid: str, status: str, error_code: int | None = None) -> int:
        """POST a status callback for `sid`, signed as Twilio signs it; returns the HTTP status."""
        message = self._state.find(sid)
        if message is None or not message.status_callback:
            raise ValueError(f"message {sid} is unknown or has no StatusCallback")
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid}
        params |= {"MessageStatus": status, "SmsStatus": status, "ApiVersion": API_VERSION}
        params |= {"To": message.to, "From": message.from_number or ""}
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        self._state.statuses[sid] = status
        validator = RequestValidator(self.auth_token)
        signature = validator.compute_signature(message.status_callback, params)
        answer = requests.post(
            message.status_callback,
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=10,
        )
        return answer.status_code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the loopback Twilio double.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid")
    parser.add_argument("--auth-token")
    args = parser.parse_args(argv)
    double = TwilioDouble(args.port, args.account_sid, args.auth_token)
    keys = ("base_url", "account_sid", "auth_token")
    print(json.dumps({key: getattr(double, key) for key in keys}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        double._server.serve_forever()
    double._server.server_close()


if __name__ == "__main__":
    main()
