"""The rules every way in shares (enrollment.validation): pure, so checked without a
database, one behaviour at a time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from followup.enrollment.validation import (
    MAX_LENGTHS,
    EnrollmentInput,
    InvalidEnrollment,
    Plans,
    ValidEnrollment,
    check_enrollment,
    printable,
)
from followup.models import Clinic, Language, Patient, Treatment
from tests.factories import TEMPLATES_DIR

NOW = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)  # 14:00 in Edmonton
EDMONTON = ZoneInfo("America/Edmonton")
CLINIC = Clinic(
    id=1,
    name="Bow River",
    timezone="America/Edmonton",
    country="CA",
    default_send_time=time(10),
    quiet_start=time(21),
    quiet_end=time(8),
)


def _check(**fields: object) -> ValidEnrollment:
    values: dict[str, object] = {
        "first_name": "Maya",
        "phone": "403 555 0101",
        "treatment": "microneedling",
        "treated_at": "2026-03-06 15:00",
    }
    values.update(fields)
    return check_enrollment(EnrollmentInput(**values), CLINIC, Plans(TEMPLATES_DIR), now=NOW)  # type: ignore[arg-type]


def _refused(**fields: object) -> dict[str, str]:
    with pytest.raises(InvalidEnrollment) as caught:
        _check(**fields)
    return caught.value.by_field()


def test_a_good_input_comes_back_cleaned_with_its_schedule() -> None:
    valid = _check(first_name="  Zoe\u0301 ", channel="SMS", language="FR", email=" ")
    assert valid.request.first_name == "Zoé"  # trimmed, composed (NFC)
    assert valid.phone == "+14035550101"
    assert valid.email is None
    assert (valid.request.channel.value, valid.request.language.value) == ("sms", "fr")
    assert valid.request.treated_at == datetime(2026, 3, 6, 15, 0, tzinfo=EDMONTON)
    assert [send.step for send in valid.sends] == ["day1", "day3", "day7"]


def test_every_bad_field_is_named_at_once_in_the_order_of_the_form() -> None:
    with pytest.raises(InvalidEnrollment) as caught:
        _check(first_name="", phone="12", channel="fax", treatment="tattoo", treated_at="soon")
    assert [e.field for e in caught.value.errors] == [
        "first_name", "phone", "channel", "treatment", "treated_at",
    ]  # fmt: skip
    assert caught.value.field == "first_name"


@pytest.mark.parametrize(
    "character",
    [
        "\x00",
        "\x07",
        "\x1b",
        "\t",
        "\n",
        "\x7f",
        "\x85",
        "\u200b",
        "\u2028",
        "\u202e",
        "\u2066",
        "\ufeff",
    ],
)
@pytest.mark.parametrize("field", ["first_name", "last_name", "practitioner", "consent_method"])
def test_text_with_a_control_character_is_refused(field: str, character: str) -> None:
    errors = _refused(**{field: f"Ma{character}ya"})
    assert f"U+{ord(character):04X}" in errors[field]


def test_lengths_are_those_of_the_columns() -> None:
    assert MAX_LENGTHS["first_name"] == Patient.__table__.c.first_name.type.length
    assert MAX_LENGTHS["practitioner"] == Treatment.__table__.c.practitioner.type.length
    assert _check(first_name="M" * MAX_LENGTHS["first_name"])
    assert "at most 100" in _refused(first_name="M" * 101)["first_name"]
    assert "at most 100" in _refused(first_name="M" * 140_000)["first_name"]


@pytest.mark.parametrize(
    ("treated_at", "message"),
    [
        ("0001-01-01", "must be between 2000-01-01 and now"),
        ("0001-01-01T00:00-07:00", "must be between 2000-01-01 and now"),
        ("0001-01-01T00:00+14:00", "must be between 2000-01-01 and now"),
        ("1999-12-31T23:59", "must be between 2000-01-01 and now"),
        ("2000-01-01T05:00+14:00", "must be between 2000-01-01 and now"),  # 1999 in UTC
        (datetime(1, 1, 1, tzinfo=UTC), "must be between 2000-01-01 and now"),
        ("9999-12-31T23:59+14:00", "treatment time is in the future"),
        (datetime(9999, 12, 31), "treatment time is in the future"),
    ],
)
def test_a_time_outside_2000_to_now_is_refused_without_overflowing(
    treated_at: object, message: str
) -> None:
    assert _refused(treated_at=treated_at)["treated_at"] == message


def test_a_time_in_the_future_is_refused_beyond_the_clocks_tolerance() -> None:
    assert _check(treated_at=NOW + timedelta(minutes=4))
    assert "future" in _refused(treated_at=NOW + timedelta(minutes=6))["treated_at"]
    assert _check(treated_at="2026-03-07")  # a date alone: the start of that day


@pytest.mark.parametrize("treated_at", ["2026-03-06T10:00+14:01", "2026-03-06T10:00-23:00"])
def test_an_offset_no_place_has_is_refused(treated_at: str) -> None:
    assert "offset" in _refused(treated_at=treated_at)["treated_at"]


def test_a_time_without_offset_is_read_in_the_rows_zone_else_the_clinics() -> None:
    assert _check(treated_at="2026-03-06 15:00").request.treated_at.utcoffset() == timedelta(
        hours=-7
    )
    eastern = _check(treated_at="2026-03-06 15:00", timezone="America/Toronto")
    assert eastern.request.treated_at.utcoffset() == timedelta(hours=-5)
    assert (
        "disagrees" in _refused(treated_at="2026-03-06T15:00-05:00", timezone="-07:00")["timezone"]
    )


def test_every_language_of_the_enum_is_accepted() -> None:
    for language in Language:
        assert _check(language=language.value).request.language is language


def test_email_is_needed_to_send_by_email() -> None:
    assert "needed" in _refused(channel="both")["email"]
    assert "not a valid email" in _refused(channel="email", email="maya@")["email"]


def test_consent_must_be_given() -> None:
    assert "agree" in _refused(consent_given=False)["consent"]


def test_a_treatment_name_is_never_a_path() -> None:
    assert "no plan" in _refused(treatment="../microneedling")["treatment"]


def test_a_long_value_in_a_message_is_cut_short_and_shown_with_its_controls() -> None:
    message = _refused(treatment="x" * 60)["treatment"]
    assert len(message) < 200
    assert printable("Ma\x00ya\u202e" + "y" * 100).startswith("Ma\ufffdya\ufffd")
