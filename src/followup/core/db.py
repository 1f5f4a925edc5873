"""Engine and session factory. SQLite gets the pragmas a small concurrent service needs;
PostgreSQL URLs are pointed at the psycopg 3 driver.

Stale PostgreSQL connections (server restarted, idle connection cut by a firewall) are
caught before use, but only where they can occur: a connection is pinged on checkout when
it has sat idle in the pool for PING_AFTER_IDLE seconds or more, and a failed ping makes
the pool replace it (the caller never sees the dead one). `pool_pre_ping` would ping on
every checkout: a round trip per request, a sixth of a webhook's database time, for
connections that were in use milliseconds ago. A connection that dies while busy fails
that unit of work, as it would with pre-ping, and the pool then invalidates every older
connection; `pool_recycle` retires connections before typical server/proxy idle limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str | URL) -> URL:
    """`postgresql://` and `postgres://` mean psycopg 3; everything else is taken as given."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(parsed, **kwargs)
        _install_sqlite_pragmas(engine)
        return engine
    if "connect_timeout" not in parsed.query:
        # libpq waits for an unreachable server as long as TCP does (minutes); Twilio
        # waits 15 s for the webhook's answer, which must come in time to say it kept the
        # reply (inbound_spool).
        kwargs["connect_args"] = {
            "connect_timeout": CONNECT_TIMEOUT,
            **kwargs.get("connect_args", {}),
        }
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE)
    engine = create_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _install_idle_ping(engine)
    return engine


CONNECT_TIMEOUT = 5  # seconds, unless the URL says connect_timeout
PING_AFTER_IDLE = 2.0  # seconds a pooled connection may idle before it is pinged on checkout
POOL_RECYCLE = 1800  # seconds; below the usual 1 h idle cut of proxies and poolers
_CHECKED_IN_AT = "followup_checked_in_at"


def _install_idle_ping(engine: Engine) -> None:
    """Ping on checkout only a connection that has idled PING_AFTER_IDLE or longer."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # record.info lives as long as the DBAPI connection (cleared when it is replaced).
        record.info[_CHECKED_IN_AT] = monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or monotonic() - checked_in_at < PING_AFTER_IDLE:
            return  # just connected, or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling delays BEGIN and defeats write locking;
        # we issue BEGIN IMMEDIATE ourselves so two writers queue instead of deadlocking.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
