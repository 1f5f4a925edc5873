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
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from twilio.twiml.messaging_response import MessagingResponse

from followup.inbound import (
    InboundOutcome,
    InboundSms,
    InvalidInbound,
    ReplyDeps,
    classify_sms,
    parse_twilio_form,
    reply_text,
)
from followup.inbound_fused import handle_sms
from followup.inbound_spool import SPOOL_DIRECTORY, InboundSpool, Replayed
from followup.replies import Intent, LexiconError, default_lexicon, load_lexicon
from followup.reply_texts import reply_texts
from followup.runtime import Runtime
from followup.web.deps import get_runtime
from followup.web.twilio_signature import TwilioForm

log = logging.getLogger(__name__)
router = APIRouter()
TWIML = "application/xml"


@cache
def _deps(lexicon_path: Path | None, templates_dir: Path, public_url: str) -> ReplyDeps:
    lexicon = default_lexicon()
    if lexicon_path is not None:
        try:
            lexicon = load_lexicon(lexicon_path)
        except LexiconError:
            # The packaged lexicon still honours STOP/HELP and the red flags; a clinic's
            # broken extension must not turn every reply into a 500 (test it with
            # `followup replies classify`).
            log.exception("FOLLOWUP_LEXICON_PATH cannot be used; using the packaged lexicon")
    return ReplyDeps(
        lexicon=lexicon, texts=reply_texts(templates_dir, public_url), templates_dir=templates_dir
    )


def reply_deps(runtime: Runtime) -> ReplyDeps:
    """The lexicon and texts for this runtime, compiled once per process."""
    settings = runtime.settings
    return _deps(settings.lexicon_path, settings.templates_dir, settings.public_url)


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


def spool_of(runtime: Runtime) -> InboundSpool:
    return InboundSpool(runtime.settings.data_dir / SPOOL_DIRECTORY)


def _spool(runtime: Runtime, sms: InboundSms) -> None:
    spool_of(runtime).put(sms, runtime.clock.now())


def replay_spool(runtime: Runtime) -> Replayed:
    """Hand the replies kept while the database was down to the use case (see
    inbound_spool); what still fails stays for the next try."""
    return spool_of(runtime).replay(runtime.engine, reply_deps(runtime), runtime.clock.now())


SPOOL_CHECK_SECONDS = 30.0


async def replay_spool_forever(runtime: Runtime) -> None:
    """Run for the app's lifetime: every SPOOL_CHECK_SECONDS, replay the spool if it holds
    anything. Looking costs one directory listing."""
    spool = spool_of(runtime)
    while True:
        try:
            if spool.pending():
                await asyncio.to_thread(replay_spool, runtime)
        except Exception:
            log.exception("inbound spool replay failed; trying again later")
        await asyncio.sleep(SPOOL_CHECK_SECONDS)


def delayed_reply(runtime: Runtime, sms: InboundSms) -> str | None:
    """What a spooled reply is answered at once: nothing, unless it reads as worse or as a
    red flag, which get the emergency guidance without waiting for anyone to read them."""
    deps = reply_deps(runtime)
    classification = classify_sms(deps, sms)
    if not (classification.urgent or classification.intent is Intent.WORSE):
        return None
    # Without the database the patient's language is unknown: the text has both.
    return reply_text(deps, "delayed", "en", None)
