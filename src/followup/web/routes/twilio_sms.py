"""POST /webhooks/twilio/sms: Twilio's incoming-message webhook, answered with TwiML.

The route only translates: signature and form (TwilioForm, then `parse_twilio_form`),
then `followup.replies.handle_sms` (stored, acted on and committed), then the answer as
TwiML. Twilio waits at most 15 s and never sends an incoming message again, so the
database gets a budget (FOLLOWUP_REPLY_BUDGET_SECONDS): a reply it cannot take in time
(unreachable, hung, a pool or lock wait) is written to the on-disk spool instead, on
threads of its own that never wait behind database work, and answered from there.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from twilio.twiml.messaging_response import MessagingResponse

from followup.core.runtime import Runtime
from followup.replies.receive import InboundOutcome, handle_sms
from followup.replies.runtime import delayed_reply, reply_deps, spool_of
from followup.replies.sms import InboundSms, InvalidInbound, parse_twilio_form
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
# Spool writes are a file each (written, fsynced, renamed; mostly waiting on the disk):
# threads of their own keep a burst of them moving while every database thread is stuck.
SPOOL_THREADS = 8
# Of the reply budget, what is kept for writing the spool and answering: the database
# gets the rest, so even a reply that ends in the spool is answered within the budget.
SPOOL_RESERVE_SECONDS = 1.0


@dataclass
class ReplyThreads:
    """The webhook's threads, one set per app (created on first use in each process, so a
    test's app stuck on a hung database never holds up another's)."""

    database: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(WEBHOOK_DB_THREADS, "twilio-sms")
    )
    spool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(SPOOL_THREADS, "twilio-sms-spool")
    )


def _threads(request: Request) -> ReplyThreads:
    threads: ReplyThreads | None = getattr(request.app.state, "reply_threads", None)
    if threads is None:
        threads = request.app.state.reply_threads = ReplyThreads()
    return threads


@router.post("/webhooks/twilio/sms", include_in_schema=False)
async def twilio_sms(request: Request, form: TwilioForm) -> Response:
    """TwilioForm has checked the signature (403 otherwise) before any of this runs."""
    try:
        sms = parse_twilio_form(form)
    except InvalidInbound as exc:
        log.warning("twilio sms webhook refused: %s", exc)
        return Response(twiml(None), status_code=400, media_type=TWIML)
    runtime = get_runtime(request)
    threads = _threads(request)
    outcome = await _receive_within_budget(runtime, threads, sms)
    if outcome is not None:
        return Response(twiml(outcome.reply_text), media_type=TWIML)
    answer = delayed_reply(runtime, sms)
    await asyncio.get_running_loop().run_in_executor(threads.spool, _spool, runtime, sms, answer)
    return Response(twiml(answer), media_type=TWIML)


async def _receive_within_budget(
    runtime: Runtime, threads: ReplyThreads, sms: InboundSms
) -> InboundOutcome | None:
    """The reply handled by the database within the budget, or None: the caller keeps it
    in the spool.

    One hop to a worker thread for all the database work (each hop costs about as much as
    a query). Work still running when the budget ends is left to finish or fail on its
    own: if it does commit, the spool's replay finds the MessageSid stored and does
    nothing, so the reply takes effect exactly once either way."""
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(threads.database, _receive, runtime, sms)
    allowed = runtime.settings.reply_budget_seconds - SPOOL_RESERVE_SECONDS
    try:
        return await asyncio.wait_for(work, timeout=allowed)
    except TimeoutError:
        log.error(
            "twilio sms webhook: the database took over %.1f s; keeping the reply in the spool",
            allowed,
        )
    except Exception:
        # Whatever failed (the database unreachable, a transaction given up, a bug), the
        # reply must not be lost: Twilio will not send it again.
        log.exception("twilio sms webhook: the reply was not handled; keeping it in the spool")
    return None


def _spool(runtime: Runtime, sms: InboundSms, answered: str | None) -> None:
    spool_of(runtime).put(sms, runtime.clock.now(), answered)
