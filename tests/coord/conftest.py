"""Coordination fixtures: the database fixtures of tests/store, a world of agencies and users
of every role, and signed packages."""

from __future__ import annotations

from tests.coord.world import World, committed_world, key, shared_world, world
from tests.store.conftest import backend, committed_db, db, migrated_engine

__all__ = ["World", "backend", "committed_db", "committed_world", "db", "key",
           "migrated_engine", "shared_world", "world"]
