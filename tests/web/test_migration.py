"""Migration 0002 (web sessions) upgrades a database at 0001 that already holds data, and
goes back down cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from icarus.store.engine import make_engine
from icarus.store.migrate import MIGRATIONS, current, upgrade
from tests.store.databases import fresh_database


def test_0002_upgrades_a_populated_0001_database(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agencies (country, name, contact, created_at) "
                              "VALUES ('FR', 'Agency FR', '', '2026-01-01 00:00:00')"))
        assert "web_sessions" not in inspect(engine).get_table_names()
        upgrade(engine, "0002")
        assert current(engine) == "0002"
        inspector = inspect(engine)
        assert "web_sessions" in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("web_sessions")}
        assert "token_hash" in columns and "token" not in columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM agencies")).scalar() == "Agency FR"
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        assert "web_sessions" not in inspect(engine).get_table_names()
        engine.dispose()
