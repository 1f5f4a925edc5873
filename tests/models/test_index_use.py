"""Each index of `scheduled_message` serves the query its comment names, on both databases.

The queries are the real ones: each test runs the function, captures the SQL it sent with
its parameters, and asks the database for that statement's plan. PostgreSQL plans with
sequential scans disabled, so a plan shows the index whenever the index can serve the
query at all (the tables are nearly empty); SQLite, with no statistics, prefers any index
that applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.delivery.claim import claim_batch
from followup.delivery.housekeeping import expire_overdue
from followup.delivery.recovery import recover_stale_claims
from followup.delivery.status import apply_provider_status
from followup.escalations.worklists import messages_needing_person, messages_today
from followup.models import Clinic, ScheduledMessage
from tests.delivery.support import make_dispatcher
from tests.factories import make_clinic

Captured = list[tuple[str, Any]]


@contextmanager
def _captured(engine: Engine) -> Iterator[Captured]:
    """The statements (and their parameters, as sent to the driver) that read the outbox."""
    statements: Captured = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM scheduled_message" in statement and not statement.startswith("EXPLAIN"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = "\n".join(str(row[-1]) for row in rows)
        conn.rollback()
    return plan


def _plans_of(engine: Engine, action: Callable[[], object]) -> list[str]:
    with _captured(engine) as statements:
        action()
    assert statements, "the action read no scheduled_message"
    return [_plan(engine, statement, parameters) for statement, parameters in statements]


def _uses(plans: list[str], index: str) -> bool:
    return any(index in plan for plan in plans)


@pytest.fixture
def clinic_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        return make_clinic(session).id


def test_the_claim_reads_the_claimable_index_in_due_order(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    def claim() -> None:
        with session_factory.begin() as session:
            claim_batch(session, owner="w", now=clock.now(), limit=200, lease_seconds=60)

    plans = _plans_of(engine, claim)
    assert _uses(plans, "ix_scheduled_message_claimable"), plans
    # In due order from the index: no sort of every due row before the LIMIT.
    assert not any("Sort" in plan or "TEMP B-TREE" in plan for plan in plans), plans


# Generic plans are PostgreSQL's: this one runs there only (and fails, not skips, in CI).
@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_claim_uses_the_partial_index_in_a_generic_plan_too(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, backend: str
) -> None:
    """A prepared statement run often gets a generic plan, made without its parameters' values:
    the statuses must be literals for PostgreSQL to prove the index's predicate."""

    def claim() -> None:
        with session_factory.begin() as session:
            claim_batch(session, owner="w", now=clock.now(), limit=200, lease_seconds=60)

    with _captured(engine) as statements:
        claim()
    ((statement, parameters),) = statements
    assert "ix_scheduled_message_claimable" in _generic_plan(engine, statement, parameters)

    # The guard's guard: the same statement with the statuses as parameters cannot use it.
    bound = statement.replace("status IN ('scheduled', 'retry')", "status IN (%(s1)s, %(s2)s)")
    assert bound != statement
    as_parameters = {**parameters, "s1": "scheduled", "s2": "retry"}
    assert "ix_scheduled_message_claimable" not in _generic_plan(engine, bound, as_parameters)


def _generic_plan(engine: Engine, statement: str, parameters: dict[str, Any]) -> str:
    """EXPLAIN the statement PREPAREd with its parameters as $n, as a generic plan."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", number, statement)
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(sql.SQL("PREPARE claim_q AS ") + sql.SQL(prepared))  # type: ignore[arg-type]
            values = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
            cursor.execute(sql.SQL("EXPLAIN EXECUTE claim_q(") + values + sql.SQL(")"))
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("DEALLOCATE claim_q")
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("RESET enable_seqscan")
        conn.rollback()
    return plan


def test_recovery_reads_the_in_flight_index(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    templates_dir: Path,
) -> None:
    dispatcher = make_dispatcher(session_factory, clock, templates_dir)
    try:
        plans = _plans_of(engine, lambda: recover_stale_claims(dispatcher))
    finally:
        dispatcher.close()
    assert _uses(plans, "ix_scheduled_message_in_flight"), plans


def test_going_out_today_reads_the_clinic_pending_index(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, clinic_id: int
) -> None:
    def today() -> None:
        with session_factory() as session:
            clinic = session.get_one(Clinic, clinic_id)
            messages_today(session, clinic, clock.now())

    assert _uses(_plans_of(engine, today), "ix_scheduled_message_clinic_pending")


def test_needs_a_person_reads_its_own_small_index(
    engine: Engine, session_factory: sessionmaker[Session], clinic_id: int
) -> None:
    def needing() -> None:
        with session_factory() as session:
            messages_needing_person(session, session.get_one(Clinic, clinic_id))

    assert _uses(_plans_of(engine, needing), "ix_scheduled_message_needs_person")


def test_expiry_of_waiting_messages_reads_the_pending_index(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    def expire() -> None:
        with session_factory.begin() as session:
            expire_overdue(session, now=clock.now() + timedelta(days=1), actor="w")

    assert _uses(_plans_of(engine, expire), "ix_scheduled_message_clinic_pending")


def test_a_delivery_report_finds_its_message_by_provider_id(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    def report() -> None:
        with session_factory.begin() as session:
            apply_provider_status(session, "SM123", "delivered", error_code=None, now=clock.now())

    assert _uses(_plans_of(engine, report), "ix_scheduled_message_provider_id")


def test_an_escalations_messages_are_found_by_escalation_id(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    def alerts() -> None:
        with session_factory() as session:
            session.scalars(select(ScheduledMessage).where(ScheduledMessage.escalation_id == 7))

    assert _uses(_plans_of(engine, alerts), "ix_scheduled_message_escalation_id")
