"""The engine: SQLite in the workspace by default, PostgreSQL by URL, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from icarus.core.errors import ConfigError
from icarus.core.settings import load_settings
from icarus.store.engine import Database, database_url, make_engine


def test_default_is_sqlite_in_the_workspace(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICARUS_DATABASE_URL", raising=False)
    settings = load_settings(home=tmp_path / "h")
    assert database_url(settings) == f"sqlite:///{tmp_path / 'h' / 'coord.sqlite'}"
    monkeypatch.setenv("ICARUS_DATABASE_URL", "postgresql://u@127.0.0.1/x")
    assert database_url(load_settings(home=tmp_path / "h")) == "postgresql://u@127.0.0.1/x"


def test_sqlite_has_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'c.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


@pytest.mark.parametrize("url,message", [("nonsense", "not a database URL"),
                                         ("mysql://u@h/db", "not supported")])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(url)


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(ValueError), db.transaction() as s:
        s.execute(text("UPDATE audit_head SET seq = 99"))
        raise ValueError
    with db.transaction() as s:
        assert s.execute(text("SELECT seq FROM audit_head")).scalar() == 0
