"""Whatever a booking system or a person types, every way in answers it without a server
error and writes all or nothing: random rows (NULs and other control characters, huge and
odd Unicode strings, dates from year 1 to 9999 with any offset, unknown zones, channels,
languages and treatments) go to the enroll form (preview, then confirm), to the CSV import
(check, then import) and to the API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from followup.admin.api_tokens import create_token
from followup.core.clock import FixedClock
from followup.models import Patient, ScheduledMessage, Treatment
from tests.factories import STAFF_PASSWORD, TEMPLATES_DIR, make_clinic, make_staff
from tests.web.uploads import upload
from tests.webapp import csrf_from, make_client, preview_digest, sign_in

COLUMNS = (
    "first_name", "last_name", "phone", "email", "channel", "language", "treatment",
    "treated_at", "timezone", "practitioner", "consent",
)  # fmt: skip
_CAN_BE_IMPORTED = re.compile(r"<strong>(\d+)</strong> can be imported")
_IMPORTED = re.compile(r"<strong>(\d+)</strong> imported")

# Text a person could not mean: controls, line breaks, bidi overrides, a byte-order mark.
ODD = ["\x00", "\x1b[2J", "\r\n", "\t", "\u202e", "\u2028", "\ufeff", "\u0301", "\U0001f600"]
HUGE = ["x" * 101, "é" * 5_000, "y" * 140_000]
text = st.text(max_size=20)
weird = st.one_of(
    text,
    st.sampled_from(ODD + HUGE),
    st.builds(lambda a, b, c: a + b + c, text, st.sampled_from(ODD), text),
)
offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
ODD_TIMES = [
    "2026-03-06 15:00", "2026-03-07", "0001-01-01", "0001-01-01T00:00-07:00",
    "0001-01-01T00:00+14:00", "9999-12-31T23:59+14:00", "1999-12-31T23:59-12:00", "2026-02-30",
    "2026-03-06T25:00", "2026-03-06T10:00+23:00", "", "yesterday",
]  # fmt: skip
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | offsets
).map(lambda value: value.isoformat(sep=" " if value.microsecond % 2 else "T"))
# Good values of each field, and anything at all.
GOOD = {
    "first_name": st.sampled_from(["Maya", "Zoë", "Ana", "  Lea "]),
    "last_name": st.sampled_from(["", "Rossi", "N'Diaye"]),
    "phone": st.integers(0, 9999).map(lambda n: f"+1 780 555 {n:04d}"),
    "email": st.sampled_from(["", "maya@example.com"]),
    "channel": st.sampled_from(["sms", "SMS"]),
    "language": st.sampled_from(["en", "fr", "EN"]),
    "treatment": st.sampled_from(["microneedling", "chemical-peel"]),
    "treated_at": st.sampled_from(
        ["2026-03-06 15:00", "2026-03-07", "2026-03-05T08:30-07:00", "2026-03-06T22:00:00Z"]
    ),
    "timezone": st.sampled_from(["", "America/Edmonton"]),
    "practitioner": st.sampled_from(["", "Dr Chen", '=HYPERLINK("x")']),
    "consent": st.sampled_from(["", "in_clinic", "phone"]),
}
ANY = {
    "first_name": weird,
    "last_name": weird,
    "phone": st.sampled_from(["12", "403 555 01\x0001", "+999 1"]) | weird,
    "email": st.sampled_from(["a@b", "x" * 300 + "@example.com"]) | weird,
    "channel": st.sampled_from(["email", "both", "fax"]) | weird,
    "language": weird,
    "treatment": st.sampled_from(["../etc", ""]) | weird,
    "treated_at": st.sampled_from(ODD_TIMES) | instants | weird,
    "timezone": st.sampled_from(["-07:00", "+25:00", "UTC+14", "../../etc", "Mars/Base"]) | weird,
    "practitioner": weird,
    "consent": weird,
}
good_rows = st.fixed_dictionaries(GOOD)
WITH_OFFSET = {
    "2026-03-06 15:00": "2026-03-06T15:00:00-07:00",
    "2026-03-07": "2026-03-07T00:00-07:00",
}
# A good row with one field of anything (most refusals name exactly one field), or a row
# of anything in every field.
one_bad_field = st.sampled_from(sorted(ANY)).flatmap(
    lambda name: st.tuples(st.just(name), ANY[name])
)
rows = st.one_of(
    good_rows,
    st.tuples(good_rows, one_bad_field).map(lambda drawn: drawn[0] | dict([drawn[1]])),
    st.fixed_dictionaries({name: GOOD[name] | ANY[name] for name in GOOD}),
)


@dataclass
class Ways:
    client: TestClient
    sessions: sessionmaker[Session]
    token: str

    def counts(self) -> tuple[int, int, int]:
        with self.sessions() as session:
            return (
                session.scalar(select(func.count(Patient.id))) or 0,
                session.scalar(select(func.count(Treatment.id))) or 0,
                session.scalar(select(func.count(ScheduledMessage.id))) or 0,
            )


@pytest.fixture
def ways(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> Ways:
    with session_factory.begin() as session:
        clinic = make_clinic(session)
        make_staff(session, clinic, "nurse@example.com")
        token = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
    client = make_client(
        engine, session_factory, clock, tmp_path, templates_dir=TEMPLATES_DIR,
        api_rate_limit_per_minute=1e6, api_rate_limit_burst=1_000_000,
    )  # fmt: skip
    sign_in(client, "nurse@example.com", STAFF_PASSWORD)
    return Ways(client, session_factory, token.secret)


@given(row=rows)
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one database for all examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
def test_no_way_in_fails_or_half_writes_whatever_it_is_given(
    ways: Ways, row: dict[str, str]
) -> None:
    _through_the_form(ways, row)
    _through_a_csv_file(ways, row)
    _through_the_api(ways, row)


def _through_the_form(ways: Ways, row: dict[str, str]) -> None:
    before = ways.counts()
    form = {name: row[name] for name in COLUMNS if name not in ("timezone", "consent")}
    token = csrf_from(ways.client.get("/enroll").text)
    preview = ways.client.post("/enroll", data={"csrf_token": token, **form, "consent": "yes"})
    assert preview.status_code in (200, 413, 422), preview.text[:500]
    if preview.status_code == 413:  # a form over the dashboard's body cap: refused unread
        assert "Request bodies here are limited to" in preview.text
        assert ways.counts() == before
        return
    if preview.status_code == 422:
        assert 'class="error" id="err-' in preview.text
        assert ways.counts() == before
        return
    assert 'data-testid="schedule-preview"' in preview.text
    confirm = {"step": "confirm", "preview_digest": preview_digest(preview.text)}
    done = ways.client.post(
        "/enroll",
        data={"csrf_token": token, **form, "consent": "yes", **confirm},
        follow_redirects=False,
    )
    assert done.status_code in (303, 409), done.text[:500]
    _wrote_one_enrollment_or_nothing(ways, before, wrote=done.status_code == 303)


def _through_a_csv_file(ways: Ways, row: dict[str, str]) -> None:
    row = _on_its_own_number(row, "+1 587")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([row[name] for name in COLUMNS])
    before = ways.counts()
    checked = upload(ways.client, out.getvalue(), mode="check")
    assert checked.status_code == 200, checked.text[:500]
    assert ways.counts() == before
    imported = upload(ways.client, out.getvalue(), mode="import")
    assert imported.status_code == 200, imported.text[:500]
    if 'data-stage="failed"' in imported.text:  # the file itself could not be read
        assert "The file can&#39;t be imported" in imported.text
        assert ways.counts() == before
        return
    would = _CAN_BE_IMPORTED.search(checked.text)
    did = _IMPORTED.search(imported.text)
    assert would is not None
    assert did is not None
    assert did.group(1) == would.group(1)  # nothing else enrolled this patient meanwhile
    _wrote_one_enrollment_or_nothing(ways, before, wrote=did.group(1) == "1")


def _through_the_api(ways: Ways, row: dict[str, str]) -> None:
    row = _on_its_own_number(row, "+1 403")
    body: dict[str, str | None] = {
        name: row[name] for name in COLUMNS if name not in ("timezone", "consent")
    }
    # As a booking system sends it: enum values in lower case, times with their offset.
    body["channel"], body["language"] = row["channel"].lower(), row["language"].lower()
    body["treated_at"] = WITH_OFFSET.get(row["treated_at"], row["treated_at"])
    body["consent_method"] = row["consent"] or "in_clinic"  # the API's own default
    before = ways.counts()
    response = ways.client.post(
        "/api/v1/enrollments", json=body, headers={"Authorization": f"Bearer {ways.token}"}
    )
    assert response.status_code in (201, 409, 422), response.text[:500]
    if response.status_code != 201:
        assert response.headers["content-type"] == "application/problem+json"
    _wrote_one_enrollment_or_nothing(ways, before, wrote=response.status_code == 201)


def _on_its_own_number(row: dict[str, str], area: str) -> dict[str, str]:
    """A good number moved to another area code, so each way in enrolls its own patient
    rather than refuse the one the form enrolled as a duplicate."""
    return row | {"phone": row["phone"].replace("+1 780", area)}


def _wrote_one_enrollment_or_nothing(
    ways: Ways, before: tuple[int, int, int], *, wrote: bool
) -> None:
    patients, treatments, messages = ways.counts()
    if not wrote:
        assert (patients, treatments, messages) == before
        return
    assert patients - before[0] in (0, 1)  # a returning patient gets a treatment only
    assert treatments == before[1] + 1
    assert messages - before[2] in (3, 6)  # three steps, by SMS or email or both
