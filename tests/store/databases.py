"""Test databases: a migrated SQLite file and a migrated PostgreSQL database per session.

PostgreSQL is the machine's server (127.0.0.1:5432, trust auth, user postgres, database
``test`` as the maintenance database); each session creates a uniquely named database and
drops it afterwards. When it is unreachable the PostgreSQL tests are skipped, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_ADMIN_URL = os.environ.get("ICARUS_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + ": required in CI", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'coord-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"icarus_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        _pg_unavailable(str(exc.orig).splitlines()[0] if exc.orig else str(exc))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


