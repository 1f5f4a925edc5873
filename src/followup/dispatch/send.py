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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from queue import Empty, SimpleQueue
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from followup.clock import Clock
from followup.config import Settings
from followup.db import transaction
from followup.dispatch.claim import claim_batch
from followup.dispatch.context import JobBuilder, SendJob
from followup.dispatch.outcomes import (
    Outcome,
    Permanent,
    Released,
    RetryPolicy,
    Sent,
    Transient,
    Withheld,
    record_outcomes,
)
from followup.dispatch.ratelimit import SenderRateLimiter
from followup.links import LinkSigner
from followup.models import (
    Channel,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from followup.plans import PlanError
from followup.rendering import MessageRenderer, TemplateRenderError
from followup.runtime import Runtime
from followup.transports.base import (
    EmailTransport,
    OutgoingEmail,
    OutgoingSms,
    PermanentSendError,
    SmsTransport,
    TransientSendError,
)
from followup.transports.factory import build_transports

log = logging.getLogger(__name__)
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
# Outcomes are recorded in groups: wait this long for more sends to finish before writing.
RECORD_GATHER_SECONDS = 0.01
RECORD_GROUP = 32

# What the consent re-check reads (built once: it runs before every send). On PostgreSQL the
# same read is sent as plain SQL on the thread's own autocommit connection and prepared
# once per connection: primary-key lookups, a few tens of microseconds server-side.
CONSENT_SQL = (
    "SELECT m.status, m.lease_owner, m.send_at, m.lease_expires_at, p.opted_out_at,"
    " t.paused_at FROM scheduled_message AS m"
    " LEFT OUTER JOIN patient AS p ON p.id = m.patient_id"
    " LEFT OUTER JOIN treatment AS t ON t.id = m.treatment_id"
    " WHERE m.id = %s"
)
CONSENT_QUERY = (
    select(
        ScheduledMessage.status,
        ScheduledMessage.lease_owner,
        ScheduledMessage.send_at,
        ScheduledMessage.lease_expires_at,
        Patient.opted_out_at,
        Treatment.paused_at,
    )
    .select_from(ScheduledMessage)
    .outerjoin(Patient, Patient.id == ScheduledMessage.patient_id)
    .outerjoin(Treatment, Treatment.id == ScheduledMessage.treatment_id)
    .where(ScheduledMessage.id == bindparam("message_id"))
)


@dataclass(frozen=True)
class DispatchOptions:
    batch_size: int = 200
    concurrency: int = 8
    lease_seconds: float = 120
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=6))
    rate_limit_per_second: float | None = None
    email_from: str = "followup@clinic.invalid"
    status_callback_url: str | None = None
    messaging_service_sid: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchOptions:
        return cls(
            batch_size=settings.dispatch_batch_size,
            concurrency=settings.send_concurrency,
            lease_seconds=settings.lease_seconds,
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                base_seconds=settings.retry_base_seconds,
                cap_seconds=settings.retry_max_seconds,
            ),
            rate_limit_per_second=settings.rate_limit_per_second,
            email_from=settings.email_from,
            status_callback_url=settings.public_url + STATUS_CALLBACK_PATH,
            messaging_service_sid=settings.twilio_messaging_service_sid,
        )


@dataclass(frozen=True)
class _Batch:
    examined: int  # rows locked, expired ones included
    jobs: list[SendJob]
    counts: Counter[str]
    claimed_at: datetime


