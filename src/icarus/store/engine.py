"""The database: an engine and sessions, SQLite in the workspace unless a URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from icarus.core.errors import ConfigError
from icarus.core.settings import Settings

__all__ = ["Database", "Session", "database_url", "default_sqlite_path"]


def default_sqlite_path(settings: Settings) -> Path:
    """``<home>/coord.sqlite``."""
    return settings.home / "coord.sqlite"


def database_url(settings: Settings) -> str:
    """``settings.database_url`` (``ICARUS_DATABASE_URL``), else the workspace's SQLite file."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{default_sqlite_path(settings)}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so that SQLAlchemy's BEGIN below is the only one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Every transaction takes the write lock at once: each use case writes (at least its
    # audit event), and a deferred transaction upgrading to a write would fail instead of
    # waiting when another one committed in between.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys on and write-locking transactions.
    Raises :class:`ConfigError` for a URL SQLAlchemy cannot use."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database_url: {parsed.get_backend_name()} is not supported "
                          "(SQLite or PostgreSQL)")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        raise ConfigError(f"database_url: driver not installed ({exc})") from None


class Database:
    """Opens sessions. Each use case runs in one :meth:`transaction`."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        if isinstance(bind, Connection):
            # Tests: the caller holds an outer transaction that is rolled back at the end;
            # each use case's transaction becomes a savepoint inside it.
            self._sessions = sessionmaker(bind=bind, expire_on_commit=False,
                                          join_transaction_mode="create_savepoint")
        else:
            self._sessions = sessionmaker(bind=bind, expire_on_commit=False)

    @classmethod
    def open(cls, settings: Settings) -> Database:
        """The database of ``settings`` (not migrated: see :func:`icarus.store.upgrade`)."""
        return cls(make_engine(database_url(settings)))

    @property
    def engine(self) -> Engine:
        """The engine (the connection's engine in tests)."""
        return self.bind if isinstance(self.bind, Engine) else self.bind.engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.bind.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed if the block ends normally, else rolled back."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close the engine's pooled connections."""
        if isinstance(self.bind, Engine):
            self.bind.dispose()


