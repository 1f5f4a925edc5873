"""Shared fixtures: a real SQLite file and a real PostgreSQL database for every DB test.

Each test session gets its own PostgreSQL database (created in the server named by
FOLLOWUP_TEST_POSTGRES_URL), so parallel runs never see each other's rows. With
FOLLOWUP_REQUIRE_POSTGRES=1 (CI) an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from followup.core.clock import FixedClock
from followup.core.db import make_engine, make_session_factory, normalize_url
from followup.models import Base
from tests.factories import STAFF_PASSWORD
from tests.web_fixtures import ClinicRows, make_two_clinics
from tests.webapp import make_client, sign_in

POSTGRES_ADMIN_URL = os.environ.get(
    "FOLLOWUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("FOLLOWUP_REQUIRE_POSTGRES") == "1"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _postgres_admin_engine() -> Engine:
    return create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    engine = _postgres_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception as exc:  # any failure to connect means "no server here"
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required (FOLLOWUP_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        return False
    finally:
        engine.dispose()


class DatabaseMaker:
    """Creates empty databases on demand and drops them at the end of the session."""

    def __init__(self, tmp_dir: Path) -> None:
        self._tmp_dir = tmp_dir
        self._created: list[str] = []

    def sqlite(self) -> URL:
        return make_url(f"sqlite:///{self._tmp_dir / f'db-{uuid.uuid4().hex[:8]}.sqlite'}")

    def postgres(self) -> URL:
        name = f"followup_t_{uuid.uuid4().hex[:12]}"
        engine = _postgres_admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self._created.append(name)
        return normalize_url(POSTGRES_ADMIN_URL).set(database=name)

    def new(self, backend: str) -> URL:
        return self.sqlite() if backend == "sqlite" else self.postgres()

    def drop_all(self) -> None:
        if not self._created:
            return
        engine = _postgres_admin_engine()
        with engine.connect() as conn:
            for name in self._created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_maker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseMaker]:
    maker = DatabaseMaker(tmp_path_factory.mktemp("databases"))
    yield maker
    maker.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, postgres_available: bool) -> str:
    name: str = request.param
    if name == "postgres" and not postgres_available:
        pytest.skip("PostgreSQL is not reachable (set FOLLOWUP_REQUIRE_POSTGRES=1 to fail)")
    return name


@pytest.fixture(scope="session")
def _schema_engines(database_maker: DatabaseMaker) -> Iterator[dict[str, Engine]]:
    """One schema per backend per session; tests empty the tables after themselves."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def db_url(backend: str, database_maker: DatabaseMaker, _schema_engines: dict[str, Engine]) -> URL:
    engine = _schema_engines.get(backend)
    if engine is None:
        engine = make_engine(database_maker.new(backend))
        Base.metadata.create_all(engine)
        _schema_engines[backend] = engine
    return engine.url


@pytest.fixture
def engine(db_url: URL, backend: str, _schema_engines: dict[str, Engine]) -> Iterator[Engine]:
    engine = _schema_engines[backend]
    yield engine
    _empty_tables(engine)


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 7, 21, 0, tzinfo=UTC))


@pytest.fixture
def templates_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "templates" / "messages"


NewDatabase = Callable[[str], URL]


@pytest.fixture
def new_database(database_maker: DatabaseMaker) -> NewDatabase:
    """An empty database of the given backend ("sqlite" or "postgres"), for migration tests."""
    return database_maker.new


@pytest.fixture
def cli_env(
    backend: str, new_database: NewDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> URL:
    """A migrated database of `backend` with one clinic (slug bow-river), for CLI tests."""
    from typer.testing import CliRunner

    from followup.cli import _register, app

    _register()
    url = new_database(backend)
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("FOLLOWUP_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app,
        ["clinic", "add", "--name", "Bow River", "--tz", "America/Edmonton", "--phone",
         "403-555-0134"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """Commands under test call configure_logging, which takes over the root logger; left
    so, every later test would print its INFO lines into the test run's output."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def two_clinics(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> tuple[ClinicRows, ClinicRows]:
    """Two clinics with staff, patients and replies, to show each sees only its own."""
    with session_factory.begin() as session:
        return make_two_clinics(session, clock.now())


@pytest.fixture
def visitor_client(
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
    two_clinics: tuple[ClinicRows, ClinicRows],
) -> TestClient:
    """The app with two_clinics in it, not signed in."""
    return make_client(engine, session_factory, clock, tmp_path)


@pytest.fixture
def staff_client(
    visitor_client: TestClient, two_clinics: tuple[ClinicRows, ClinicRows]
) -> TestClient:
    """The app, signed in as the first of two_clinics' staff."""
    sign_in(visitor_client, two_clinics[0].staff.email, STAFF_PASSWORD)
    return visitor_client
