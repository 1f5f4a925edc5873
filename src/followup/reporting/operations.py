"""Is the service doing its job? Read-only figures for operators: which workers are alive,
how deep and how late the queue is, what waits for staff past its SLA.

Shared by `/healthz`, the dashboard's banner, `followup status` and /metrics, so each says
the same. Every query is an aggregate served by a partial index (the due queue by
`ix_scheduled_message_claimable`), so its cost follows the open work, not the size of the
outbox.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from followup.delivery.heartbeats import WorkerSeen, workers_seen
from followup.escalations.worklists import sla_for
from followup.models import (
    CLAIMABLE_STATUSES,
    NEEDS_PERSON_STATUSES,
    PENDING_STATUSES,
    Channel,
    Clinic,
    Escalation,
    EscalationPriority,
    EscalationStatus,
    MessageStatus,
    ScheduledMessage,
    WorkerHeartbeat,
    status_is,
)

# The dashboard's banner: thresholds a nurse can act on (call whoever runs the service).
NO_WORKER_ALARM = timedelta(minutes=2)
LATE_ALARM = timedelta(minutes=5)


@dataclass(frozen=True)
class DueQueue:
    """Messages due now and not yet claimed, and since when the oldest has waited."""

    due: int
    oldest_due_at: datetime | None

    def oldest_age(self, now: datetime) -> timedelta:
        return max(now - self.oldest_due_at, timedelta(0)) if self.oldest_due_at else timedelta(0)


@dataclass(frozen=True)
class EscalationLoad:
    open: int = 0  # not yet acknowledged
    past_sla: int = 0  # of those, waiting longer than the clinic promises


@dataclass(frozen=True)
class ServiceStatus:
    """What `followup status` prints and /metrics exports."""

    now: datetime
    workers: list[WorkerSeen]
    messages: dict[tuple[MessageStatus, Channel], int]
    queue: DueQueue
    escalations: dict[EscalationPriority, EscalationLoad]
    spooled_replies: int
    degraded: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "degraded", worker_missing(self.alive_workers, self.queue.due))

    @property
    def alive_workers(self) -> int:
        return sum(1 for worker in self.workers if worker.alive)

    def by_status(self) -> dict[MessageStatus, int]:
        """Messages in each open status (the queue and what needs a person)."""
        counts = dict.fromkeys(OPEN_STATUSES, 0)
        for (status, _channel), count in self.messages.items():
            counts[status] += count
        return counts

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "status": "degraded" if self.degraded else "ok",
            "at": self.now.isoformat(),
            "workers": {
                "alive": self.alive_workers,
                "seen": [_worker_dict(worker) for worker in self.workers],
            },
            "messages_by_status": {s.value: n for s, n in self.by_status().items()},
            "due": self.queue.due,
            "oldest_due_at": self.queue.oldest_due_at.isoformat()
            if self.queue.oldest_due_at
            else None,
            "oldest_due_seconds": round(self.queue.oldest_age(self.now).total_seconds(), 1),
            "spooled_replies": self.spooled_replies,
            "escalations": {p.value: asdict(load) for p, load in self.escalations.items()},
        }


def _worker_dict(worker: WorkerSeen) -> dict[str, Any]:
    return {
        "worker_id": worker.worker_id,
        "host": worker.host,
        "pid": worker.pid,
        "version": worker.version,
        "started_at": worker.started_at.isoformat(),
        "last_beat_at": worker.last_beat_at.isoformat(),
        "alive": worker.alive,
        "silent_seconds": round(worker.silent_for.total_seconds(), 1),
    }


def worker_missing(alive_workers: int, due: int) -> bool:
    """Degraded: messages are due and no worker is alive to send them."""
    return alive_workers == 0 and due > 0


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(status_is(*CLAIMABLE_STATUSES), ScheduledMessage.next_attempt_at <= now)


def due_queue(session: Session, now: datetime, clinic_id: int | None = None) -> DueQueue:
    """How many messages are due and unclaimed (all clinics, or one), and the oldest's time."""
    query = select(func.count(), func.min(ScheduledMessage.next_attempt_at)).where(_due(now))
    if clinic_id is not None:
        query = query.where(ScheduledMessage.clinic_id == clinic_id)
    due, oldest = session.execute(query).one()
    return DueQueue(int(due or 0), oldest)


