"""API tokens: shown once, stored as a hash, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.admin.api_tokens import (
    TokenError,
    create_token,
    find_token,
    hash_token,
    revoke_token,
    verify_token,
)
from followup.core.clock import FixedClock
from followup.models import ApiToken
from tests.factories import make_clinic


def test_only_the_hash_is_stored_and_the_secret_verifies(
    session: Session, clock: FixedClock
) -> None:
    with session.begin():
        clinic = make_clinic(session)
        issued = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
    stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(issued.secret)
    assert issued.secret not in {stored.token_hash, stored.prefix, stored.name}
    assert issued.secret.startswith(stored.prefix + "_")
    assert verify_token(session, issued.secret, now=clock.now()) is stored
    assert stored.last_used_at == clock.now()


def test_wrong_and_revoked_tokens_do_not_verify(session: Session, clock: FixedClock) -> None:
    with session.begin():
        clinic = make_clinic(session)
        issued = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
    assert verify_token(session, issued.secret + "x", now=clock.now()) is None
    assert verify_token(session, "not-a-token", now=clock.now()) is None
    session.rollback()
    with session.begin():
        token = find_token(session, clinic, issued.token.prefix)
        assert revoke_token(session, token, now=clock.now(), actor="test")
        assert not revoke_token(session, token, now=clock.now(), actor="test")
    assert verify_token(session, issued.secret, now=clock.now()) is None


def test_last_used_is_written_at_most_once_a_minute(session: Session, clock: FixedClock) -> None:
    with session.begin():
        clinic = make_clinic(session)
        issued = create_token(session, clinic, name="booking", now=clock.now(), actor="test")
    first = clock.now()
    verify_token(session, issued.secret, now=first)
    token = verify_token(session, issued.secret, now=clock.advance(timedelta(seconds=30)))
    assert token is not None
    assert token.last_used_at == first
    token = verify_token(session, issued.secret, now=clock.advance(timedelta(seconds=31)))
    assert token is not None
    assert token.last_used_at == clock.now()


def test_a_token_needs_a_name(session: Session, clock: FixedClock) -> None:
    clinic = make_clinic(session)
    with pytest.raises(TokenError):
        create_token(session, clinic, name="  ", now=clock.now(), actor="test")
