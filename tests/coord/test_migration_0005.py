"""Migration 0005 (login throttles, earlier-intelligence files) goes down and up again on a
populated database, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, inspect, select

from icarus.coord.earlier_intel import EarlierIntelligence
from icarus.store.engine import Database, make_engine
from icarus.store.migrate import _config, current, head, upgrade
from icarus.store.models import DeconflictionAlert
from tests.coord.test_earlier_intel import _agency, intel_file, subject
from tests.coord.world import build_world
from tests.store.databases import fresh_database

NEW = {"login_throttles", "earlier_intel_imports", "earlier_subjects", "earlier_markers"}


def test_0005_down_and_up(backend: str, tmp_path: Path, key: Ed25519PrivateKey) -> None:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine, "0005")
        db = Database(engine)
        world = build_world(db, key, tmp_path / "packages")
        path = intel_file(tmp_path / "e.json", [subject("S1", guid="01" * 16)])
        EarlierIntelligence(db, anonymiser=lambda ip: None).import_file(
            world.actors["coordinator"], "op-test", path, agency=_agency(world))
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(DeconflictionAlert)) == 3
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0004")
        assert current(engine) == "0004"
        found = inspect(engine)
        assert NEW.isdisjoint(found.get_table_names())
        columns = {c["name"]: c for c in found.get_columns("deconfliction_alerts")}
        assert "earlier_subject_id" not in columns and not columns["other_lead_id"]["nullable"]
        upgrade(engine)
        assert current(engine) == head()
        assert set(inspect(engine).get_table_names()) >= NEW
        with db.transaction() as s:  # the alerts between the two agencies' leads are kept
            assert s.scalar(select(func.count()).select_from(DeconflictionAlert)) == 2
        engine.dispose()
