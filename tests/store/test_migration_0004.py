"""Migration 0004 (the indexes of the lead lists) goes down and up again, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect

from icarus.store.engine import make_engine
from icarus.store.migrate import _config, current, head, upgrade
from tests.store.databases import fresh_database

INDEXES = {"leads": {"ix_leads_referral_id_score", "ix_leads_referral_id_rank",
                     "ix_leads_score", "ix_leads_rank", "ix_leads_subject_id",
                     "ix_leads_country"},
           "outcomes": {"ix_outcomes_state"}}


def _indexes(engine: Engine) -> dict[str, set[str]]:
    found = inspect(engine)
    return {table: {i["name"] for i in found.get_indexes(table) if i["name"]} & names
            for table, names in INDEXES.items()}


def test_0004_down_and_up(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine, "0004")
        assert _indexes(engine) == INDEXES
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0003")
        assert current(engine) == "0003"
        assert _indexes(engine) == {"leads": set(), "outcomes": set()}
        upgrade(engine)
        assert current(engine) == head()
        assert _indexes(engine) == INDEXES
        engine.dispose()
