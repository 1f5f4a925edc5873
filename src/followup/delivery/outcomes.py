"""What happened to a send, and what it does to the message row.

The sender returns one `Outcome` per claimed message; `record_outcomes` applies a
group of them in one transaction: sent, retried with backoff, failed with the
provider's code and a sentence staff can read, or handed back unsent. Two provider
codes change more than the message: 21610 (the recipient unsubscribed at the carrier)
opts the patient out and cancels the rest of the plan; 21614 (not a mobile number)
falls back to email when the patient has an address.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.delivery.accepted import SentCopy, record_accepted
from followup.delivery.claim import release_unsent
from followup.delivery.outbox import (
    cancel_pending_for_patient,
    queue_message,
    record_created,
    transition,
)
from followup.models import (
    Channel,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
)

log = logging.getLogger(__name__)

UNSUBSCRIBED = "21610"
NOT_MOBILE = "21614"


@dataclass(frozen=True)
class Sent:
    """The provider took it. `copy`: the words the transport was given, kept on the row."""

    provider_id: str
    provider_status: str | None = None
    copy: SentCopy | None = None


@dataclass(frozen=True)
class Transient:
    """Worth another attempt. `maybe_sent`: the provider may have taken it (e.g. a read
    timeout), so it is not retried blindly: recovery asks the provider after the lease,
    and `copy` (the words it may have taken) is kept so staff can see what may have gone."""

    reason: str
    code: str | None = None
    retry_after: float | None = None
    maybe_sent: bool = False
    copy: SentCopy | None = None


@dataclass(frozen=True)
class Permanent:
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class Withheld:
    """Not sent on purpose, decided right before sending (opt-out, paused treatment)."""

    status: MessageStatus
    reason: str


@dataclass(frozen=True)
class Released:
    """Claimed but never handed to the provider (the worker is stopping)."""

    reason: str


Outcome = Sent | Transient | Permanent | Withheld | Released


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base * 2^(n-1), capped, times a random 0.5-1.0."""

    max_attempts: int
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        # Jitter spreads a crowd of retries (after an outage) instead of a thundering herd.
        jittered = backoff * (0.5 + rng.random() / 2)
        return float(max(jittered, retry_after or 0.0))


