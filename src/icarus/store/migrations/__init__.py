"""Alembic migrations of the coordination database (run by :mod:`icarus.store.migrate`)."""
