"""Alembic's `upgrade head` on an empty database gives exactly the models, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

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
        conn.exec_driver_sql("DROP INDEX ix_scheduled_message_due")
    engine.dispose()
    differences = _diff_against_models(url)
    assert [diff[0] for diff in differences] == ["add_index"]  # type: ignore[index]
