"""The hash chain: intact logs verify, and any direct alteration is named by its seq."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import delete, select, text, update

from icarus.coord.audit import verify_chain
from icarus.core.errors import AuditChainError
from icarus.store.audit import append_event, event_hash
from icarus.store.engine import Database
from icarus.store.models import GENESIS_HASH, AuditEvent, AuditHead


def _append(db: Database, n: int) -> None:
    for i in range(n):
        with db.transaction() as s:
            append_event(s, actor_id=i, actor=f"user{i}", agency_id=None, action="test.event",
                         object_type="lead", object_id=str(i), remote_addr="192.0.2.9",
                         details={"i": i, "name": "Zoë", "nested": {"b": 1, "a": [1.5, None]}})


def test_events_are_chained_and_verify(db: Database) -> None:
    _append(db, 3)
    with db.transaction() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        head = s.get(AuditHead, 1)
        assert head is not None
        assert [e.seq for e in events] == [1, 2, 3]
        assert events[0].prev_hash == GENESIS_HASH
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        assert all(e.hash == event_hash(e) for e in events)
        assert (head.seq, head.hash) == (3, events[-1].hash)
        assert json.loads(events[0].details)["name"] == "Zoë"
    assert verify_chain(db).events == 3


def test_an_event_rolled_back_with_its_action_leaves_no_gap(db: Database) -> None:
    _append(db, 1)
    with pytest.raises(RuntimeError), db.transaction() as s:
        append_event(s, actor_id=None, actor="x", agency_id=None, action="doomed")
        raise RuntimeError("the action failed")
    _append(db, 1)
    assert verify_chain(db).events == 2


def _tamper(db: Database, statement: object) -> None:
    with db.transaction() as s:
        s.execute(statement)  # type: ignore[call-overload]


@pytest.mark.parametrize("field,value", [("actor", "someone else"),
                                         ("details", '{"i":99}'),
                                         ("object_id", "42"),
                                         ("remote_addr", None)])
def test_an_altered_field_is_named(db: Database, field: str,
                                   value: str | None) -> None:
    _append(db, 5)
    _tamper(db, update(AuditEvent).where(AuditEvent.seq == 3).values({field: value}))
    with pytest.raises(AuditChainError, match=r"entry 3: .*altered") as err:
        verify_chain(db)
    assert err.value.seq == 3


def test_a_rehashed_alteration_breaks_the_next_link(db: Database) -> None:
    _append(db, 5)
    with db.transaction() as s:
        event = s.get(AuditEvent, 2)
        assert event is not None
        event.actor = "forger"
        event.hash = event_hash(event)  # the forger recomputes this entry's hash...
    with pytest.raises(AuditChainError) as err:  # ...but entry 3 still links to the old one
        verify_chain(db)
    assert err.value.seq == 3


def test_a_removed_entry_is_named(db: Database) -> None:
    _append(db, 5)
    _tamper(db, delete(AuditEvent).where(AuditEvent.seq == 2))
    with pytest.raises(AuditChainError, match="entry 2 is missing") as err:
        verify_chain(db)
    assert err.value.seq == 2


def test_removed_last_entries_are_named(db: Database) -> None:
    _append(db, 5)
    _tamper(db, delete(AuditEvent).where(AuditEvent.seq >= 4))
    with pytest.raises(AuditChainError, match="end") as err:
        verify_chain(db)
    assert err.value.seq == 4


def test_reordered_entries_are_named(db: Database) -> None:
    _append(db, 5)
    # Swap the seq numbers of entries 2 and 4 (through a free number).
    for a, b in ((2, 100), (4, 2), (100, 4)):
        _tamper(db, text("UPDATE audit_events SET seq = :b WHERE seq = :a")
                .bindparams(a=a, b=b))
    with pytest.raises(AuditChainError) as err:
        verify_chain(db)
    assert err.value.seq == 2


def test_concurrent_appends_keep_one_chain(committed_db: Database) -> None:
    """Writers in parallel threads: the head lock makes them append one after the other."""
    def writer(n: int) -> None:
        for i in range(8):
            with committed_db.transaction() as s:
                append_event(s, actor_id=n, actor=f"w{n}", agency_id=None, action="test.event",
                             details={"i": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verify_chain(committed_db).events == 32
