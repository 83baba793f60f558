"""Reading and verifying the audit log (auditors)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from icarus.coord.actor import Actor
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, require
from icarus.coord.views import AuditEntry, Page
from icarus.core.errors import AuditChainError
from icarus.store.audit import find_chain_problem
from icarus.store.engine import Database
from icarus.store.models import AuditEvent

__all__ = ["AuditLog", "ChainReport", "verify_chain"]


@dataclass(frozen=True)
class ChainReport:
    """The log verifies: ``events`` entries checked."""

    events: int


def verify_chain(db: Database) -> ChainReport:
    """Check the whole chain; raises :class:`AuditChainError` naming the first bad seq.
    (The console's ``icarus audit verify``: whoever can open the database may run it.)"""
    with db.transaction() as s:
        count, problem = find_chain_problem(s)
    if problem is not None:
        raise AuditChainError(f"audit log entry {problem.seq}: {problem.reason}",
                              seq=problem.seq)
    return ChainReport(count)


class AuditLog(UseCases):
    """The audit log as auditors read it."""

    def list_events(self, actor: Actor, *, offset: int = 0, limit: int = 100,
                    ) -> Page[AuditEntry]:
        """A page of events, newest first. Reading the log is itself audited."""
        with self._transaction(actor, "audit.read") as s:
            require(actor, Permission.READ_AUDIT)
            offset, limit = max(0, offset), min(max(1, limit), 1000)
            total = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
            rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())
                             .offset(offset).limit(limit)).all()
            items = tuple(AuditEntry(e.seq, e.at, e.actor_id, e.actor, e.agency_id, e.action,
                                     e.object_type, e.object_id, e.remote_addr,
                                     json.loads(e.details)) for e in rows)
            self._audit(s, actor, "audit.read", details={"offset": offset, "limit": limit})
            return Page(items, total, offset, limit)

    def verify(self, actor: Actor) -> ChainReport:
        """:func:`verify_chain` for an auditor."""
        with self._transaction(actor, "audit.verify") as s:
            require(actor, Permission.READ_AUDIT)
            self._audit(s, actor, "audit.verify")
        return verify_chain(self.db)
