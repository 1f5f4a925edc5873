"""Report figures against a seeded history whose expected numbers are computed in Python
from the seed list (tests/report_seed.py), not by the report's SQL."""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from followup.models import Escalation, EscalationPriority, MessageEvent, MessageStatus
from followup.reporting.formats import report_csv
from followup.reporting.local_days import offset_stretches
from followup.reporting.reports import AnswerShare, Report, build_report
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


@pytest.mark.parametrize(
    ("zone", "before_midnight", "after_midnight", "local_day"),
    [
        # St. John's is UTC-3:30 in winter: 03:20 UTC is 23:50 on the 14th, 03:40 is 00:10.
        ("America/St_Johns", "2026-01-15T03:20", "2026-01-15T03:40", date(2026, 1, 14)),
        # And UTC-2:30 in summer (the CASE over the period's offsets).
        ("America/St_Johns", "2026-07-15T02:20", "2026-07-15T02:40", date(2026, 7, 14)),
        # Kathmandu is UTC+5:45: 18:10 UTC is 23:55 on the 14th, 18:20 is 00:05.
        ("Asia/Kathmandu", "2026-01-14T18:10", "2026-01-14T18:20", date(2026, 1, 14)),
    ],
)
def test_messages_count_on_the_clinics_local_day_for_any_offset(
    session: Session, zone: str, before_midnight: str, after_midnight: str, local_day: date
) -> None:
    late, early = (
        datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (before_midnight, after_midnight)
    )
    with session.begin():
        clinic = make_clinic(session, timezone=zone)
        enrolled = make_enrollment(session, clinic, now=late - timedelta(days=2))
        for message, at in zip(enrolled.messages[:2], (late, early), strict=True):
            session.add(MessageEvent(message_id=message.id, at=at, to_status=MessageStatus.SENT))
    # The period spans a daylight-saving change in St. John's (March and November).
    report = build_report(
        session, clinic, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert [(row.day, row.sent) for row in report.messages] == [
        (local_day, 1),
        (local_day + timedelta(days=1), 1),
    ]


def test_offset_stretches_find_the_changes_to_the_second() -> None:
    tz = ZoneInfo("America/St_Johns")
    stretches = offset_stretches(
        tz, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    # 2026-03-08 02:00 local (05:30 UTC) and 2026-11-01 02:00 local daylight (04:30 UTC).
    assert stretches == [
        (datetime(2026, 1, 1, tzinfo=UTC), -12600),
        (datetime(2026, 3, 8, 5, 30, tzinfo=UTC), -9000),
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), -12600),
    ]


def test_report_csv_writes_a_practitioner_named_like_a_formula_as_text() -> None:
    evil = '=HYPERLINK("http://evil.example","Dr A")'
    report = Report(clinic="C", timezone="UTC", since=SINCE, until=UNTIL)
    report.answers_by_practitioner = [AnswerShare(evil, better=1, same=0, worse=1)]
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    practitioner_rows = [row for row in rows if row[0] == "answers_by_practitioner"]
    assert practitioner_rows
    assert {row[1] for row in practitioner_rows} == {"'" + evil}
