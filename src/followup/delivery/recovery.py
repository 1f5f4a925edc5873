"""Settling `sending` rows whose lease expired: the worker that claimed them died (kill -9,
power loss) or could not tell whether the provider took a message.

Never resent blindly, never dropped silently:
  - a provider id was recorded          -> sent
  - the provider lists the message      -> sent (with its id)
  - the provider says it has no such message -> back to the queue (it never left)
  - nobody can tell (email, a transport without look-up) -> needs_review, for staff
A provider that cannot be reached right now leaves the row for the next pass.

The lease must outlast any send in flight (the transport timeout), or the provider could
still accept a message after we asked it; `lease_seconds` is at least 5 s and the
transports' timeouts are built below it (see transports/factory.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.core.db import transaction
from followup.delivery.accepted import SentCopy
from followup.delivery.context import SendJob
from followup.delivery.outbox import transition
from followup.delivery.outcomes import mark_sent
from followup.delivery.transports.base import SendError
from followup.messages.plans import PlanError
from followup.messages.rendering import TemplateRenderError
from followup.models import Channel, MessageStatus, ScheduledMessage, status_is

if TYPE_CHECKING:
    from followup.delivery.send import Dispatcher

log = logging.getLogger(__name__)
# Provider clocks and ours differ a little; look a bit before the claim.
LOOKUP_SLACK = timedelta(minutes=10)


def recover_stale_claims(
    dispatcher: Dispatcher, *, now: datetime | None = None, limit: int = 500
) -> Counter[str]:
    """Resolve up to `limit` expired leases; return counts by verdict."""
    now = now or dispatcher.clock.now()
    actor = f"recovery:{dispatcher.owner}"
    counts: Counter[str] = Counter()
    with transaction(dispatcher.sessions) as session:
        rows = list(
            session.scalars(
                select(ScheduledMessage)
                .where(
                    status_is(MessageStatus.SENDING),  # ix_scheduled_message_in_flight
                    ScheduledMessage.lease_expires_at < now,
                )
                .order_by(ScheduledMessage.lease_expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        jobs = dispatcher.builder.build(session, rows, now)
        for message, job in zip(rows, jobs, strict=True):
            verdict = _resolve(dispatcher, session, message, job, now=now, actor=actor)
            counts[verdict] += 1
    if rows:
        summary = " ".join(f"{key}={value}" for key, value in sorted(counts.items()))
        log.info("recovered stale claims %s", summary)
    return counts


def _resolve(
    dispatcher: Dispatcher,
    session: Session,
    message: ScheduledMessage,
    job: SendJob,
    *,
    now: datetime,
    actor: str,
) -> str:
    if message.provider_id:
        mark_sent(session, message, message.provider_id, now=now, actor=actor)
        return "sent"
    if message.channel is not Channel.SMS or not job.to:
        return _needs_review(session, message, now=now, actor=actor, why="no provider look-up")
    try:
        sms = dispatcher.outgoing_sms(job)
    except (TemplateRenderError, PlanError):
        return _needs_review(session, message, now=now, actor=actor, why="cannot re-render")
    claimed_at = (message.lease_expires_at or now) - timedelta(
        seconds=dispatcher.options.lease_seconds
    )
    try:
        found = dispatcher.transports.sms.find_sent(
            sms.to, sms.from_number, claimed_at - LOOKUP_SLACK, sms.body
        )
    except SendError as exc:
        log.warning("recovery look-up failed message_id=%s error=%s", message.id, exc.code)
        return "deferred"
    if found is None:
        return _needs_review(session, message, now=now, actor=actor, why="provider cannot tell")
    if found:
        if len(found) > 1:
            log.warning("provider lists %d copies message_id=%s", len(found), message.id)
        # The provider's own copy of the words (the look-up matched them to ours).
        copy = SentCopy(None, found[0].body or sms.body)
        mark_sent(session, message, found[0].provider_id, now=now, actor=actor, copy=copy)
        return "sent"
    _requeue(session, message, now=now, actor=actor)
    return "requeued"


def _requeue(session: Session, message: ScheduledMessage, *, now: datetime, actor: str) -> None:
    message.lease_owner = None
    message.lease_expires_at = None
    message.next_attempt_at = now
    detail = "the worker stopped mid-send; the provider has no such message, so it is queued again"
    transition(session, message, MessageStatus.RETRY, at=now, detail=detail, actor=actor)


def _needs_review(
    session: Session, message: ScheduledMessage, *, now: datetime, actor: str, why: str
) -> str:
    message.lease_owner = None
    message.lease_expires_at = None
    detail = (
        f"the worker stopped mid-send and it is unknown whether the message went out ({why});"
        " check with the patient before sending again"
    )
    transition(session, message, MessageStatus.NEEDS_REVIEW, at=now, detail=detail, actor=actor)
    return "needs_review"
