"""Appending to and verifying the hash-chained audit log.

Each event's ``hash`` is the SHA-256 (lower-case hex) of the canonical JSON (keys sorted, no
whitespace, UTF-8) of the object::

    {"seq", "at" (YYYY-MM-DDTHH:MM:SS.ffffffZ), "actor_id", "actor", "agency_id", "action",
     "object_type", "object_id", "remote_addr", "details" (a JSON value), "prev_hash"}

``prev_hash`` is the previous event's hash (64 zeros for seq 1); the head row holds the last
seq and hash. Altering a field breaks that event's hash; removing or reordering events breaks
the seq sequence or the ``prev_hash`` links; cutting the end off no longer matches the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icarus.core.errors import InternalError
from icarus.store.base import utcnow
from icarus.store.models_audit import GENESIS_HASH, AuditEvent, AuditHead

__all__ = ["ChainProblem", "append_event", "event_hash", "find_chain_problem", "iter_events"]

_BATCH = 1000


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent) -> str:
    """The hash ``event`` must carry, computed from its other fields."""
    body = {"seq": event.seq, "at": _utc_text(event.at), "actor_id": event.actor_id,
            "actor": event.actor, "agency_id": event.agency_id, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id,
            "remote_addr": event.remote_addr, "details": json.loads(event.details),
            "prev_hash": event.prev_hash}
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def append_event(session: Session, *, actor_id: int | None, actor: str, agency_id: int | None,
                 action: str, object_type: str | None = None, object_id: str | None = None,
                 remote_addr: str | None = None, details: dict[str, Any] | None = None,
                 ) -> AuditEvent:
    """Add one event in ``session``'s transaction (it is kept only if that commits). The head
    row is locked first, so concurrent transactions append one after the other."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .with_for_update()).scalar_one_or_none()
    if head is None:
        raise InternalError("the audit head row is missing: was the database migrated?")
    event = AuditEvent(seq=head.seq + 1, at=utcnow(),
                       actor_id=actor_id, actor=actor, agency_id=agency_id, action=action,
                       object_type=object_type, object_id=object_id, remote_addr=remote_addr,
                       details=_canonical(details or {}), prev_hash=head.hash)
    event.hash = event_hash(event)
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    return event


def iter_events(session: Session, *, after: int = 0) -> Iterator[AuditEvent]:
    """Every event with seq > ``after``, in seq order, read in batches."""
    last = after
    while True:
        batch = session.execute(select(AuditEvent).where(AuditEvent.seq > last)
                                .order_by(AuditEvent.seq).limit(_BATCH)).scalars().all()
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


@dataclass(frozen=True)
class ChainProblem:
    """The first entry at which the chain breaks, and why."""

    seq: int
    reason: str


def find_chain_problem(session: Session) -> tuple[int, ChainProblem | None]:
    """Walk the whole log: (events checked, the first problem or None)."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for event in iter_events(session):
        count += 1
        if event.seq != expected_seq:
            return count, ChainProblem(expected_seq, f"entry {expected_seq} is missing (next "
                                       f"is {event.seq}): removed or reordered")
        if event.prev_hash != prev_hash:
            return count, ChainProblem(event.seq, "its link to the previous entry is broken: "
                                       "an entry before it was removed, reordered or altered")
        try:
            recomputed = event_hash(event)
        except (ValueError, TypeError):
            recomputed = ""
        if event.hash != recomputed:
            return count, ChainProblem(event.seq, "its content does not match its hash: "
                                       "it was altered")
        prev_hash, expected_seq = event.hash, event.seq + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != expected_seq - 1 or head.hash != prev_hash:
        last = head.seq if head is not None else expected_seq
        return count, ChainProblem(expected_seq if head is None or head.seq >= expected_seq
                                   else last, "the log ends before its recorded head: "
                                   "entries at the end were removed (or the head altered)")
    return count, None
