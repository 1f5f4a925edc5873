"""The reply use case's per-process dependencies for a Runtime, and the spool's upkeep.

Shared by the webhook, the one-click email links, `/healthz`, the app's lifespan and the
CLI, so none of them reaches into another's module: the lexicon and texts are compiled
once per process, the spool of replies kept during a database outage (inbound_spool) is
found in the runtime's data_dir, and replayed from here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import cache
from pathlib import Path

from followup.core.runtime import Runtime
from followup.messages.automatic import reply_texts
from followup.replies.classifier import Intent, LexiconError, default_lexicon, load_lexicon
from followup.replies.receive import ReplyDeps, answer_text, classify_sms
from followup.replies.sms import InboundSms
from followup.replies.spool import SPOOL_DIRECTORY, InboundSpool, Replayed

log = logging.getLogger(__name__)

SPOOL_CHECK_SECONDS = 30.0


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


# Compiling the lexicon takes most of a second: the webhook's threads asking at once must
# wait for one compilation, not run four.
_COMPILING = threading.Lock()


def reply_deps(runtime: Runtime) -> ReplyDeps:
    """The lexicon and texts for this runtime, compiled once per process (the web app
    does it at start-up, so no patient's reply waits for it)."""
    settings = runtime.settings
    with _COMPILING:
        return _deps(settings.lexicon_path, settings.templates_dir, settings.public_url)


def spool_of(runtime: Runtime) -> InboundSpool:
    return InboundSpool(runtime.settings.data_dir / SPOOL_DIRECTORY)


def delayed_reply(runtime: Runtime, sms: InboundSms) -> str | None:
    """What a spooled reply is answered at once: nothing, unless it reads as worse or as a
    red flag, which get the emergency guidance without waiting for anyone to read them."""
    deps = reply_deps(runtime)
    classification = classify_sms(deps, sms)
    if not (classification.urgent or classification.intent is Intent.WORSE):
        return None
    # Without the database the patient's language is unknown: the text has all three.
    return answer_text(deps, "delayed", "en", None)


def replay_spool(runtime: Runtime) -> Replayed:
    """Hand the replies kept while the database was down to the use case (see
    inbound_spool); what still fails stays for the next try."""
    return spool_of(runtime).replay(runtime.engine, reply_deps(runtime), runtime.clock.now())


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
