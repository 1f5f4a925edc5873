"""Plans and send times: hand-checked examples, then properties across zones and DST changes."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.messages.plans import (
    Plan,
    PlanError,
    SendRules,
    Step,
    available_plans,
    load_plan,
    next_allowed_time,
    plan_sends,
    to_local,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "messages"
EDMONTON = ZoneInfo("America/Edmonton")
PARIS = ZoneInfo("Europe/Paris")
NO_QUIET_HOURS = {"quiet_start": time(0), "quiet_end": time(0)}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def one_step_plan(send_time: time | None = None, useful_hours: float | None = None) -> Plan:
    return Plan("test", "Test", (Step("day1", 1, send_time, useful_hours, "info"),))


def three_step_plan(useful_hours: float | None = None) -> Plan:
    return Plan(
        "test",
        "Test",
        (
            Step("day1", 1, None, useful_hours, "info"),
            Step("day3", 3, None, None, "info"),
            Step("day7", 7, None, None, "checkin"),
        ),
    )


# --- loading plans -----------------------------------------------------------------


def test_microneedling_plan_is_day_1_3_7_with_a_final_checkin() -> None:
    plan = load_plan(TEMPLATES, "microneedling")
    assert plan.title == "Microneedling"
    assert [(s.name, s.day, s.kind) for s in plan.steps] == [
        ("day1", 1, "info"),
        ("day3", 3, "info"),
        ("day7", 7, "checkin"),
    ]


def test_chemical_peel_plan_exists_as_files_only() -> None:
    plan = load_plan(TEMPLATES, "chemical-peel")
    assert [s.day for s in plan.steps] == [1, 2, 5]
    assert plan.steps[-1].kind == "checkin"


def test_available_plans_lists_folders_with_a_plan_file() -> None:
    assert available_plans(TEMPLATES) == ["chemical-peel", "microneedling"]


def test_a_clinic_adds_a_plan_by_adding_a_folder(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES, tmp_path, dirs_exist_ok=True)
    (tmp_path / "laser").mkdir()
    (tmp_path / "laser" / "plan.toml").write_text(
        'title = "Laser"\n[[steps]]\nname = "day2"\nday = 2\nsend_time = "11:30"\n'
        'useful_hours = 12\n[[steps]]\nname = "day10"\nday = 10\nkind = "checkin"\n'
    )
    assert "laser" in available_plans(tmp_path)
    plan = load_plan(tmp_path, "laser")
    assert plan.steps[0] == Step("day2", 2, time(11, 30), 12.0, "info")
    sends = plan_sends(plan, utc(2026, 6, 1, 15), SendRules(PARIS), now=utc(2026, 6, 1, 15))
    assert [s.send_at for s in sends] == [utc(2026, 6, 3, 9, 30), utc(2026, 6, 11, 8)]


def test_unknown_plan_names_the_plan_and_the_choices() -> None:
    with pytest.raises(PlanError, match=r"unknown plan 'botox'.*microneedling"):
        load_plan(TEMPLATES, "botox")


def test_path_like_plan_names_are_refused() -> None:
    with pytest.raises(PlanError, match="invalid plan name"):
        load_plan(TEMPLATES, "../etc")


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ("title = ", "not valid TOML"),
        ('title = "X"', "at least one"),
        ('title = "X"\n[[steps]]\nname = "day1"\nday = 0', "'day' must be an integer"),
        ('title = "X"\n[[steps]]\nname = "day1"\nday = true', "'day' must be an integer"),
        ('title = "X"\n[[steps]]\nname = "d1"\nday = 1\nsend_time = "25:00"', "send_time"),
        ('title = "X"\n[[steps]]\nname = "d1"\nday = 1\nuseful_hours = -1', "useful_hours"),
        ('title = "X"\n[[steps]]\nname = "d1"\nday = 1\nkind = "survey"', "'kind'"),
        ('title = "X"\n[[steps]]\nname = "d1"\nday = 1\ncolour = 3', "unknown keys"),
        ('title = "X"\n[[steps]]\nname = "a"\nday = 3\n[[steps]]\nname = "b"\nday = 1', "increase"),
        ('title = "X"\n[[steps]]\nname = "a"\nday = 1\n[[steps]]\nname = "a"\nday = 2', "unique"),
    ],
)
def test_malformed_plan_file_is_reported_with_its_path(
    tmp_path: Path, toml: str, complaint: str
) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "plan.toml").write_text(toml)
    with pytest.raises(PlanError, match=complaint) as caught:
        load_plan(tmp_path, "broken")
    assert "broken/plan.toml" in str(caught.value)


# --- send times, by hand -----------------------------------------------------------


def test_edmonton_day1_lands_after_the_spring_forward() -> None:
    # Treated Saturday 2026-03-07 14:00 MST; clocks go forward at 02:00 on the 8th,
    # so day 1 at 10:00 is MDT (UTC-6) = 16:00Z, and so are the later steps.
    plan = load_plan(TEMPLATES, "microneedling")
    treated = datetime(2026, 3, 7, 14, tzinfo=EDMONTON)
    sends = plan_sends(plan, treated, SendRules(EDMONTON), now=treated)
    assert [(s.step, s.send_at, s.expired) for s in sends] == [
        ("day1", utc(2026, 3, 8, 16), False),
        ("day3", utc(2026, 3, 10, 16), False),
        ("day7", utc(2026, 3, 14, 16), False),
    ]
    assert [s.expires_at for s in sends] == [
        utc(2026, 3, 10, 16),
        utc(2026, 3, 14, 16),
        utc(2026, 3, 16, 16),  # last step: 48 hours
    ]


def test_day_n_counts_local_calendar_days_not_utc_days() -> None:
    # 2026-03-07 23:30 in Edmonton is already the 8th in UTC; day 1 is still the 8th.
    treated = datetime(2026, 3, 7, 23, 30, tzinfo=EDMONTON)
    [send] = plan_sends(one_step_plan(), treated, SendRules(EDMONTON), now=treated)
    assert to_local(send.send_at, EDMONTON).date() == date(2026, 3, 8)


def test_send_time_in_quiet_hours_moves_to_next_morning() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    [send] = plan_sends(one_step_plan(time(22)), treated, SendRules(PARIS), now=treated)
    assert to_local(send.send_at, PARIS) == datetime(2026, 6, 3, 8, tzinfo=PARIS)


def test_send_time_before_quiet_hours_end_moves_to_same_morning() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    [send] = plan_sends(one_step_plan(time(6, 15)), treated, SendRules(PARIS), now=treated)
    assert to_local(send.send_at, PARIS) == datetime(2026, 6, 2, 8, tzinfo=PARIS)


def test_nonexistent_local_time_moves_forward_past_the_gap() -> None:
    rules = SendRules(EDMONTON, **NO_QUIET_HOURS)
    treated = datetime(2026, 3, 7, 12, tzinfo=EDMONTON)
    [send] = plan_sends(one_step_plan(time(2, 30)), treated, rules, now=treated)
    assert send.send_at == utc(2026, 3, 8, 9, 30)  # 03:30 MDT
    assert to_local(send.send_at, EDMONTON).time() == time(3, 30)


def test_half_hour_gap_on_lord_howe() -> None:
    # Lord Howe moves from +10:30 to +11:00 at 02:00 on 2026-10-04.
    zone = ZoneInfo("Australia/Lord_Howe")
    treated = datetime(2026, 10, 3, 12, tzinfo=zone)
    rules = SendRules(zone, **NO_QUIET_HOURS)
    [send] = plan_sends(one_step_plan(time(2, 15)), treated, rules, now=treated)
    assert to_local(send.send_at, zone).time() == time(2, 45)


def test_ambiguous_local_time_uses_first_occurrence() -> None:
    # 01:30 happens twice in Edmonton on 2026-11-01; the first one is MDT (UTC-6).
    rules = SendRules(EDMONTON, **NO_QUIET_HOURS)
    treated = datetime(2026, 10, 31, 12, tzinfo=EDMONTON)
    [send] = plan_sends(one_step_plan(time(1, 30)), treated, rules, now=treated)
    assert send.send_at == utc(2026, 11, 1, 7, 30)


def test_naive_treated_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_sends(one_step_plan(), datetime(2026, 3, 7, 14), SendRules(PARIS), utc(2026, 3, 7))


def test_steps_that_collide_after_quiet_hours_are_a_plan_error() -> None:
    plan = Plan(
        "clash",
        "Clash",
        (Step("late", 1, time(23), None, "info"), Step("early", 2, time(7), None, "info")),
    )
    with pytest.raises(PlanError, match="'early' would not go out after 'late'"):
        plan_sends(plan, utc(2026, 6, 1, 12), SendRules(PARIS), now=utc(2026, 6, 1, 12))


# --- late enrollment ---------------------------------------------------------------


def test_late_step_still_useful_is_sent_now() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    now = datetime(2026, 6, 2, 14, 5, tzinfo=PARIS)  # day 1 was due at 10:00
    sends = plan_sends(three_step_plan(), treated, SendRules(PARIS), now=now)
    assert (sends[0].send_at, sends[0].expired) == (now.astimezone(UTC), False)
    assert sends[1].send_at == datetime(2026, 6, 4, 10, tzinfo=PARIS)


def test_late_step_waits_for_quiet_hours_to_end() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    now = datetime(2026, 6, 2, 23, 0, tzinfo=PARIS)
    sends = plan_sends(three_step_plan(), treated, SendRules(PARIS), now=now)
    assert sends[0].send_at == datetime(2026, 6, 3, 8, tzinfo=PARIS)
    assert not sends[0].expired


def test_step_past_the_next_steps_time_is_expired() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    now = datetime(2026, 6, 4, 12, tzinfo=PARIS)  # day 3's 10:00 has passed too
    sends = plan_sends(three_step_plan(), treated, SendRules(PARIS), now=now)
    assert [(s.step, s.expired) for s in sends] == [
        ("day1", True),
        ("day3", False),
        ("day7", False),
    ]
    assert sends[0].send_at == datetime(2026, 6, 2, 10, tzinfo=PARIS)  # as planned
    assert sends[1].send_at == now.astimezone(UTC)


def test_useful_hours_shortens_the_window() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    now = datetime(2026, 6, 2, 17, tzinfo=PARIS)  # 7 hours late, useful for 6
    sends = plan_sends(three_step_plan(useful_hours=6), treated, SendRules(PARIS), now=now)
    assert sends[0].expired
    assert sends[0].expires_at == datetime(2026, 6, 2, 16, tzinfo=PARIS)


def test_useful_hours_never_outlives_the_next_step() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    sends = plan_sends(three_step_plan(useful_hours=500), treated, SendRules(PARIS), treated)
    assert sends[0].expires_at == sends[1].send_at


def test_last_step_stays_useful_for_48_hours() -> None:
    treated = datetime(2026, 6, 1, 15, tzinfo=PARIS)
    now = datetime(2026, 6, 9, 9, tzinfo=PARIS)  # day 7 was 2026-06-08 10:00
    last = plan_sends(three_step_plan(), treated, SendRules(PARIS), now=now)[-1]
    assert (last.send_at, last.expired) == (datetime(2026, 6, 9, 9, tzinfo=PARIS), False)


# --- next_allowed_time -------------------------------------------------------------


def test_outside_quiet_hours_is_unchanged() -> None:
    instant = datetime(2026, 6, 1, 12, tzinfo=PARIS).astimezone(UTC)
    assert next_allowed_time(instant, SendRules(PARIS)) == instant


def test_quiet_hours_boundaries_are_start_inclusive_end_exclusive() -> None:
    rules = SendRules(PARIS)
    at_start = datetime(2026, 6, 1, 21, tzinfo=PARIS)
    at_end = datetime(2026, 6, 1, 8, tzinfo=PARIS)
    assert next_allowed_time(at_start, rules) == datetime(2026, 6, 2, 8, tzinfo=PARIS)
    assert next_allowed_time(at_end, rules) == at_end


def test_quiet_window_that_does_not_wrap_midnight() -> None:
    rules = SendRules(PARIS, quiet_start=time(12), quiet_end=time(14))
    lunch = datetime(2026, 6, 1, 13, tzinfo=PARIS)
    assert next_allowed_time(lunch, rules) == datetime(2026, 6, 1, 14, tzinfo=PARIS)


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    night = datetime(2026, 6, 1, 3, tzinfo=PARIS)
    assert next_allowed_time(night, SendRules(PARIS, **NO_QUIET_HOURS)) == night


def test_next_allowed_time_returns_utc() -> None:
    result = next_allowed_time(datetime(2026, 6, 1, 23, tzinfo=PARIS), SendRules(PARIS))
    assert result.tzinfo is UTC


# --- properties --------------------------------------------------------------------

ZONES = [
    "America/Edmonton",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Europe/Paris",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "UTC",
]


def _transitions(zone_name: str) -> list[datetime]:
    """UTC instants near which `zone_name` changed its offset in 2025-2027."""
    zone = ZoneInfo(zone_name)
    found, instant = [], utc(2025, 1, 1)
    previous = instant.astimezone(zone).utcoffset()
    while instant < utc(2028, 1, 1):
        instant += timedelta(minutes=30)
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(instant)
            previous = offset
    return found or [utc(2026, 3, 8)]


TRANSITIONS = {name: _transitions(name) for name in ZONES}
minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Plan, datetime, SendRules, datetime]:
    zone_name = draw(st.sampled_from(ZONES))
    # Treatments from 9 days before to 2 days after a DST change reach it with every step.
    anchor = draw(st.sampled_from(TRANSITIONS[zone_name]))
    treated = anchor + timedelta(minutes=draw(st.integers(-9 * 24 * 60, 2 * 24 * 60)))
    rules = SendRules(
        ZoneInfo(zone_name),
        default_send_time=draw(minute_times),
        quiet_start=draw(minute_times),
        quiet_end=draw(minute_times),
    )
    days = sorted(draw(st.sets(st.integers(1, 14), min_size=1, max_size=4)))
    plan = Plan("prop", "Prop", tuple(Step(f"day{d}", d, None, None, "info") for d in days))
    now = treated + timedelta(minutes=draw(st.integers(-2 * 24 * 60, 16 * 24 * 60)))
    return plan, treated, rules, now


def _quiet(local: datetime, rules: SendRules) -> bool:
    wall, start, end = local.time(), rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    return start <= wall < end if start < end else (wall >= start or wall < end)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_sends_respect_quiet_hours_order_and_expiry(
    scenario: tuple[Plan, datetime, SendRules, datetime],
) -> None:
    plan, treated, rules, now = scenario
    sends = plan_sends(plan, treated, rules, now)
    assert [s.step for s in sends] == [s.name for s in plan.steps]
    for send in sends:
        assert send.send_at.utcoffset() == timedelta(0)
        assert not _quiet(to_local(send.send_at, rules.tz), rules)
        assert send.expires_at > send.send_at
        if not send.expired:
            assert send.send_at >= now
        else:
            assert next_allowed_time(now, rules) >= send.expires_at
    assert all(a.send_at < b.send_at for a, b in pairwise(sends))


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_sends_land_on_the_right_local_day(
    scenario: tuple[Plan, datetime, SendRules, datetime],
) -> None:
    plan, treated, rules, _ = scenario
    # `now` at treatment time: nothing is late, so every send is the planned one.
    sends = plan_sends(plan, treated, rules, now=treated)
    treated_on = to_local(treated, rules.tz).date()
    wraps = rules.quiet_start > rules.quiet_end
    for step, send in zip(plan.steps, sends, strict=True):
        local = to_local(send.send_at, rules.tz)
        target = treated_on + timedelta(days=step.day)
        # Pushed out of a window that wraps midnight means the next morning.
        assert local.date() == target or (wraps and local.date() == target + timedelta(days=1))
        planned = datetime.combine(target, rules.default_send_time, tzinfo=rules.tz)
        exists = planned.astimezone(UTC).astimezone(rules.tz).replace(tzinfo=None) == (
            planned.replace(tzinfo=None)
        )
        if exists and not _quiet(planned, rules):
            assert local.replace(tzinfo=None) == planned.replace(tzinfo=None)


@st.composite
def instants_near_transitions(draw: st.DrawFn) -> tuple[str, datetime]:
    zone_name = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(TRANSITIONS[zone_name]))
    return zone_name, anchor + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))


def _exists(local_date: date, wall: time, zone: ZoneInfo) -> bool:
    naive = datetime.combine(local_date, wall)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@settings(max_examples=600, deadline=None)
@given(instants_near_transitions(), minute_times, minute_times)
def test_next_allowed_time_is_the_first_allowed_instant(
    zone_and_instant: tuple[str, datetime], quiet_start: time, quiet_end: time
) -> None:
    zone_name, instant = zone_and_instant
    rules = SendRules(ZoneInfo(zone_name), quiet_start=quiet_start, quiet_end=quiet_end)
    result = next_allowed_time(instant, rules)
    local = to_local(result, rules.tz)
    assert result >= instant
    assert not _quiet(local, rules)
    if not _quiet(to_local(instant, rules.tz), rules):
        assert result == instant
    elif _exists(local.date(), quiet_end, rules.tz):
        assert local.time() == quiet_end
    else:
        # The end of quiet hours fell in a spring-forward gap: same offset past the gap.
        assert local.time() > quiet_end


def test_quiet_hours_ending_inside_the_repeated_hour_end_at_the_second_occurrence() -> None:
    # Found by the property test: 01:00 MST on 2025-11-02 is the second 01:00 of the night;
    # the first 01:01 (MDT) is already past, so quiet hours end at the second 01:01.
    rules = SendRules(tz=ZoneInfo("America/Edmonton"), quiet_start=time(0), quiet_end=time(1, 1))
    instant = datetime(2025, 11, 2, 8, 0, tzinfo=UTC)  # 01:00 MST, fold=1
    assert next_allowed_time(instant, rules) == datetime(2025, 11, 2, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "allowed"),
    [
        (time(7, 59), datetime(2026, 6, 2, 8, 0)),  # quiet until 08:00
        (time(8, 0), datetime(2026, 6, 2, 8, 0)),  # quiet hours end at 08:00: allowed
        (time(20, 59), datetime(2026, 6, 2, 20, 59)),
        (time(21, 0), datetime(2026, 6, 3, 8, 0)),  # they start at 21:00: next morning
    ],
)
def test_quiet_hours_run_from_21_00_up_to_08_00(local: time, allowed: datetime) -> None:
    """README: a send time is moved forward out of quiet hours (default 21:00-08:00)."""
    instant = datetime.combine(date(2026, 6, 2), local, tzinfo=EDMONTON)
    moved = next_allowed_time(instant, SendRules(EDMONTON))
    assert moved == allowed.replace(tzinfo=EDMONTON)


def test_quiet_hours_within_one_day_end_at_their_end() -> None:
    rules = SendRules(EDMONTON, quiet_start=time(12), quiet_end=time(13))
    at = datetime(2026, 6, 2, 12, 30, tzinfo=EDMONTON)
    assert next_allowed_time(at, rules) == datetime(2026, 6, 2, 13, 0, tzinfo=EDMONTON)
    ends = datetime(2026, 6, 2, 13, 0, tzinfo=EDMONTON)
    assert next_allowed_time(ends, rules) == ends
