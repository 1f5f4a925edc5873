"""Alembic's `upgrade head` on an empty database gives exactly the models, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from followup.core.db import make_engine
from followup.models import Base
from tests.conftest import NewDatabase

ROOT = Path(__file__).resolve().parents[2]


def _alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def _diff_against_models(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_one_head_only() -> None:
    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_head_matches_models_and_downgrade_base_empties(
    backend: str, new_database: NewDatabase
) -> None:
    url = new_database(backend).render_as_string(hide_password=False)
    config = _alembic_config(url)

    command.upgrade(config, "head")
    assert _diff_against_models(url) == []

    command.downgrade(config, "base")
    engine = make_engine(url)
    try:
        leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    assert leftover == set()


@pytest.mark.parametrize("revision_step", ["-1"])
def test_each_revision_downgrades_and_upgrades_again(
    backend: str, new_database: NewDatabase, revision_step: str
) -> None:
    url = new_database(backend).render_as_string(hide_password=False)
    config = _alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, revision_step)
    command.upgrade(config, "head")
    assert _diff_against_models(url) == []


def test_the_comparison_notices_a_schema_that_differs(new_database: NewDatabase) -> None:
    """Guards the guard: a database missing an index must not compare equal."""
    url = new_database("sqlite").render_as_string(hide_password=False)
    command.upgrade(_alembic_config(url), "head")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_scheduled_message_claimable")
    engine.dispose()
    differences = _diff_against_models(url)
    assert [diff[0] for diff in differences] == ["add_index"]  # type: ignore[index]


def _index_definitions(engine: Engine) -> dict[str, str]:
    """Every index's own definition as the database keeps it (predicates included, which
    Alembic's comparison does not look at)."""
    if engine.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    else:
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    with engine.connect() as conn:
        rows = conn.execute(text(query))
        return {name: " ".join(sql.split()) for name, sql in rows if "alembic" not in name}


def test_migrated_partial_indexes_have_the_models_predicates(
    backend: str, new_database: NewDatabase
) -> None:
    migrated_url = new_database(backend)
    command.upgrade(_alembic_config(migrated_url.render_as_string(hide_password=False)), "head")
    created_url = new_database(backend)
    migrated, created = make_engine(migrated_url), make_engine(created_url)
    try:
        Base.metadata.create_all(created)
        from_migrations, from_models = _index_definitions(migrated), _index_definitions(created)
    finally:
        migrated.dispose()
        created.dispose()
    claimable = from_models["ix_scheduled_message_claimable"]
    assert "WHERE" in claimable
    assert "retry" in claimable
    assert from_migrations == from_models
