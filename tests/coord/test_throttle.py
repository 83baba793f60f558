"""Login throttling per client address (on top of the per-account lockout), kept in the
database so that every web worker counts the same failures; and the purge of dead sessions
and spent throttle rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from icarus.coord import Accounts, LoginPolicy
from icarus.coord.accounts import throttle_key
from icarus.coord.sessions import WebSessions
from icarus.core.errors import AuthenticationError, LoginThrottledError
from icarus.store.engine import Database
from icarus.store.models import AuditEvent, LoginThrottle, WebSession
from tests.coord.world import PASSWORD, World


class Clock:
    """A settable clock (no sleeping in tests)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class CountingHasher(PasswordHasher):
    """Counts Argon2 verifications."""

    calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        type(self).calls += 1
        return super().verify(hash, password)


POLICY = LoginPolicy(max_failures=50, address_max_failures=4,
                     address_window=timedelta(minutes=10), address_block=timedelta(minutes=20))


def _accounts(db: Database, clock: Clock, policy: LoginPolicy = POLICY) -> Accounts:
    return Accounts(db, hasher=CountingHasher(time_cost=1, memory_cost=8, parallelism=1),
                    clock=clock, policy=policy)


def _fail(accounts: Accounts, addr: str | None, n: int, user: str = "analyst") -> None:
    for _ in range(n):
        with pytest.raises(AuthenticationError) as exc:
            accounts.authenticate(user, "wrong password!", addr)
        assert not isinstance(exc.value, LoginThrottledError)


def _actions(db: Database, since: int) -> list[tuple[str, str | None]]:
    with db.transaction() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.remote_addr)
                         .where(AuditEvent.seq > since).order_by(AuditEvent.seq)).all()
    return [(a, r) for a, r in rows]


def _last_seq(db: Database) -> int:
    with db.transaction() as s:
        return s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first() or 0


def test_an_address_that_fails_too_often_is_refused_before_the_password(world: World) -> None:
    clock = Clock()
    accounts = _accounts(world.db, clock)
    since = _last_seq(world.db)
    # Failures on different usernames (unknown ones too) count for the address.
    _fail(accounts, "203.0.113.9", 2)
    _fail(accounts, "203.0.113.9", 1, user="nobody")
    _fail(accounts, "203.0.113.9", 1, user="auditor")  # the 4th: the block starts
    CountingHasher.calls = 0
    clock.now += timedelta(minutes=5)
    with pytest.raises(LoginThrottledError) as refused:
        accounts.authenticate("coordinator", PASSWORD, "203.0.113.9")
    assert CountingHasher.calls == 0  # the password was not even checked
    assert refused.value.retry_after == 15 * 60
    with pytest.raises(AuthenticationError) as generic:
        accounts.authenticate("nobody", PASSWORD, "198.51.100.50")
    assert str(refused.value) == str(generic.value)  # the one message
    # Another address is not affected, nor is the account (below its own lockout).
    assert accounts.authenticate("coordinator", PASSWORD, "203.0.113.10").username == \
        "coordinator"
    actions = _actions(world.db, since)
    assert actions.count(("login.throttled", "203.0.113.9")) == 2  # block starts, refusal
    assert actions.count(("login.failed", "203.0.113.9")) == 4
    # After the block, the address may try again.
    clock.now += timedelta(minutes=15)
    assert accounts.authenticate("coordinator", PASSWORD, "203.0.113.9").username == \
        "coordinator"


def test_failures_outside_the_window_do_not_add_up(world: World) -> None:
    clock = Clock()
    accounts = _accounts(world.db, clock)
    for _ in range(3):
        _fail(accounts, "203.0.113.20", 3)
        clock.now += timedelta(minutes=11)  # each burst in a window of its own
    assert accounts.authenticate("analyst", PASSWORD, "203.0.113.20").username == "analyst"
    # A success does not wipe the count: the 4th failure of a window blocks.
    _fail(accounts, "203.0.113.20", 4)
    with pytest.raises(LoginThrottledError):
        accounts.authenticate("analyst", PASSWORD, "203.0.113.20")


