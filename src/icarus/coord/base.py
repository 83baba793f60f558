"""What every group of use cases shares: the database, transactions and audit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from icarus.coord.actor import Actor
from icarus.core.errors import NotFoundError, PermissionDeniedError
from icarus.store.audit import append_event
from icarus.store.engine import Database, Session


class UseCases:
    """A group of use cases over one :class:`Database`; each use case is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _transaction(self, actor: Actor, action: str, object_type: str | None = None,
                     object_id: object = None) -> Iterator[Session]:
        """The use case's transaction. A refusal (not allowed, or not found, which is also
        what another agency's record looks like) rolls it back and is itself audited."""
        try:
            with self.db.transaction() as session:
                yield session
        except (PermissionDeniedError, NotFoundError) as exc:
            with self.db.transaction() as session:
                self._audit(session, actor, "access.denied", object_type, object_id,
                            {"attempted": action, "reason": type(exc).__name__})
            raise

    @staticmethod
    def _audit(session: Session, actor: Actor, action: str, object_type: str | None = None,
               object_id: object = None, details: dict[str, Any] | None = None) -> None:
        append_event(session, actor_id=actor.user_id, actor=actor.username,
                     agency_id=actor.agency_id, action=action, object_type=object_type,
                     object_id=None if object_id is None else str(object_id),
                     remote_addr=actor.remote_addr, details=details)
