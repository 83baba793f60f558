"""Alembic environment: always given a connection by :func:`icarus.store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from icarus.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - misuse
    raise RuntimeError("run migrations through icarus.store.migrate (icarus db upgrade)")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
