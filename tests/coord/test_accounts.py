"""Agencies, users, password logins with lockout, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from icarus.coord import Accounts, Actor, LoginPolicy, Role
from icarus.core.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from icarus.store.engine import Database
from icarus.store.models import ApiToken, AuditEvent, User
from tests.coord.world import FAST_HASHER, PASSWORD, World


class Clock:
    """A settable clock (no sleeping in tests)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _accounts(db: Database, clock: Clock) -> Accounts:
    return Accounts(db, hasher=FAST_HASHER, clock=clock,
                    policy=LoginPolicy(max_failures=3, lockout=timedelta(minutes=10)))


def test_password_is_an_argon2id_hash(world: World) -> None:
    with world.db.transaction() as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "admin")).one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_login_and_lockout(world: World) -> None:
    clock = Clock()
    accounts = _accounts(world.db, clock)
    actor = accounts.authenticate("officer_fr", PASSWORD, "203.0.113.5")
    assert (actor.role, actor.agency_id, actor.remote_addr) == (
        Role.NATIONAL_OFFICER, world.agency["FR"], "203.0.113.5")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("officer_fr", "wrong password!")
    # Locked: even the right password is refused, with the same message.
    with pytest.raises(AuthenticationError) as locked:
        accounts.authenticate("officer_fr", PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    assert str(locked.value) == str(unknown.value)
    clock.now += timedelta(minutes=11)
    assert accounts.authenticate("officer_fr", PASSWORD).username == "officer_fr"


def test_a_success_resets_the_failure_count(world: World) -> None:
    accounts = _accounts(world.db, Clock())
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("analyst", "wrong password!")
    accounts.authenticate("analyst", PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("analyst", "wrong password!")
    assert accounts.authenticate("analyst", PASSWORD).role is Role.ANALYST


class CountingHasher(PasswordHasher):
    """Counts Argon2 verifications."""

    calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        type(self).calls += 1
        return super().verify(hash, password)


def test_unknown_user_costs_a_verification(world: World) -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts = Accounts(world.db, hasher=hasher)
    CountingHasher.calls = 0
    with pytest.raises(AuthenticationError):
        accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(AuthenticationError):
        accounts.authenticate("analyst", "wrong password!")
    assert CountingHasher.calls == 2


def test_failed_logins_are_audited_and_kept(world: World) -> None:
    accounts = _accounts(world.db, Clock())
    with pytest.raises(AuthenticationError):
        accounts.authenticate("auditor", "wrong password!", "198.51.100.7")
    with world.db.transaction() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last is not None
        assert (last.action, last.actor, last.remote_addr) == (
            "login.failed", "auditor", "198.51.100.7")
        assert s.scalars(select(User.failed_logins).where(User.username == "auditor")).one() == 1


def test_disabled_user_cannot_log_in(world: World) -> None:
    accounts = _accounts(world.db, Clock())
    accounts.set_active(world.actors["admin"], world.actors["analyst"].user_id or 0, False)
    with pytest.raises(AuthenticationError):
        accounts.authenticate("analyst", PASSWORD)


def test_user_rules(world: World) -> None:
    admin, accounts = world.actors["admin"], world.accounts
    with pytest.raises(ConflictError, match="taken"):
        accounts.create_user(admin, username="analyst", password=PASSWORD, role=Role.ANALYST)
    with pytest.raises(InputError, match="agency"):
        accounts.create_user(admin, username="o2", password=PASSWORD,
                             role=Role.NATIONAL_OFFICER)
    with pytest.raises(InputError, match="at least"):
        accounts.create_user(admin, username="o3", password="short", role=Role.ANALYST)  # noqa: S106
    with pytest.raises(InputError, match="username"):
        accounts.create_user(admin, username="Bad Name", password=PASSWORD, role=Role.ANALYST)
    with pytest.raises(NotFoundError):
        accounts.create_user(admin, username="o4", password=PASSWORD,
                             role=Role.NATIONAL_OFFICER, agency_id=999_999)
    with pytest.raises(InputError, match="ISO"):
        accounts.create_agency(admin, country="France", name="X")
    with pytest.raises(ConflictError):
        accounts.create_agency(admin, country="FR", name="Agency FR")


@pytest.mark.parametrize("who", ["coordinator", "officer_fr", "analyst", "auditor",
                                 "examiner_de"])
def test_only_administrators_manage_accounts(world: World, who: str) -> None:
    actor, accounts = world.actors[who], world.accounts
    with pytest.raises(PermissionDeniedError):
        accounts.create_user(actor, username="x1", password=PASSWORD, role=Role.ADMINISTRATOR)
    with pytest.raises(PermissionDeniedError):
        accounts.create_agency(actor, country="NL", name="Agency NL")
    with pytest.raises(PermissionDeniedError):
        accounts.list_agencies(actor)


def test_tokens(world: World) -> None:
    clock = Clock()
    accounts = _accounts(world.db, clock)
    officer = world.actors["officer_de"]
    view, secret = accounts.create_token(officer, "script", expires_in=timedelta(days=1))
    with world.db.transaction() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert secret not in stored and len(stored) == 1
    assert accounts.authenticate_token(secret).user_id == officer.user_id
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(secret + "x")
    # Another user can neither revoke it nor learn that it exists.
    with pytest.raises(NotFoundError) as other:
        accounts.revoke_token(world.actors["officer_fr"], view.id)
    with pytest.raises(NotFoundError) as missing:
        accounts.revoke_token(world.actors["officer_fr"], 999_999)
    assert str(other.value).replace(str(view.id), "N") == str(missing.value).replace(
        "999999", "N")
    clock.now += timedelta(days=2)
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(secret)
    second_view, second = accounts.create_token(officer, "second")
    assert accounts.authenticate_token(second).user_id == officer.user_id
    assert accounts.revoke_token(officer, second_view.id).revoked_at is not None
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(second)
    # An administrator may revoke anyone's token.
    third_view, third = accounts.create_token(officer, "third")
    accounts.revoke_token(world.actors["admin"], third_view.id)
    with pytest.raises(AuthenticationError):
        accounts.authenticate_token(third)


def test_the_console_cannot_hold_tokens(world: World) -> None:
    with pytest.raises(InputError):
        world.accounts.create_token(Actor.console(), "x")
