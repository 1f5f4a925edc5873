"""Outcome reports: is the follow-up working? Every figure is an aggregate query; Python
only folds the grouped rows into tables (no per-message loops).

Definitions (also shown on the report page):
- Messages per day and channel come from the message event log: a message counts on the
  clinic-local day it became sent / delivered / failed (failed or undelivered) / expired.
  Staff alerts are not counted: they go to staff, not patients. The day is the clinic's
  local calendar day for any UTC offset (St. John's -3:30, Kathmandu +5:45) and across
  daylight-saving changes.
- A plan step's window runs from when it was first sent to a treatment until the next step
  was sent (the last step's window stays open). A reply belongs to the window it arrived in.
- Reply rate per step: treatments with at least one reply in the step's window / treatments
  the step was sent to. Check-in answers (BETTER/SAME/WORSE, by text or by link) are the
  replies of those intents, counted per step, treatment kind and practitioner.
- Escalation times are from opening to acknowledgement / resolution; median and p90 use
  linear interpolation (PostgreSQL's percentile_cont).
- Opt-out rate: patients treated in the period who have opted out / patients treated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from followup.models import (
    CheckinAnswer,
    Clinic,
    Escalation,
    EscalationPriority,
    InboundMessage,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Patient,
    ScheduledMessage,
    Treatment,
)
from followup.reporting.local_days import day_from_number, local_day_number

OUTCOMES = {
    MessageStatus.SENT: "sent",
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.FAILED: "failed",
    MessageStatus.UNDELIVERED: "failed",
    MessageStatus.EXPIRED: "expired",
}
ANSWERS = tuple(a.value for a in (CheckinAnswer.BETTER, CheckinAnswer.SAME, CheckinAnswer.WORSE))
NO_PRACTITIONER = "(not recorded)"


@dataclass(frozen=True)
class DayCounts:
    day: date
    channel: str
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    expired: int = 0


@dataclass(frozen=True)
class StepReplies:
    step: str
    sent: int
    replied: int

    @property
    def rate(self) -> float:
        return self.replied / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class AnswerShare:
    group: str
    better: int
    same: int
    worse: int

    @property
    def total(self) -> int:
        return self.better + self.same + self.worse

    def share(self, answer: str) -> float:
        count: int = getattr(self, answer)
        return count / self.total if self.total else 0.0


@dataclass(frozen=True)
class EscalationTimes:
    priority: str
    opened: int
    acknowledged: int
    resolved: int
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


@dataclass(frozen=True)
class OptOuts:
    patients: int
    opted_out: int

    @property
    def rate(self) -> float:
        return self.opted_out / self.patients if self.patients else 0.0


@dataclass
class Report:
    clinic: str
    timezone: str
    since: datetime
    until: datetime
    messages: list[DayCounts] = field(default_factory=list)
    replies: list[StepReplies] = field(default_factory=list)
    answers_by_step: list[AnswerShare] = field(default_factory=list)
    answers_by_kind: list[AnswerShare] = field(default_factory=list)
    answers_by_practitioner: list[AnswerShare] = field(default_factory=list)
    escalations: list[EscalationTimes] = field(default_factory=list)
    opt_outs: OptOuts = field(default_factory=lambda: OptOuts(0, 0))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived rates spelled out."""
        value = asdict(self)
        value["since"], value["until"] = self.since.isoformat(), self.until.isoformat()
        for row in value["messages"]:
            row["day"] = row["day"].isoformat()
        for row, step in zip(value["replies"], self.replies, strict=True):
            row["rate"] = round(step.rate, 4)
        for name in ("answers_by_step", "answers_by_kind", "answers_by_practitioner"):
            for row, share in zip(value[name], getattr(self, name), strict=True):
                row.update({f"{a}_share": round(share.share(a), 4) for a in ANSWERS})
        value["opt_outs"]["rate"] = round(self.opt_outs.rate, 4)
        return value


def build_report(session: Session, clinic: Clinic, since: datetime, until: datetime) -> Report:
    """Every figure for `clinic` between two instants."""
    tz = ZoneInfo(clinic.timezone)
    report = Report(clinic=clinic.name, timezone=clinic.timezone, since=since, until=until)
    report.messages = message_counts(session, clinic.id, since, until, tz)
    report.replies = reply_rates(session, clinic.id, since, until)
    report.answers_by_step = answer_shares(session, clinic.id, since, until, "step")
    report.answers_by_kind = answer_shares(session, clinic.id, since, until, "kind")
    report.answers_by_practitioner = answer_shares(session, clinic.id, since, until, "practitioner")
    report.escalations = escalation_times(session, clinic.id, since, until)
    report.opt_outs = opt_out_rate(session, clinic.id, since, until)
    return report


def message_counts(
    session: Session, clinic_id: int, since: datetime, until: datetime, tz: ZoneInfo
) -> list[DayCounts]:
    day = local_day_number(session, MessageEvent.at, tz, since, until)
    rows = session.execute(
        select(
            day,
            ScheduledMessage.channel,
            MessageEvent.to_status,
            func.count(distinct(MessageEvent.message_id)),
        )
        .join(ScheduledMessage, ScheduledMessage.id == MessageEvent.message_id)
        .where(
            ScheduledMessage.clinic_id == clinic_id,
            ScheduledMessage.kind != MessageKind.STAFF_ALERT,
            MessageEvent.to_status.in_(list(OUTCOMES)),
            MessageEvent.at >= since,
            MessageEvent.at < until,
        )
        .group_by(day, ScheduledMessage.channel, MessageEvent.to_status)
    )
    totals: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for number, channel, status, count in rows:
        local_day = day_from_number(int(number))
        totals[(local_day, str(channel))][OUTCOMES[status]] += count
    return [
        DayCounts(day, channel, **dict(counts)) for (day, channel), counts in sorted(totals.items())
    ]


