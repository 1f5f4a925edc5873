"""POST /webhooks/twilio/sms: Twilio's incoming-message webhook, answered with TwiML.

The route only translates: signature and form (TwilioForm), then `inbound_fused.handle_sms`
(stored and committed), then the auto-reply as TwiML. Twilio waits at most 15 s
for the answer; a reply is handled in milliseconds, and anything slow (staff alerts) goes
through the outbox instead of happening here.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from twilio.twiml.messaging_response import MessagingResponse

from followup.core.runtime import Runtime
from followup.replies.fused import handle_sms
from followup.replies.receive import InboundOutcome, InboundSms, InvalidInbound, parse_twilio_form
from followup.replies.runtime import delayed_reply, reply_deps, spool_of
from followup.web.deps import get_runtime
from followup.web.twilio_signature import TwilioForm

log = logging.getLogger(__name__)
router = APIRouter()
TWIML = "application/xml"


@lru_cache(maxsize=1024)
def twiml(reply_text: str | None) -> str:
    """The SDK's TwiML for an auto-reply. Cached: replies are a few templates per clinic
    and language, and building the XML cost about as much as a query."""
    response = MessagingResponse()
    if reply_text:
        response.message(reply_text)
    return str(response)


def _receive(runtime: Runtime, sms: InboundSms) -> InboundOutcome:
    """The reply is stored and acted on (committed) before Twilio gets its answer."""
    return handle_sms(runtime.engine, reply_deps(runtime), sms, runtime.clock.now())


# The reply's database work runs on a few threads of its own rather than anyio's shared
# pool of 40: measured on 2 cores, 4 threads handed work off more cheaply (a C queue, no
# Python Condition) and fought less over the GIL, about 10% less server CPU per request
# than run_in_threadpool. Four transactions at a time per process is far above what one
# clinic's replies need (a reply takes a few ms); more requests wait in the queue.
WEBHOOK_DB_THREADS = 4


@cache
def _executor() -> ThreadPoolExecutor:
    """Created on first use, so in each uvicorn worker process, not in the parent."""
    return ThreadPoolExecutor(WEBHOOK_DB_THREADS, thread_name_prefix="twilio-sms")


@router.post("/webhooks/twilio/sms", include_in_schema=False)
async def twilio_sms(request: Request, form: TwilioForm) -> Response:
    """TwilioForm has checked the signature (403 otherwise) before any of this runs."""
    try:
        sms = parse_twilio_form(form)
    except InvalidInbound as exc:
        log.warning("twilio sms webhook refused: %s", exc)
        return Response(twiml(None), status_code=400, media_type=TWIML)
    # One hop to a worker thread for all the database work (not one per dependency):
    # this is the hottest route, and each hop costs about as much as a query.
    runtime = get_runtime(request)
    loop = asyncio.get_running_loop()
    try:
        outcome = await loop.run_in_executor(_executor(), _receive, runtime, sms)
    except OperationalError:
        # The database is unreachable (or gave up on this transaction): keep the reply on
        # disk rather than fail, since Twilio would not send it again.
        log.exception("twilio sms webhook: database error; keeping the reply in the spool")
        await loop.run_in_executor(_executor(), _spool, runtime, sms)
        return Response(twiml(delayed_reply(runtime, sms)), media_type=TWIML)
    return Response(twiml(outcome.reply_text), media_type=TWIML)


def _spool(runtime: Runtime, sms: InboundSms) -> None:
    spool_of(runtime).put(sms, runtime.clock.now())
