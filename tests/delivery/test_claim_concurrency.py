"""Two workers claiming at once on PostgreSQL: the second takes other rows at once rather
than waiting for the first one's claim (`FOR UPDATE SKIP LOCKED`). The first claim is held
open on purpose, so the overlap is forced, not hoped for; a claim that waits gives up after
`lock_timeout` and the test fails on an assertion in seconds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from followup.core.db import make_engine, make_session_factory
from followup.delivery.claim import claim_batch, claim_due
from followup.models import Base
from tests.conftest import NewDatabase
from tests.delivery.support import bulk_due_messages

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
Claimer = Callable[[Session, str], set[int]]


@pytest.fixture
def pg(postgres_available: bool, new_database: NewDatabase) -> Iterator[Engine]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    engine = make_engine(new_database("postgres"))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _batch(session: Session, owner: str) -> set[int]:
    rows, _ = claim_batch(session, owner=owner, now=NOW, limit=10, lease_seconds=60)
    return {row.id for row in rows}


def _orm(session: Session, owner: str) -> set[int]:
    claim = claim_due(session, owner=owner, now=NOW, limit=10, lease_seconds=60)
    return {message.id for message in claim.messages}


@pytest.mark.parametrize("claim", [_batch, _orm], ids=["claim_batch", "claim_due"])
def test_a_second_worker_claims_other_rows_without_waiting(pg: Engine, claim: Claimer) -> None:
    bulk_due_messages(pg, 25, due_at=NOW - timedelta(minutes=1))
    sessions = make_session_factory(pg)
    with sessions() as first, sessions() as second:
        mine = claim(first, "worker-1")  # its row locks held: not committed yet
        second.execute(text("SET LOCAL lock_timeout = '5s'"))
        try:
            theirs = claim(second, "worker-2")
        except OperationalError as error:
            pytest.fail(f"the second claim waited for the first one's locks: {error}")
        second.commit()
        first.commit()
    assert len(mine) == len(theirs) == 10
    assert mine.isdisjoint(theirs)
