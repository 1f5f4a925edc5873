"""Report figures against a seeded history whose expected numbers are computed in Python
from the seed list (tests/report_seed.py), not by the report's SQL."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from followup.models import Escalation, EscalationPriority, MessageEvent, MessageStatus
from followup.reporting.reports import Report, build_report
from tests.factories import make_clinic, make_enrollment
from tests.reporting.seed import (
    SINCE,
    UNTIL,
    Seed,
    expected_answers,
    expected_day_counts,
    expected_reply_rates,
    seed_history,
)


@pytest.fixture
def seeded(session: Session) -> tuple[Report, Seed]:
    with session.begin():
        clinic = make_clinic(session)
        seed = seed_history(session, clinic, random.Random(6))
        _noise_in_another_clinic(session)
    return build_report(session, clinic, SINCE, UNTIL), seed


def _noise_in_another_clinic(session: Session) -> None:
    other = make_clinic(session, name="Elsewhere", contact_phone="+14035550177", sender_number=None)
    at = SINCE + timedelta(days=3)
    result = make_enrollment(session, other, now=at, treated_at=at - timedelta(hours=1))
    session.flush()
    session.add(MessageEvent(message_id=result.messages[0].id, at=at, to_status=MessageStatus.SENT))
    session.add(
        Escalation(clinic_id=other.id, patient_id=result.patient.id, priority="urgent",
                   reason="x", opened_at=at, acknowledged_at=at + timedelta(hours=9))
    )  # fmt: skip


def test_messages_per_day_and_channel(seeded: tuple[Report, Seed]) -> None:
    report, seed = seeded
    expected = expected_day_counts(seed)
    got = {
        (row.day, row.channel): Counter(
            {k: v for k, v in vars(row).items() if k not in ("day", "channel") and v}
        )
        for row in report.messages
    }
    assert got == expected
    assert sum(sum(c.values()) for c in got.values()) > 100  # the seed is not trivial


def test_reply_rate_per_step(seeded: tuple[Report, Seed]) -> None:
    report, seed = seeded
    got = {row.step: (row.sent, row.replied) for row in report.replies}
    assert got == expected_reply_rates(seed)
    assert any(replied for _, replied in got.values())


@pytest.mark.parametrize(("attribute", "index"), [("answers_by_step", 1), ("answers_by_kind", 3),
                                                 ("answers_by_practitioner", 4)])  # fmt: skip
def test_answer_shares(seeded: tuple[Report, Seed], attribute: str, index: int) -> None:
    report, seed = seeded
    got = {
        row.group: Counter({"better": row.better, "same": row.same, "worse": row.worse})
        for row in getattr(report, attribute)
    }
    assert got == {k: Counter(dict(v)) for k, v in expected_answers(seed, index).items()}
    for row in getattr(report, attribute):
        assert row.share("better") + row.share("same") + row.share("worse") == pytest.approx(1)


def test_escalation_times(seeded: tuple[Report, Seed]) -> None:
    report, seed = seeded
    by_priority = {row.priority: row for row in report.escalations}
    for priority in EscalationPriority:
        mine = [e for e in seed.escalations if e[0] == priority.value]
        if not mine:
            assert priority.value not in by_priority
            continue
        row = by_priority[priority.value]
        acks = sorted(a for _, a, _ in mine if a is not None)
        resolves = sorted(r for _, _, r in mine if r is not None)
        assert (row.opened, row.acknowledged, row.resolved) == (len(mine), len(acks), len(resolves))
        _close(row.ack_median_s, statistics.median(acks) if acks else None)
        _close(row.ack_p90_s, _p90(acks))
        _close(row.resolve_median_s, statistics.median(resolves) if resolves else None)
        _close(row.resolve_p90_s, _p90(resolves))


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _close(got: float | None, expected: float | None) -> None:
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=0.01)


def test_opt_out_rate(seeded: tuple[Report, Seed]) -> None:
    report, seed = seeded
    assert (report.opt_outs.patients, report.opt_outs.opted_out) == (seed.patients, seed.opted_out)


def test_report_as_json_has_the_rates(seeded: tuple[Report, Seed]) -> None:
    report, _ = seeded
    value = report.as_dict()
    assert value["opt_outs"]["rate"] == round(report.opt_outs.rate, 4)
    assert {"better_share", "same_share", "worse_share"} <= set(value["answers_by_kind"][0])
    assert datetime.fromisoformat(value["since"]) == SINCE
