"""No N+1: each dashboard page runs the same small number of SQL statements whether the
clinic has a few rows or many (counted with SQLAlchemy's before_cursor_execute)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.outbox import transition
from followup.escalations.lifecycle import add_note
from followup.models import Clinic, EscalationPriority, MessageStatus, Patient, StaffUser
from tests.factories import STAFF_PASSWORD, make_enrollment
from tests.web_fixtures import make_clinic_rows, make_escalation, make_reply, make_unknown_text
from tests.webapp import make_client, sign_in

# A page may use this many statements at most (session, staff, clinic, the lists, audit).
MAX_STATEMENTS = 14


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _grow(
    session: Session,
    clinic: Clinic,
    staff: StaffUser,
    measured: Patient,
    now: Any,
    start: int,
    count: int,
) -> None:
    """`count` more patients, each with messages, a reply, an escalation and a note; and a
    longer history for the patient whose page is measured."""
    for index in range(start, start + count):
        enrollment = make_enrollment(
            session, clinic, now=now, first_name=f"P{index}", phone=f"+1403555{2000 + index:04d}"
        )
        transition(session, enrollment.messages[-1], MessageStatus.FAILED, at=now)
        priority = list(EscalationPriority)[index % 3]
        escalation = make_escalation(session, clinic, enrollment.patient, now, priority)
        add_note(session, escalation, staff, f"note {index}", now)
        make_unknown_text(session, clinic, f"+1403555{4000 + index:04d}", f"hi {index}", now)
    for index in range(count):
        make_reply(session, measured, f"reply {index}", now + timedelta(minutes=index))
        escalation = make_escalation(session, clinic, measured, now, EscalationPriority.NORMAL)
        add_note(session, escalation, staff, f"history {index}", now)


PAGES = [
    "/today",
    "/escalations",
    "/escalations?priority=urgent&mine=1",
    "/escalations/rows",
    "/escalations/badge",
    "/patients",
    "/patients/{patient}",
    "/inbox/unknown",
    "/escalations/{escalation}",
    "/escalations/{escalation}/live",
    "/search?q=p",
    "/enroll",
    "/settings",
    "/audit",
]


def _measure(client: TestClient, engine: Engine, ids: dict[str, int]) -> dict[str, int]:
    counts = {}
    for page in PAGES:
        url = page.format(**ids)
        with counting(engine) as statements:
            response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        counts[page] = len(statements)
    return counts


@pytest.mark.slow
def test_statements_per_page_do_not_grow_with_rows(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    now = clock.now()
    with session_factory.begin() as session:
        rows = make_clinic_rows(
            session,
            now,
            name="Bow River Skin Clinic",
            sender="+14035550199",
            email="nurse@a.example",
            phone="+14035550101",
            first_name="Maya",
        )
        ids = {"patient": rows.patient.id, "escalation": rows.escalation.id}
        clinic, staff, patient = rows.clinic, rows.staff, rows.patient
    client = make_client(engine, session_factory, clock, tmp_path)
    sign_in(client, "nurse@a.example", STAFF_PASSWORD)
    small = _measure(client, engine, ids)
    with session_factory.begin() as session:
        _grow(
            session, session.merge(clinic), session.merge(staff), session.merge(patient), now, 0, 3
        )
    few = _measure(client, engine, ids)
    with session_factory.begin() as session:
        _grow(
            session, session.merge(clinic), session.merge(staff), session.merge(patient), now, 3, 25
        )
    many = _measure(client, engine, ids)
    assert few == many, {page: (few[page], many[page]) for page in PAGES}
    assert max(many.values()) <= MAX_STATEMENTS, many
    # The counter sees the app's statements (at the least: the session, the staff member
    # and the page's own query); counting nothing would make `few == many` true by itself.
    assert min(small.values()) >= 3, small
    # Rows only ever add to lists already read: an empty clinic needs no more statements.
    assert all(small[page] <= few[page] for page in PAGES), (small, few)
