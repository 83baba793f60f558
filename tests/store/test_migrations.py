"""Migrations run up from an empty database and agree with the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from icarus.store.engine import make_engine
from icarus.store.migrate import current, head, upgrade
from icarus.store.models import GENESIS_HASH, AuditHead, Base
from tests.store.databases import fresh_database


def test_upgrade_from_empty_creates_every_table(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        assert current(engine) is None
        upgrade(engine)
        assert current(engine) == head()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            row = conn.execute(select(AuditHead.seq, AuditHead.hash)).one()
        assert tuple(row) == (0, GENESIS_HASH)
        upgrade(engine)  # a second run is a no-op
        assert current(engine) == head()
        engine.dispose()


def test_models_and_migrations_agree(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