def any_due(session: Session, now: datetime) -> bool:
    """Is anything due? (One index entry read, for /healthz.)"""
    return session.scalar(select(ScheduledMessage.id).where(_due(now)).limit(1)) is not None


def alive_workers(session: Session, now: datetime) -> int:
    return sum(1 for worker in workers_seen(session, now) if worker.alive)


def last_worker_beat(session: Session) -> datetime | None:
    """When any worker was last heard from (None: no worker has run since the last clean stop)."""
    return session.scalar(select(func.max(WorkerHeartbeat.last_beat_at)))


# The statuses a message leaves (waiting, in flight, needing a person), each group read
# through its own partial index. Sent, delivered, cancelled and expired messages (most of
# the outbox, and growing) are not counted: that would read the whole table every scrape;
# the worker's followup_send_outcomes_total counts sends as they happen.
OPEN_STATUS_GROUPS = (PENDING_STATUSES, (MessageStatus.SENDING,), NEEDS_PERSON_STATUSES)
OPEN_STATUSES = tuple(status for group in OPEN_STATUS_GROUPS for status in group)


def message_counts(session: Session) -> dict[tuple[MessageStatus, Channel], int]:
    """Messages in an open status (OPEN_STATUSES) by status and channel."""
    counts: dict[tuple[MessageStatus, Channel], int] = {}
    for group in OPEN_STATUS_GROUPS:
        rows = session.execute(
            select(ScheduledMessage.status, ScheduledMessage.channel, func.count())
            .where(status_is(*group))
            .group_by(ScheduledMessage.status, ScheduledMessage.channel)
        )
        counts.update({(status, channel): int(count) for status, channel, count in rows})
    return counts


def escalation_load(session: Session, now: datetime) -> dict[EscalationPriority, EscalationLoad]:
    """Open (unacknowledged) escalations by priority, and how many are past their SLA as the
    dashboard counts it (older than the clinic's SLA for the priority; the inbox has none)."""
    rows = session.execute(
        select(Escalation.priority, Escalation.opened_at, Clinic)
        .join(Clinic, Clinic.id == Escalation.clinic_id)
        .where(Escalation.status == EscalationStatus.OPEN)
    ).all()
    opened: dict[EscalationPriority, int] = dict.fromkeys(EscalationPriority, 0)
    late: dict[EscalationPriority, int] = dict.fromkeys(EscalationPriority, 0)
    for priority, opened_at, clinic in rows:
        opened[priority] += 1
        sla = sla_for(clinic, priority)
        if sla is not None and now - opened_at > sla:
            late[priority] += 1
    return {p: EscalationLoad(opened[p], late[p]) for p in EscalationPriority}


def service_status(session: Session, now: datetime, spooled_replies: int) -> ServiceStatus:
    """Everything an operator asks first, in one read (caller's session)."""
    return ServiceStatus(
        now=now,
        workers=workers_seen(session, now),
        messages=message_counts(session),
        queue=due_queue(session, now),
        escalations=escalation_load(session, now),
        spooled_replies=spooled_replies,
    )


@dataclass(frozen=True)
class Alarm:
    """What the dashboard's banner says, if anything."""

    no_worker_since: datetime | None = None  # set when no worker has been seen lately
    never_seen: bool = False
    late_since: datetime | None = None  # the oldest due message's time, when it is late

    @property
    def raised(self) -> bool:
        return self.never_seen or self.no_worker_since is not None or self.late_since is not None


def dashboard_alarm(session: Session, now: datetime, clinic_id: int) -> Alarm:
    """The banner: no worker seen for NO_WORKER_ALARM, or this clinic's oldest due message
    late by more than LATE_ALARM."""
    last_beat = last_worker_beat(session)
    queue = due_queue(session, now, clinic_id)
    late = queue.oldest_due_at if queue.oldest_age(now) > LATE_ALARM else None
    if last_beat is None:
        return Alarm(never_seen=True, late_since=late)
    silent = now - last_beat > NO_WORKER_ALARM
    return Alarm(no_worker_since=last_beat if silent else None, late_since=late)
