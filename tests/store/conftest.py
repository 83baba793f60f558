"""Database fixtures shared by tests/store and tests/coord: every test runs on SQLite and on
PostgreSQL, inside an outer transaction that is rolled back (use cases become savepoints)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from icarus.store.engine import Database, make_engine
from icarus.store.migrate import upgrade
from tests.store.databases import BACKENDS, fresh_database


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_engine(backend: str, tmp_path_factory: pytest.TempPathFactory,
                    ) -> Iterator[Engine]:
    """An engine on a database migrated up from empty, for the whole session."""
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def db(migrated_engine: Engine) -> Iterator[Database]:
    """A :class:`Database` whose every change is rolled back after the test."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        yield Database(connection)
        outer.rollback()


@pytest.fixture
def committed_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database of its own, migrated, whose transactions really commit (for tests of
    concurrent sessions and of tampering by direct SQL)."""
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield Database(engine)
        engine.dispose()
