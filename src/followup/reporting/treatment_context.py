"""Where a patient stood in their follow-up at a given moment: which treatment (in the
plan's own words, not its slug), which day after it, and the plan message last sent
before then. The escalation page shows it for the moment the reply came in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.delivery.context import cached_plan
from followup.messages.plans import PlanError
from followup.models import Channel, MessageKind, ScheduledMessage, Treatment


@dataclass(frozen=True)
class StepSent:
    """A plan message that went out: its words-for-people label, channel and time."""

    label: str
    channel: Channel
    sent_at: datetime  # in the clinic's zone


@dataclass(frozen=True)
class TreatmentContext:
    title: str  # "Microneedling"
    treated_at: datetime  # in the clinic's zone
    day: int  # calendar days from the treatment's local date (0: the day of treatment)
    last_step: StepSent | None  # None: no plan message had gone out yet


def treatment_title(templates_dir: Path, kind: str) -> str:
    """The plan's title ("Microneedling"); the slug in words if the plan is gone."""
    try:
        return cached_plan(templates_dir, kind).title
    except PlanError:
        return kind.replace("-", " ").replace("_", " ").capitalize()


def step_label(templates_dir: Path, kind: str | None, step: str | None) -> str:
    """ "Day 3 message" from the plan's step; the step's name if the plan doesn't know it."""
    if step is None:
        return "Plan message"
    if kind is not None:
        try:
            plan = cached_plan(templates_dir, kind)
        except PlanError:
            plan = None
        day = next((s.day for s in plan.steps if s.name == step), None) if plan else None
        if day is not None:
            return f"Day {day} message"
    return f"{step} message"


def treatment_context(
    session: Session,
    patient_id: int,
    treatment_id: int | None,
    at: datetime,
    zone: ZoneInfo,
    templates_dir: Path,
) -> TreatmentContext | None:
    """The patient's treatment at `at` (the given one, else the latest treated before `at`)
    and the plan message last sent before `at`. Two queries."""
    query = select(Treatment).where(Treatment.patient_id == patient_id)
    if treatment_id is not None:
        query = query.where(Treatment.id == treatment_id)
    else:
        query = query.where(Treatment.treated_at <= at).order_by(Treatment.treated_at.desc())
    treatment = session.scalars(query.limit(1)).first()
    if treatment is None:
        return None
    last = session.execute(
        select(ScheduledMessage.step, ScheduledMessage.channel, ScheduledMessage.sent_at)
        .where(
            ScheduledMessage.treatment_id == treatment.id,
            ScheduledMessage.kind == MessageKind.PLAN,
            ScheduledMessage.sent_at <= at,
        )
        .order_by(ScheduledMessage.sent_at.desc(), ScheduledMessage.id.desc())
        .limit(1)
    ).first()
    treated_at = treatment.treated_at.astimezone(zone)
    step = None
    if last is not None:
        label = step_label(templates_dir, treatment.kind, last.step)
        step = StepSent(label, last.channel, last.sent_at.astimezone(zone))
    return TreatmentContext(
        title=treatment_title(templates_dir, treatment.kind),
        treated_at=treated_at,
        day=(at.astimezone(zone).date() - treated_at.date()).days,
        last_step=step,
    )