@dataclass(frozen=True)
class Transports:
    sms: SmsTransport
    email: EmailTransport


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
        self._local = threading.local()
        self._sqlite = sessions.kw["bind"].dialect.name == "sqlite"
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
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
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()

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
        with transaction(self.sessions) as session:
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
        try:
            return self._deliver(job)
        except (TemplateRenderError, PlanError) as exc:
            return Permanent(f"the message could not be rendered: {exc}", "template")
        except TransientSendError as exc:
            return Transient(exc.reason, exc.code, exc.retry_after, exc.maybe_sent)
        except PermanentSendError as exc:
            return Permanent(exc.reason, exc.code)
        except Exception as exc:
            # A bug of ours, maybe after the provider took the message: let recovery ask.
            log.exception("unexpected send error message_id=%s", job.message_id)
            return Transient(f"unexpected error: {type(exc).__name__}", maybe_sent=True)

    def _reader(self) -> Connection:
        """This thread's autocommit connection: each read is its own short transaction."""
        connection: Connection | None = getattr(self._local, "reader", None)
        if connection is None or connection.closed or connection.invalidated:
            bind = self.sessions.kw["bind"]
            connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.reader = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def _consent_row(self, message_id: int) -> tuple[Any, ...] | None:
        """(status, lease_owner, send_at, lease_expires_at, opted_out_at, paused_at)."""
        if self._sqlite:
            # SQLite: every transaction takes the write lock (BEGIN IMMEDIATE), so no
            # long-lived reader; a short session per check.
            with self.sessions() as session:
                row = session.execute(CONSENT_QUERY, {"message_id": message_id}).one()
            return (row[0].value, *row[1:])
        reader = self._reader()
        driver = reader.connection.driver_connection
        try:
            # psycopg 3, autocommit: one round trip, the statement prepared server-side.
            found = driver.execute(CONSENT_SQL, (message_id,), prepare=True).fetchone()  # type: ignore[union-attr]
        except psycopg.Error:
            reader.invalidate()  # a broken connection is not reused
            raise
        return tuple(found) if found is not None else None

    def _consent_gate(self, job: SendJob) -> Outcome | None:
        """Re-read consent right before sending: an opt-out committed first always wins."""
        row = self._consent_row(job.message_id)
        if row is None:
            return Released("the message is gone")
        status, lease_owner, send_at, lease_expires_at, opted_out_at, paused_at = row
        if status != MessageStatus.SENDING.value or lease_owner != self.owner:
            return Released("the lease was taken over")
        # Recovery may take over an expired lease and ask the provider: a send must be over
        # (transport timeout <= lease/3) before then, or the answer could be stale.
        margin = timedelta(seconds=self.options.lease_seconds / 3)
        if lease_expires_at is None or lease_expires_at <= self.clock.now() + margin:
            return Released("too little of the lease is left to send safely")
        return consent_verdict(job, opted_out_at, paused_at, send_at)

    def _deliver(self, job: SendJob) -> Outcome:
        if job.channel is Channel.SMS:
            sms = self.outgoing_sms(job)
            result = self.transports.sms.send_sms(sms)
        else:
            result = self.transports.email.send_email(self.outgoing_email(job))
        return Sent(result.provider_id, result.provider_status)

    def sms_body(self, job: SendJob) -> str:
        if job.plan is not None and job.step is not None:
            return self.renderer.render_sms(job.plan, job.step, job.language, job.context).body
        return job.body or ""

    def outgoing_sms(self, job: SendJob) -> OutgoingSms:
        service = job.messaging_service_sid or (
            None if job.from_number else self.options.messaging_service_sid
        )
        return OutgoingSms(
            to=job.to or "",
            body=self.sms_body(job),
            reference=f"msg-{job.message_id}",
            from_number=None if service else job.from_number,
            messaging_service_sid=service,
            status_callback=self.options.status_callback_url,
        )

    def outgoing_email(self, job: SendJob) -> OutgoingEmail:
        if job.plan is not None and job.step is not None:
            email = self.renderer.render_email(job.plan, job.step, job.language, job.context)
            subject, text, html = email.subject, email.text, email.html
        else:
            subject, text, html = job.subject or "A message from your clinic", job.body or "", None
        return OutgoingEmail(
            to=job.to or "",
            from_address=self.options.email_from,
            subject=subject,
            text=text,
            html=html,
            reference=f"msg-{job.message_id}",
            unsubscribe_url=job.unsubscribe_url,
            reply_to=job.reply_to,
        )


def _result(outcome: Outcome | BaseException) -> Outcome:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def consent_verdict(
    job: SendJob,
    opted_out_at: datetime | None,
    paused_at: datetime | None,
    send_at: datetime,
) -> Outcome | None:
    """Withheld if the patient opted out (or the treatment is paused), else None.

    Staff alerts go to staff, not the patient. An auto-reply queued at or after the opt-out
    is its confirmation, which carriers require us to send.
    """
    if job.kind is MessageKind.STAFF_ALERT or job.patient_id is None:
        return None
    if opted_out_at is not None:
        confirmation = job.kind is MessageKind.AUTO_REPLY and send_at >= opted_out_at
        if not confirmation:
            return Withheld(MessageStatus.CANCELLED, "the patient opted out before it was sent")
    if paused_at is not None and job.kind is MessageKind.PLAN:
        return Withheld(MessageStatus.PAUSED, "the treatment's follow-up is paused")
    return None


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
