"""POST /webhooks/twilio/status: Twilio's delivery reports for the messages we sent.

Signature first (TwilioForm: 403 when forged), then `dispatch.status.apply_provider_status`
in the request's transaction. Reports only move a message forward, so Twilio's retries and
late or reordered callbacks are harmless; an unknown MessageSid is acknowledged (200) so
Twilio does not keep retrying a message this database never sent.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response

from followup.delivery.status import apply_provider_status
from followup.web.deps import DbSession, RuntimeDep
from followup.web.twilio_signature import TwilioForm

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/webhooks/twilio/status", include_in_schema=False)
def twilio_status(form: TwilioForm, session: DbSession, runtime: RuntimeDep) -> Response:
    sid = form.get("MessageSid") or form.get("SmsSid")
    reported = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not reported:
        return Response("MessageSid and MessageStatus are required", status_code=400)
    result = apply_provider_status(
        session,
        sid,
        reported,
        error_code=form.get("ErrorCode") or None,
        now=runtime.clock.now(),
    )
    log.info("twilio status sid=%s status=%s result=%s", sid, reported, result)
    return Response(status_code=204)
