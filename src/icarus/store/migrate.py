"""Alembic migrations shipped in the package, run programmatically (``icarus db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from icarus.core.errors import StateError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = ["MIGRATIONS", "check_current", "current", "head", "upgrade"]


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (from empty if need be)."""
    if isinstance(bind, Connection):
        command.upgrade(_config(bind), revision)
        return
    with bind.begin() as connection:
        command.upgrade(_config(connection), revision)


def current(bind: Engine) -> str | None:
    """The database's revision (None: never migrated)."""
    with bind.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision this Icarus ships."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


def check_current(bind: Engine) -> None:
    """Raise :class:`StateError` unless the database is at :func:`head` (the commands that
    use it never migrate on their own: an upgrade is an administrator's decision)."""
    found, wanted = current(bind), head()
    if found != wanted:
        raise StateError(f"the coordination database is at revision {found or 'none (empty)'}"
                         f", this Icarus needs {wanted}: run `icarus db upgrade`")
