"""PostgreSQL pool: a connection killed while idle in the pool is replaced on checkout,
without pinging connections that were in use moments ago (no round trip per request)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, event, func, select, text

import followup.core.db
from followup.core.db import make_engine
from followup.core.prepared import Prepared
from tests.conftest import DatabaseMaker, _postgres_admin_engine


@pytest.fixture
def pg_engine(postgres_available: bool, database_maker: DatabaseMaker) -> Iterator[Engine]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    engine = make_engine(database_maker.postgres(), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select pg_backend_pid()")).scalar_one())


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    return seen


def test_a_connection_killed_while_idle_is_replaced(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg_engine)
    admin = _postgres_admin_engine()
    with admin.connect() as conn:
        conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    monkeypatch.setattr(followup.core.db, "PING_AFTER_IDLE", 0.0)  # it has "idled" long enough

    assert _backend_pid(pg_engine) != pid  # no error: the dead connection was swapped


def test_a_connection_in_use_moments_ago_is_not_pinged(pg_engine: Engine) -> None:
    _backend_pid(pg_engine)
    seen = _statements(pg_engine)

    _backend_pid(pg_engine)

    assert seen == ["select pg_backend_pid()"]


def test_an_idle_connection_is_pinged(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _backend_pid(pg_engine)
    monkeypatch.setattr(followup.core.db, "PING_AFTER_IDLE", 0.0)
    pings = []
    real_ping = pg_engine.dialect.do_ping
    monkeypatch.setattr(
        pg_engine.dialect, "do_ping", lambda dbapi: pings.append(1) or real_ping(dbapi)
    )

    _backend_pid(pg_engine)

    assert pings == [1]


BACKEND_PID = Prepared(select(func.pg_backend_pid()))


def test_a_connection_killed_under_a_prepared_statement_is_not_given_out_again(
    pg_engine: Engine,
) -> None:
    """Prepared statements run on psycopg's cursor, outside SQLAlchemy's error handling:
    the pool must still throw away a connection the server closed."""
    with pg_engine.begin() as conn:
        pid = BACKEND_PID.scalar(conn, {})
    admin = _postgres_admin_engine()
    with admin.connect() as conn:
        conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()

    # Checked out moments after use, so not pinged: the statement meets the dead socket.
    def query_on_the_dead_connection() -> None:
        with pg_engine.begin() as conn:
            BACKEND_PID.scalar(conn, {})

    with pytest.raises((psycopg.OperationalError, sqlalchemy.exc.OperationalError)):
        query_on_the_dead_connection()

    with pg_engine.begin() as conn:  # pool_size=1: the only connection, replaced
        assert BACKEND_PID.scalar(conn, {}) != pid


def _connect_params(url: str) -> dict[str, object]:
    """What make_engine's engine hands the driver to connect (captured, not connected)."""
    engine = make_engine(url)
    seen: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def _capture(
        _dialect: object, _record: object, _cargs: object, cparams: dict[str, object]
    ) -> None:
        seen.update(cparams)
        raise ConnectionAbortedError

    with pytest.raises(ConnectionAbortedError):
        engine.connect()
    engine.dispose()
    return seen


def test_an_unreachable_server_is_given_up_on_in_seconds_not_minutes() -> None:
    params = _connect_params("postgresql://followup@db.invalid/followup")
    assert params["connect_timeout"] == 5  # README: "Connecting gives up after 5 s"
    chosen = _connect_params("postgresql://followup@db.invalid/followup?connect_timeout=2")
    assert chosen["connect_timeout"] == "2"
