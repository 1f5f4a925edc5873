"""The dispatcher: claim a batch, send it outside the transaction, record what happened.

    claim (one short transaction: lock, lease, commit)
      -> per message, in a thread pool of `send_concurrency`:
           consent re-check (its own short read) -> render -> rate limit -> provider
      -> outcomes recorded as they complete, a group per transaction

Throughput is bound by the pool, not by one provider round trip. Nothing is sent while a
transaction is open, so a slow provider never holds row locks.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from queue import Empty, SimpleQueue

import psycopg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import Clock
from followup.core.db import transaction
from followup.core.links import LinkSigner
from followup.core.metrics import CLAIM_SECONDS, PROVIDER_ERRORS, SEND_OUTCOMES, SEND_SECONDS
from followup.core.runtime import Runtime
from followup.delivery.accepted import SentCopy
from followup.delivery.claim import claim_batch
from followup.delivery.compose import outgoing_email, outgoing_sms, sms_body
from followup.delivery.consent import ConsentReader, consent_gate
from followup.delivery.context import JobBuilder, SendJob
from followup.delivery.options import DispatchOptions as DispatchOptions
from followup.delivery.options import Transports as Transports
from followup.delivery.outcomes import (
    Outcome,
    Permanent,
    Released,
    Sent,
    Transient,
    record_outcomes,
)
from followup.delivery.ratelimit import SenderRateLimiter
from followup.delivery.transports.base import (
    OutgoingEmail,
    OutgoingSms,
    PermanentSendError,
    TransientSendError,
)
from followup.delivery.transports.factory import build_transports
from followup.messages.plans import PlanError
from followup.messages.rendering import MessageRenderer, TemplateRenderError
from followup.models import Channel

log = logging.getLogger(__name__)
# Outcomes are recorded in groups: wait this long for more sends to finish before writing.
RECORD_GATHER_SECONDS = 0.01
RECORD_GROUP = 32


@dataclass(frozen=True)
class _Batch:
    examined: int  # rows locked, expired ones included
    jobs: list[SendJob]
    counts: Counter[str]
    claimed_at: datetime


def new_owner_id() -> str:
    """Who holds a lease: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Sends due messages. One per worker process; `dispatch_due` is its periodic job."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        transports: Transports,
        builder: JobBuilder,
        *,
        clock: Clock,
        options: DispatchOptions,
        owner: str | None = None,
        rng: random.Random | None = None,
        limiter: SenderRateLimiter | None = None,
    ) -> None:
        self.sessions = sessions
        self.transports = transports
        self.builder = builder
        self.renderer = MessageRenderer(builder.templates_dir)
        self.clock = clock
        self.options = options
        self.owner = owner or new_owner_id()
        self.rng = rng or random.Random()
        self.limiter = limiter or SenderRateLimiter(options.rate_limit_per_second)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="send")
        self._consent = ConsentReader(sessions)
        # Set by dispatch_due: run by _send_all once the batch is with the pool.
        self._meanwhile: Callable[[], None] | None = None

    def request_stop(self) -> None:
        """Stop claiming; sends not yet handed to a provider are given back to the queue."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._consent.close()

    def dispatch_due(self) -> Counter[str]:
        """Send batches until no due message is left (or a stop is requested).

        Without a rate limit, the next batch is claimed while the current one is with the
        send pool (its claim and job building overlap the sends instead of leaving the pool
        idle). A batch claimed ahead is given back unsent if a stop is requested, or if the
        batch before took so long that its leases are a third gone (recovery must never
        find an expired lease on a message nobody tried).
        """
        total: Counter[str] = Counter()
        if self._stop.is_set():
            return total
        batch = self._claim()
        ahead = self.limiter.per_second is None
        stale = timedelta(seconds=self.options.lease_seconds / 3)
        while True:
            more = batch.examined >= self.options.batch_size
            following: list[_Batch] = []
            if more and ahead and not self._stop.is_set():
                self._meanwhile = partial(self._claim_into, following)
            try:
                self._settle(batch.jobs, batch.counts)
            finally:
                self._meanwhile = None
            total.update(batch.counts)
            if not more:
                break
            if following:
                if self._stop.is_set():
                    total.update(self._give_back(following[0].jobs, "the worker is stopping"))
                    break
                if self.clock.now() - following[0].claimed_at >= stale:
                    reason = "claimed ahead, but the batch before took too long"
                    total.update(self._give_back(following[0].jobs, reason))
                    following.clear()
            if self._stop.is_set():
                break
            batch = following[0] if following else self._claim()
        return total

    def _give_back(self, jobs: list[SendJob], reason: str) -> Counter[str]:
        """Release claimed, never-sent jobs (attempt not counted), in one transaction."""
        if not jobs:
            return Counter()
        outcomes: dict[int, Outcome] = {job.message_id: Released(reason) for job in jobs}
        with transaction(self.sessions) as session:
            return record_outcomes(
                session,
                outcomes,
                owner=self.owner,
                now=self.clock.now(),
                policy=self.options.retry,
                rng=self.rng,
            )

    def dispatch_batch(self) -> tuple[int, Counter[str]]:
        """Claim one batch and settle it; return (rows examined, counts by result)."""
        batch = self._claim()
        self._settle(batch.jobs, batch.counts)
        return batch.examined, batch.counts

    def _claim(self) -> _Batch:
        """Lease a batch and build its jobs (one transaction)."""
        now = self.clock.now()
        with CLAIM_SECONDS.time(), transaction(self.sessions) as session:
            claimed, examined = claim_batch(
                session,
                owner=self.owner,
                now=now,
                limit=self.options.batch_size,
                lease_seconds=self.options.lease_seconds,
            )
            jobs = self.builder.build(session, claimed, now)
        counts: Counter[str] = Counter()
        if examined > len(jobs):
            counts["expired"] = examined - len(jobs)
        return _Batch(examined, jobs, counts, now)

    def _claim_into(self, into: list[_Batch]) -> None:
        if not self._stop.is_set():
            into.append(self._claim())

    def _settle(self, jobs: list[SendJob], counts: Counter[str]) -> None:
        if not jobs:
            if self._meanwhile is not None:
                self._meanwhile()
            return
        counts.update(self._send_all(jobs))
        log.info(
            "dispatch batch owner=%s claimed=%d %s",
            self.owner,
            len(jobs),
            " ".join(f"{key}={value}" for key, value in sorted(counts.items()) if value),
        )

    def _send_all(self, jobs: list[SendJob]) -> Counter[str]:
        finished: SimpleQueue[tuple[int, Outcome | BaseException]] = SimpleQueue()
        for job in jobs:
            self._pool.submit(self._send_into, job, finished)
        failure: Exception | None = None
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            try:
                meanwhile()  # claim the next batch while this one is being sent
            except Exception as exc:
                failure = exc  # raised once this batch's outcomes are recorded
        counts: Counter[str] = Counter()
        left = len(jobs)
        while left:
            message_id, outcome = finished.get()
            outcomes = {message_id: _result(outcome)}
            # Gather what else finishes meanwhile (a little longer while the group is
            # small), then record the group in one transaction.
            deadline = time.monotonic() + RECORD_GATHER_SECONDS
            while len(outcomes) < left:
                try:
                    if len(outcomes) < RECORD_GROUP:
                        remaining = deadline - time.monotonic()
                        message_id, outcome = finished.get(timeout=max(remaining, 0))
                    else:
                        message_id, outcome = finished.get_nowait()
                except Empty:
                    break
                outcomes[message_id] = _result(outcome)
            left -= len(outcomes)
            with transaction(self.sessions) as session:
                counts.update(
                    record_outcomes(
                        session,
                        outcomes,
                        owner=self.owner,
                        now=self.clock.now(),
                        policy=self.options.retry,
                        rng=self.rng,
                    )
                )
        if failure is not None:
            raise failure
        return counts

    def _send_into(
        self, job: SendJob, finished: SimpleQueue[tuple[int, Outcome | BaseException]]
    ) -> None:
        outcome: Outcome | BaseException
        try:
            outcome = self._send_one(job)
            SEND_OUTCOMES.labels(job.channel.value, type(outcome).__name__.lower()).inc()
        except BaseException as exc:  # re-raised by the recording loop, as before
            outcome = exc
        finished.put((job.message_id, outcome))

    def _send_one(self, job: SendJob) -> Outcome:
        """Runs in a pool thread: never raises for the provider's or the template's faults."""
        # The rate limit may hold a message for a while: wait for the slot first, so the
        # consent and lease checks below are the last thing before the provider call.
        self.limiter.acquire(job.sender_key)
        if self._stop.is_set():
            return Released("the worker is stopping")
        try:
            withheld = self._consent_gate(job)
        except (SQLAlchemyError, psycopg.Error) as exc:
            log.warning("consent re-check failed message_id=%s error=%s", job.message_id, exc)
            return Released("could not re-check consent before sending")
        if withheld is not None:
            return withheld
        if not job.to:
            return Permanent(f"the recipient has no {job.channel.value} address", "no_address")
        channel = job.channel.value
        try:
            outgoing = self.compose(job)
        except (TemplateRenderError, PlanError) as exc:
            return Permanent(f"the message could not be rendered: {exc}", "template")
        except Exception as exc:
            log.exception("unexpected render error message_id=%s", job.message_id)
            return Transient(f"unexpected error: {type(exc).__name__}")
        with SEND_SECONDS.labels(channel).time():
            return self._hand_over(job, outgoing)

    def _hand_over(self, job: SendJob, outgoing: OutgoingSms | OutgoingEmail) -> Outcome:
        """Give the message to its transport; the words it was given go with the outcome."""
        copy = sent_copy(outgoing)
        channel = job.channel.value
        try:
            if isinstance(outgoing, OutgoingSms):
                result = self.transports.sms.send_sms(outgoing)
            else:
                result = self.transports.email.send_email(outgoing)
        except TransientSendError as exc:
            PROVIDER_ERRORS.labels(channel, exc.code or "none", "transient").inc()
            kept = copy if exc.maybe_sent else None
            return Transient(exc.reason, exc.code, exc.retry_after, exc.maybe_sent, kept)
        except PermanentSendError as exc:
            PROVIDER_ERRORS.labels(channel, exc.code or "none", "permanent").inc()
            return Permanent(exc.reason, exc.code)
        except Exception as exc:
            # A bug of ours, maybe after the provider took the message: let recovery ask.
            log.exception("unexpected send error message_id=%s", job.message_id)
            return Transient(f"unexpected error: {type(exc).__name__}", maybe_sent=True, copy=copy)
        return Sent(result.provider_id, result.provider_status, copy)

    def _consent_gate(self, job: SendJob) -> Outcome | None:
        """Re-read consent right before sending: an opt-out committed first always wins."""
        return consent_gate(
            job,
            self._consent.row(job.message_id),
            owner=self.owner,
            lease_seconds=self.options.lease_seconds,
            clock=self.clock,
        )

    def sms_body(self, job: SendJob) -> str:
        return sms_body(self.renderer, job)

    def compose(self, job: SendJob) -> OutgoingSms | OutgoingEmail:
        """The provider message: a plan message not sent before is rendered now."""
        return self.outgoing_sms(job) if job.channel is Channel.SMS else self.outgoing_email(job)

    def outgoing_sms(self, job: SendJob) -> OutgoingSms:
        return outgoing_sms(
            self.renderer,
            job,
            messaging_service_sid=self.options.messaging_service_sid,
            status_callback_url=self.options.status_callback_url,
        )

    def outgoing_email(self, job: SendJob) -> OutgoingEmail:
        return outgoing_email(self.renderer, job, email_from=self.options.email_from)


def sent_copy(message: OutgoingSms | OutgoingEmail) -> SentCopy:
    """The words handed to the transport, to keep on the message row."""
    if isinstance(message, OutgoingSms):
        return SentCopy(None, message.body)
    return SentCopy(message.subject, message.text)


def _result(outcome: Outcome | BaseException) -> Outcome:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def build_dispatcher(
    runtime: Runtime, transports: Transports | None = None, *, owner: str | None = None
) -> Dispatcher:
    """A Dispatcher wired from the runtime's settings (transports from the factory)."""
    settings = runtime.settings
    if transports is None:
        sms, email = build_transports(settings)
        transports = Transports(sms=sms, email=email)
    signer = LinkSigner(settings.signing_key(), settings.public_url)
    return Dispatcher(
        runtime.sessions,
        transports,
        JobBuilder(settings.templates_dir, signer),
        clock=runtime.clock,
        options=DispatchOptions.from_settings(settings),
        owner=owner,
    )
