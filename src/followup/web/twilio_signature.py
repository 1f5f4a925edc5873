"""Twilio webhook authentication: X-Twilio-Signature checked with the SDK's RequestValidator
against the public URL (what Twilio signed), never against the URL we happen to see behind
a proxy."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from twilio.request_validator import RequestValidator

from followup.core.runtime import Runtime
from followup.web.deps import runtime_dependency

log = logging.getLogger(__name__)


def signed_url(runtime: Runtime, request: Request) -> str:
    url = runtime.settings.public_url + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def _auth_token(request: Request, runtime: Runtime) -> str | None:
    """The token, looked up once per app: in development it is read from a file, which
    every reply would otherwise read again on the event loop."""
    state = request.app.state
    if not hasattr(state, "twilio_auth_token"):
        state.twilio_auth_token = runtime.settings.webhook_auth_token()
    token: str | None = state.twilio_auth_token
    return token


async def twilio_form(
    request: Request, runtime: Annotated[Runtime, Depends(runtime_dependency)]
) -> dict[str, str]:
    """The webhook's form fields, after the signature is verified (403 otherwise). A request
    that cannot pass (no token configured, no signature sent) is refused before its body is
    read."""
    settings = runtime.settings
    token = _auth_token(request, runtime)
    signature = request.headers.get("x-twilio-signature", "")
    if settings.webhook_signature_check:
        if token is None:
            log.warning("twilio webhook refused: FOLLOWUP_TWILIO_AUTH_TOKEN is not set")
            raise HTTPException(status_code=403, detail="signature check not configured")
        if not signature:
            log.warning("twilio webhook refused: no signature path=%s", request.url.path)
            raise HTTPException(status_code=403, detail="invalid signature")
    form = await request.form()
    params = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if not settings.webhook_signature_check or token is None:
        return params  # check off: allowed only with the console transport (Settings says so)
    validator = RequestValidator(token)
    if not validator.validate(signed_url(runtime, request), params, signature):
        log.warning("twilio webhook refused: bad signature path=%s", request.url.path)
        raise HTTPException(status_code=403, detail="invalid signature")
    return params


TwilioForm = Annotated[dict[str, str], Depends(twilio_form)]
