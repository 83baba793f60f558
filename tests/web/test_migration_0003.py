"""Migration 0003 (networks, network members, referral packages) upgrades a populated 0002
database and goes back down cleanly, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from icarus.store.engine import make_engine
from icarus.store.migrate import MIGRATIONS, current, upgrade
from tests.store.databases import fresh_database

TABLES = {"networks", "network_members", "referral_packages"}


def test_0003_up_from_a_populated_0002_and_down(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agencies (country, name, contact, created_at) "
                              "VALUES ('FR', 'Agency FR', '', '2026-01-01 00:00:00')"))
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine, "0003")
        assert current(engine) == "0003"
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) >= TABLES
        assert {i["name"] for i in inspector.get_indexes("network_members")} >= {
            "ix_network_members_network_id", "ix_network_members_subject_id"}
        assert inspector.get_pk_constraint("referral_packages")["constrained_columns"] == [
            "referral_id"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM agencies")).scalar() == "Agency FR"
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
        assert not TABLES & set(inspect(engine).get_table_names())
        assert current(engine) == "0002"
        upgrade(engine)  # and up again, to the head
        assert set(inspect(engine).get_table_names()) >= TABLES
        engine.dispose()
