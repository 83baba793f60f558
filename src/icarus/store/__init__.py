"""The coordination server's store: SQLAlchemy models, the database, migrations, audit chain.

SQLAlchemy is used only here; :mod:`icarus.coord` calls the repositories and owns the
transactions (docs/coord.md).
"""

from __future__ import annotations

from icarus.store.engine import Database, database_url, default_sqlite_path
from icarus.store.migrate import upgrade

__all__ = ["Database", "database_url", "default_sqlite_path", "upgrade"]
