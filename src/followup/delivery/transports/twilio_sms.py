"""SMS through Twilio's REST API, with the official twilio SDK.

Pointing the SDK elsewhere (the loopback double in tests and benches): the SDK sends
every request through an `HttpClient`, a documented extension point (`Client(...,
http_client=...)`). `_RedirectingHttpClient` subclasses the SDK's own `TwilioHttpClient`
and, when `api_base_url` is given, swaps the scheme and host of each URL the SDK built
(`https://api.twilio.com/2010-04-01/...`) for the base URL's (a path in the base URL
becomes a prefix), keeping the SDK's path and query.
Everything else — request encoding, auth, paging, error parsing — is the SDK's code.
Without `api_base_url` the URL is untouched and requests go to Twilio.

Threads: the worker sends from a pool of threads. A `requests.Session` is not
documented as thread-safe, so each thread gets its own SDK client and session
(`threading.local`); each session keeps its connections alive between sends.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from followup.delivery.transports.base import (
    TWILIO_TRANSIENT_CODES,
    OutgoingSms,
    PermanentSendError,
    ProviderMessage,
    SendError,
    SendResult,
    TransientSendError,
    describe_twilio_error,
)

# The SDK logs each request's query parameters at INFO, and `messages.list(to=...)` puts
# the patient's full number there; our logs must never carry one, so keep it quiet.
_SDK_LOGGER = logging.getLogger("followup.delivery.transports.twilio_sdk")
_SDK_LOGGER.setLevel(logging.WARNING)


class _RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client, optionally aimed at another base URL; remembers the last response.

    The SDK's exceptions do not carry response headers, so the last response is kept
    here to read Retry-After from. One instance per thread, so "last" is unambiguous.
    """

    def __init__(self, api_base_url: str | None, timeout: float) -> None:
        # max_retries stays unset: a silent retry of a POST could send an SMS twice.
        super().__init__(pool_connections=True, timeout=timeout, logger=_SDK_LOGGER)
        self._base = urlsplit(api_base_url) if api_base_url else None
        self.last_response: Response | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            path = self._base.path.rstrip("/") + parts.path
            url = urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))
        self.last_response = None
        response: Response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        return response


class TwilioSmsTransport:
    """Sends SMS with `messages.create` and looks them up with `messages.list`."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.api_base_url = api_base_url
        self.timeout = timeout
        self._local = threading.local()

    def send_sms(self, message: OutgoingSms) -> SendResult:
        client = self._client()
        try:
            created = client.messages.create(
                to=message.to,
                body=message.body,
                from_=message.from_number,
                messaging_service_sid=message.messaging_service_sid,
                status_callback=message.status_callback,
            )
        except (TwilioException, requests.RequestException) as exc:
            raise self._translate(exc, client) from exc
        status = str(created.status) if created.status is not None else None
        return SendResult(provider_id=created.sid, provider_status=status)

    def find_sent(
        self, to: str, from_number: str | None, since: datetime, body: str | None = None
    ) -> list[ProviderMessage] | None:
        """Messages Twilio holds for `to` (and `from_number`) sent since `since`."""
        client = self._client()
        try:
            listed = client.messages.list(to=to, from_=from_number, date_sent_after=since)
        except (TwilioException, requests.RequestException) as exc:
            raise self._translate(exc, client) from exc
        found = []
        for item in listed:
            if body is not None and item.body != body:
                continue
            found.append(
                ProviderMessage(
                    provider_id=item.sid,
                    to=item.to,
                    from_number=item.from_,
                    body=item.body or "",
                    status=str(item.status),
                    created_at=item.date_created or datetime.now(UTC),
                )
            )
        return found

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            http_client = _RedirectingHttpClient(self.api_base_url, self.timeout)
            # environment={}: the SDK would otherwise read TWILIO_* variables by itself.
            client = Client(
                self.account_sid, self._auth_token, http_client=http_client, environment={}
            )
            self._local.client = client
        return client

    def _translate(
        self, exc: TwilioException | requests.RequestException, client: Any
    ) -> SendError:
        """Map an SDK or network failure onto our two error types."""
        if isinstance(exc, TwilioRestException):
            last = client.http_client.last_response
            headers = last.headers if last is not None and last.headers is not None else {}
            return classify_twilio_error(
                exc.status, exc.code, exc.msg, retry_after_header=headers.get("Retry-After")
            )
        if isinstance(exc, requests.RequestException):
            return _network_error(exc)
        # Other SDK errors, e.g. a non-JSON answer from a proxy in front of Twilio.
        return TransientSendError(f"Twilio client error: {exc}", maybe_sent=True)


def classify_twilio_error(
    status: int, code: int | None, message: str = "", *, retry_after_header: str | None = None
) -> SendError:
    """Decide whether a Twilio error response is worth retrying."""
    reason = describe_twilio_error(code, fallback=message)
    code_text = str(code) if code is not None else str(status)
    retry_after = parse_retry_after(retry_after_header)
    # 401 means our credentials are wrong: a configuration fault, not this message's;
    # retrying after someone fixes it will succeed, so do not fail the message for good.
    if status == 429 or status == 401 or status >= 500 or code in TWILIO_TRANSIENT_CODES:
        return TransientSendError(reason, code_text, retry_after=retry_after)
    return PermanentSendError(reason, code_text)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Twilio sends delta-seconds; an HTTP date is also allowed)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _network_error(exc: requests.RequestException) -> TransientSendError:
    # If the connection was never made, Twilio cannot have the message; anything later
    # (read timeout, reset mid-response) leaves it unknown whether Twilio accepted it.
    never_connected = isinstance(exc, requests.ConnectTimeout) or _is_refused(exc)
    if isinstance(exc, requests.Timeout):
        reason = "Twilio did not answer in time"
    else:
        reason = "Could not reach Twilio"
    return TransientSendError(reason, maybe_sent=not never_connected)


def _is_refused(exc: requests.RequestException) -> bool:
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)
