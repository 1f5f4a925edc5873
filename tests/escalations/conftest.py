"""Fixtures the escalation tests share: one transaction, a clinic with an enrolled patient
(tests.replies.support.make_world) and a nurse of that clinic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.models import StaffUser
from tests.factories import make_staff
from tests.replies.support import World, load, make_world


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session, session.begin():
        yield session


@pytest.fixture
def world(session: Session, clock: FixedClock) -> World:
    return make_world(session, clock)


@pytest.fixture
def nurse(session: Session, world: World) -> StaffUser:
    clinic, _, _ = load(session, world)
    return make_staff(session, clinic)