def _windows(clinic_id: int, since: datetime, until: datetime) -> Any:
    """One row per (treatment, step) sent in the period: when its window opened and closed."""
    first = (
        select(
            ScheduledMessage.treatment_id,
            ScheduledMessage.patient_id,
            ScheduledMessage.step,
            func.min(ScheduledMessage.sent_at).label("opened"),
        )
        .where(
            ScheduledMessage.clinic_id == clinic_id,
            ScheduledMessage.kind == MessageKind.PLAN,
            ScheduledMessage.sent_at.is_not(None),
            ScheduledMessage.treatment_id.is_not(None),
        )
        .group_by(ScheduledMessage.treatment_id, ScheduledMessage.patient_id, ScheduledMessage.step)
        .subquery("first_sends")
    )
    later = ScheduledMessage.__table__.alias("later")
    closed = (
        select(func.min(later.c.sent_at))
        .where(
            later.c.treatment_id == first.c.treatment_id,
            later.c.kind == MessageKind.PLAN.value,
            later.c.step != first.c.step,
            later.c.sent_at > first.c.opened,
        )
        .scalar_subquery()
    )
    return (
        select(first, closed.label("closed"))
        .where(first.c.opened >= since, first.c.opened < until)
        .cte("windows")
    )


def _in_window(windows: Any) -> ColumnElement[bool]:
    return and_(
        InboundMessage.patient_id == windows.c.patient_id,
        InboundMessage.received_at >= windows.c.opened,
        or_(windows.c.closed.is_(None), InboundMessage.received_at < windows.c.closed),
        # A reply we could tie to a treatment only counts for that treatment.
        or_(
            InboundMessage.treatment_id.is_(None),
            InboundMessage.treatment_id == windows.c.treatment_id,
        ),
    )


def reply_rates(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[StepReplies]:
    w = _windows(clinic_id, since, until)
    replied = case((InboundMessage.id.is_not(None), w.c.treatment_id))
    rows = session.execute(
        select(w.c.step, func.count(distinct(w.c.treatment_id)), func.count(distinct(replied)))
        .select_from(w.outerjoin(InboundMessage, _in_window(w)))
        .group_by(w.c.step)
        .order_by(w.c.step)
    )
    return [StepReplies(step, sent, got) for step, sent, got in rows]


def answer_shares(
    session: Session, clinic_id: int, since: datetime, until: datetime, by: str
) -> list[AnswerShare]:
    """BETTER/SAME/WORSE counts grouped by plan step, treatment kind or practitioner."""
    w = _windows(clinic_id, since, until)
    group: Any = {
        "step": w.c.step,
        "kind": Treatment.kind,
        "practitioner": func.coalesce(Treatment.practitioner, literal(NO_PRACTITIONER)),
    }[by]
    rows = session.execute(
        select(group, InboundMessage.intent, func.count(distinct(InboundMessage.id)))
        .select_from(w)
        .join(InboundMessage, _in_window(w))
        .join(Treatment, Treatment.id == w.c.treatment_id)
        .where(InboundMessage.intent.in_(ANSWERS))
        .group_by(group, InboundMessage.intent)
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ANSWERS, 0))
    for name, intent, count in rows:
        counts[str(name)][intent] = count
    return [AnswerShare(name, **c) for name, c in sorted(counts.items())]


def _seconds(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _percentile(
    session: Session, value: ColumnElement[float], where: list[Any], count: int, p: float
) -> float | None:
    """percentile_cont(p) by reading the (at most) two neighbouring ranks in SQL."""
    if count == 0:
        return None
    position = p * (count - 1)
    low = int(position)
    pair = list(session.scalars(select(value).where(*where).order_by(value).offset(low).limit(2)))
    if len(pair) == 1 or position == low:
        return float(pair[0])
    return float(pair[0]) + (float(pair[1]) - float(pair[0])) * (position - low)


def escalation_times(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[EscalationTimes]:
    result = []
    for priority in EscalationPriority:
        base = [
            Escalation.clinic_id == clinic_id,
            Escalation.priority == priority,
            Escalation.opened_at >= since,
            Escalation.opened_at < until,
        ]
        opened, acked, resolved = session.execute(
            select(
                func.count(Escalation.id),
                func.count(Escalation.acknowledged_at),
                func.count(Escalation.resolved_at),
            ).where(*base)
        ).one()
        if not opened:
            continue
        ack = _seconds(session, Escalation.opened_at, Escalation.acknowledged_at)
        res = _seconds(session, Escalation.opened_at, Escalation.resolved_at)
        ack_where = [*base, Escalation.acknowledged_at.is_not(None)]
        res_where = [*base, Escalation.resolved_at.is_not(None)]
        result.append(
            EscalationTimes(
                priority=priority.value,
                opened=opened,
                acknowledged=acked,
                resolved=resolved,
                ack_median_s=_percentile(session, ack, ack_where, acked, 0.5),
                ack_p90_s=_percentile(session, ack, ack_where, acked, 0.9),
                resolve_median_s=_percentile(session, res, res_where, resolved, 0.5),
                resolve_p90_s=_percentile(session, res, res_where, resolved, 0.9),
            )
        )
    return result


def opt_out_rate(session: Session, clinic_id: int, since: datetime, until: datetime) -> OptOuts:
    treated = (
        select(Treatment.patient_id)
        .where(Treatment.treated_at >= since, Treatment.treated_at < until)
        .distinct()
        .subquery()
    )
    patients, opted_out = session.execute(
        select(func.count(Patient.id), func.count(Patient.opted_out_at))
        .join(treated, treated.c.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic_id)
    ).one()
    return OptOuts(patients=patients, opted_out=opted_out)