def test_the_count_lives_in_the_database_shared_by_workers(world: World) -> None:
    clock = Clock()
    workers = [_accounts(world.db, clock), _accounts(world.db, clock)]
    for i in range(4):
        _fail(workers[i % 2], "2001:db8:1:2::5", 1)
    # The same /64 is the same client; another /64 is not.
    with pytest.raises(LoginThrottledError):
        workers[0].authenticate("analyst", PASSWORD, "2001:db8:1:2:ffff::1")
    assert workers[1].authenticate("analyst", PASSWORD, "2001:db8:1:3::5").username == \
        "analyst"
    with world.db.transaction() as s:
        row = s.scalars(select(LoginThrottle).where(
            LoginThrottle.address == "2001:db8:1:2::/64")).one()
        assert row.blocked_until is not None and row.blocked_until > clock.now


def test_the_account_lockout_still_applies(world: World) -> None:
    clock = Clock()
    policy = LoginPolicy(max_failures=3, address_max_failures=100)
    accounts = _accounts(world.db, clock, policy)
    for addr in ("203.0.113.30", "203.0.113.31", "203.0.113.32"):
        _fail(accounts, addr, 1, user="examiner_fr")
    with pytest.raises(AuthenticationError) as locked:
        accounts.authenticate("examiner_fr", PASSWORD, "203.0.113.33")
    assert not isinstance(locked.value, LoginThrottledError)


def test_without_an_address_nothing_is_counted(world: World) -> None:
    accounts = _accounts(world.db, Clock())
    _fail(accounts, None, 6)
    assert accounts.authenticate("analyst", PASSWORD).username == "analyst"
    with world.db.transaction() as s:
        assert s.scalars(select(LoginThrottle)).all() == []


@pytest.mark.parametrize(("addr", "key"), [
    ("203.0.113.7", "203.0.113.7"), ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8::1", "2001:db8::/64"), ("2001:DB8:0:0:1::9", "2001:db8::/64"),
    ("testclient", "testclient"), (None, None), ("", None)])
def test_throttle_key(addr: str | None, key: str | None) -> None:
    assert throttle_key(addr) == key


def test_purge_removes_dead_sessions_and_spent_throttles(world: World) -> None:
    clock = Clock()
    sessions = WebSessions(world.db, idle=timedelta(minutes=30), absolute=timedelta(hours=12),
                           throttle_window=timedelta(minutes=10), clock=clock)
    actor = world.actors["analyst"]
    revoked, idle, old, live = (sessions.open(actor) for _ in range(4))
    sessions.close(revoked, actor)
    clock.now += timedelta(minutes=20)
    sessions.resolve(live, "127.0.0.1")
    sessions.resolve(old, "127.0.0.1")
    accounts = _accounts(world.db, clock)
    _fail(accounts, "203.0.113.40", 1)  # a window that will end
    _fail(accounts, "203.0.113.41", 4)  # a block that lasts 20 minutes
    clock.now += timedelta(minutes=15)  # idle is now 35 minutes idle
    purged = sessions.purge(world.actors["admin"])
    assert (purged.sessions, purged.throttles) == (2, 1)  # revoked + idle; .40
    sessions.resolve(live, "127.0.0.1")
    clock.now += timedelta(hours=12)  # old and live are past their absolute end
    fresh = sessions.open(actor)  # a login purges as well
    with world.db.transaction() as s:
        left = set(s.scalars(select(WebSession.id)
                             .where(WebSession.user_id == actor.user_id)).all())
        assert len(left) == 1
        assert s.scalars(select(LoginThrottle)).all() == []
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "sessions.purge")
                          .order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.actor == "admin"
    assert sessions.resolve(fresh, "127.0.0.1").username == "analyst"
    for gone in (revoked, idle, old, live):
        with pytest.raises(AuthenticationError):
            sessions.resolve(gone, "127.0.0.1")