def record_outcomes(
    session: Session,
    outcomes: Mapping[int, Outcome],
    *,
    owner: str,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Counter[str]:
    """Apply each outcome to its message (caller commits); return counts by result.

    Sends the provider took (the common case) are recorded set-based: one UPDATE guarded by
    `status = 'sending' AND lease_owner = owner`, plus their events in one INSERT. The rest
    (retries, failures, opt-outs, lost leases) take the row-by-row path below.
    """
    counts: Counter[str] = Counter()
    sent = {
        message_id: (outcome.provider_id, outcome.copy)
        for message_id, outcome in outcomes.items()
        if isinstance(outcome, Sent)
    }
    settled = record_accepted(session, sent, owner=owner, now=now) if sent else set()
    if settled:
        counts["sent"] += len(settled)
    rest = [message_id for message_id in outcomes if message_id not in settled]
    if not rest:
        return counts
    rows = session.scalars(
        select(ScheduledMessage)
        .where(ScheduledMessage.id.in_(rest))
        .order_by(ScheduledMessage.id)
        .with_for_update()
    ).all()
    for message in rows:
        outcome = outcomes[message.id]
        if message.status is not MessageStatus.SENDING or message.lease_owner != owner:
            counts[_settle_lost_lease(session, message, outcome, owner=owner, now=now)] += 1
            continue
        counts[_apply(session, message, outcome, owner=owner, now=now, policy=policy, rng=rng)] += 1
    return counts


def _apply(
    session: Session,
    message: ScheduledMessage,
    outcome: Outcome,
    *,
    owner: str,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> str:
    if isinstance(outcome, Sent):
        mark_sent(session, message, outcome.provider_id, now=now, actor=owner, copy=outcome.copy)
        return "sent"
    if isinstance(outcome, Transient):
        return _transient(session, message, outcome, owner=owner, now=now, policy=policy, rng=rng)
    if isinstance(outcome, Permanent):
        _permanent(session, message, outcome, owner=owner, now=now)
        return "failed"
    if isinstance(outcome, Withheld):
        message.attempts = max(message.attempts - 1, 0)  # not an attempt at the provider
        _clear_lease(message)
        transition(session, message, outcome.status, at=now, detail=outcome.reason, actor=owner)
        return outcome.status.value
    release_unsent(session, message, owner=owner, now=now, reason=outcome.reason)
    return "released"


def mark_sent(
    session: Session,
    message: ScheduledMessage,
    provider_id: str,
    *,
    now: datetime,
    actor: str,
    copy: SentCopy | None = None,
) -> None:
    """The provider took the message: record its id and keep the words it was given."""
    keep_copy(message, copy)
    message.provider_id = provider_id
    message.sent_at = now
    message.error_code = None
    message.error_message = None
    _clear_lease(message)
    transition(session, message, MessageStatus.SENT, at=now, detail="accepted", actor=actor)


def _transient(
    session: Session,
    message: ScheduledMessage,
    outcome: Transient,
    *,
    owner: str,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> str:
    message.error_code = outcome.code
    message.error_message = outcome.reason
    if outcome.maybe_sent:
        keep_copy(message, outcome.copy)
        # Keep the lease: when it expires, recovery asks the provider whether it went.
        detail = f"unclear whether the provider took it: {outcome.reason}"
        transition(session, message, MessageStatus.SENDING, at=now, detail=detail, actor=owner)
        return "unclear"
    _clear_lease(message)
    if message.attempts >= policy.max_attempts:
        detail = f"gave up after {message.attempts} attempts: {outcome.reason}"
        transition(
            session,
            message,
            MessageStatus.FAILED,
            at=now,
            detail=detail,
            actor=owner,
            error_code=outcome.code,
        )
        return "failed"
    delay = policy.delay(message.attempts, outcome.retry_after, rng)
    message.next_attempt_at = now + timedelta(seconds=delay)
    detail = f"attempt {message.attempts} failed, retry in {delay:.0f}s: {outcome.reason}"
    transition(
        session,
        message,
        MessageStatus.RETRY,
        at=now,
        detail=detail,
        actor=owner,
        error_code=outcome.code,
    )
    return "retry"


def _permanent(
    session: Session, message: ScheduledMessage, outcome: Permanent, *, owner: str, now: datetime
) -> None:
    message.error_code = outcome.code
    message.error_message = outcome.reason
    _clear_lease(message)
    transition(
        session,
        message,
        MessageStatus.FAILED,
        at=now,
        detail=outcome.reason,
        actor=owner,
        error_code=outcome.code,
    )
    if message.patient_id is None or message.kind is MessageKind.STAFF_ALERT:
        return
    if outcome.code == UNSUBSCRIBED:
        opt_out_patient(session, message.patient_id, now=now, source="carrier", actor=owner)
    elif outcome.code == NOT_MOBILE and message.channel is Channel.SMS:
        fall_back_to_email(session, message, now=now, actor=owner)


def opt_out_patient(
    session: Session, patient_id: int, *, now: datetime, source: str, actor: str
) -> int:
    """Record the opt-out (first one wins) and cancel everything still pending."""
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is not None and patient.opted_out_at is None:
        patient.opted_out_at = now
        patient.opt_out_source = source
    reason = "the carrier reports the patient unsubscribed (21610)"
    cancelled = cancel_pending_for_patient(session, patient_id, at=now, reason=reason, actor=actor)
    log.info(
        "patient opted out patient_id=%s source=%s cancelled=%s", patient_id, source, cancelled
    )
    return cancelled


def fall_back_to_email(
    session: Session, message: ScheduledMessage, *, now: datetime, actor: str
) -> ScheduledMessage | None:
    """Queue the same message by email, if the patient has an address and no email copy."""
    patient = session.get(Patient, message.patient_id) if message.patient_id else None
    if patient is None or not patient.email or patient.opted_out_at is not None:
        return None
    if message.kind is not MessageKind.PLAN:
        return queue_message(
            session,
            clinic_id=message.clinic_id,
            kind=message.kind,
            channel=Channel.EMAIL,
            body=message.body or "",
            subject=message.subject or "A message from your clinic",
            at=now,
            actor=actor,
            patient_id=patient.id,
            expires_at=message.expires_at,
        )
    exists = session.scalar(
        select(ScheduledMessage.id).where(
            ScheduledMessage.treatment_id == message.treatment_id,
            ScheduledMessage.step == message.step,
            ScheduledMessage.channel == Channel.EMAIL,
        )
    )
    if exists is not None:
        return None  # the patient already gets this step by email
    copy = ScheduledMessage(
        clinic_id=message.clinic_id,
        patient_id=message.patient_id,
        treatment_id=message.treatment_id,
        kind=message.kind,
        step=message.step,
        channel=Channel.EMAIL,
        send_at=now,
        next_attempt_at=now,
        expires_at=message.expires_at,
        status=MessageStatus.SCHEDULED,
        created_by=actor,
    )
    session.add(copy)
    record_created(session, [copy], at=now, actor=actor)
    return copy


def _settle_lost_lease(
    session: Session, message: ScheduledMessage, outcome: Outcome, *, owner: str, now: datetime
) -> str:
    """Our lease was taken over (recovery ran while we were slow). Only a definite send is
    worth recording: it settles a `needs_review` the recovery could not decide."""
    if isinstance(outcome, Sent) and message.status is MessageStatus.NEEDS_REVIEW:
        mark_sent(session, message, outcome.provider_id, now=now, actor=owner, copy=outcome.copy)
        return "sent"
    log.warning(
        "outcome dropped: lease lost message_id=%s status=%s outcome=%s",
        message.id,
        message.status.value,
        type(outcome).__name__,
    )
    return "lease_lost"


def keep_copy(message: ScheduledMessage, copy: SentCopy | None) -> None:
    """Keep the words a transport was given, unless words are kept already: once kept they
    never change (later attempts send the kept words, see JobBuilder)."""
    if copy is None:
        return
    if message.body is None:
        message.body = copy.body
    if message.subject is None:
        message.subject = copy.subject


def _clear_lease(message: ScheduledMessage) -> None:
    message.lease_owner = None
    message.lease_expires_at = None
