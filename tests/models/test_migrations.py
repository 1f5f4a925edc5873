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
from sqlalchemy.exc import IntegrityError

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


def _seed_at_0002(url: str) -> None:
    """A clinic with a French patient, a treatment and a message, as 0002 stored them."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO clinic (id, slug, name, timezone, country, contact_phone,"
            " default_send_time, quiet_start, quiet_end, urgent_sla_minutes,"
            " normal_sla_minutes) VALUES (1, 'bow', 'Bow', 'America/Edmonton', 'CA',"
            " '+14035550134', '10:00:00', '21:00:00', '08:00:00', 15, 120)"
        )
        conn.exec_driver_sql(
            "INSERT INTO patient (id, clinic_id, first_name, last_name, phone, channel,"
            " language) VALUES (1, 1, 'Liam', '', '+15875550102', 'sms', 'fr')"
        )
        conn.exec_driver_sql(
            "INSERT INTO treatment (id, patient_id, kind, treated_at)"
            " VALUES (1, 1, 'microneedling', '2026-03-07 14:00:00')"
        )
    engine.dispose()


def test_0003_keeps_rows_gives_clinics_office_hours_and_accepts_spanish(
    backend: str, new_database: NewDatabase
) -> None:
    url = new_database(backend).render_as_string(hide_password=False)
    config = _alembic_config(url)
    command.upgrade(config, "0002")
    _seed_at_0002(url)

    command.upgrade(config, "head")

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            hours = conn.execute(
                text("SELECT office_days, office_opens_at, office_closes_at FROM clinic")
            ).one()
            assert (hours[0], str(hours[1])[:5], str(hours[2])[:5]) == (31, "09:00", "17:00")
            assert conn.scalar(text("SELECT language FROM patient")) == "fr"
            assert conn.scalar(text("SELECT count(*) FROM treatment")) == 1
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO patient (id, clinic_id, first_name, last_name, phone, channel,"
                " language) VALUES (2, 1, 'Sofia', '', '+14035550107', 'sms', 'es')"
            )
        for bad in (
            "INSERT INTO patient (id, clinic_id, first_name, last_name, phone, channel,"
            " language) VALUES (3, 1, 'X', '', '+14035550108', 'sms', 'de')",
            "UPDATE clinic SET office_days = 0",
            "UPDATE clinic SET office_opens_at = office_closes_at",
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.exec_driver_sql(bad)
    finally:
        engine.dispose()
    assert _diff_against_models(url) == []


def test_0003_downgrade_refuses_while_patients_speak_spanish_and_keeps_rows_otherwise(
    backend: str, new_database: NewDatabase
) -> None:
    url = new_database(backend).render_as_string(hide_password=False)
    config = _alembic_config(url)
    command.upgrade(config, "0002")
    _seed_at_0002(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE patient SET language = 'es'")
    engine.dispose()
    with pytest.raises(RuntimeError, match="language 'es'"):
        command.downgrade(config, "0002")

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE patient SET language = 'fr'")
    engine.dispose()
    command.downgrade(config, "0002")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM treatment")) == 1
            assert "office_days" not in {c["name"] for c in inspect(conn).get_columns("clinic")}
    finally:
        engine.dispose()


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
