"""Agencies, users, logins and API tokens."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from icarus.coord.actor import AGENCY_ROLES, Actor, Role
from icarus.coord.base import UseCases
from icarus.coord.permissions import Permission, require
from icarus.coord.views import AgencyView, TokenView, UserView
from icarus.core.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    LoginThrottledError,
    NotFoundError,
)
from icarus.core.settings import Settings
from icarus.store.base import utcnow
from icarus.store.engine import Database, Session
from icarus.store.models import Agency, ApiToken, LoginThrottle, User

__all__ = ["Accounts", "LoginPolicy", "throttle_key"]

MIN_PASSWORD = 12
TOKEN_PREFIX = "icarus_"  # noqa: S105 - a label, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_BAD_LOGIN = "invalid username or password, or the account is locked"


@dataclass(frozen=True)
class LoginPolicy:
    """``max_failures`` wrong passwords in a row lock the account for ``lockout``; and
    ``address_max_failures`` failed logins from one client address within ``address_window``
    refuse that address for ``address_block``, before any password is checked."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    address_max_failures: int = 20
    address_window: timedelta = timedelta(minutes=15)
    address_block: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        """The per-address limits of the settings (the account lockout is fixed)."""
        return cls(address_max_failures=settings.login_address_max_failures,
                   address_window=timedelta(minutes=settings.login_address_window_minutes),
                   address_block=timedelta(minutes=settings.login_address_block_minutes))


def throttle_key(remote_addr: str | None) -> str | None:
    """What failed logins are counted by: the address, an IPv6 client by its /64 (one
    subscriber usually holds a whole /64), an IPv4-mapped IPv6 address as IPv4. None for no
    address (nothing to count)."""
    if not remote_addr:
        return None
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user_view(u: User) -> UserView:
    return UserView(u.id, u.username, Role(u.role), u.agency_id, u.active)


def _token_view(t: ApiToken) -> TokenView:
    return TokenView(t.id, t.user_id, t.name, t.created_at, t.expires_at, t.revoked_at)


def _actor(user: User, remote_addr: str | None) -> Actor:
    return Actor(user.id, user.username, Role(user.role), user.agency_id, remote_addr)


class Accounts(UseCases):
    """Administration of agencies and users; authentication by password or token."""

    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None,
                 policy: LoginPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(db)
        self.hasher = hasher or PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
        self.policy = policy or LoginPolicy()
        self.clock = clock
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        # Verified against when the user is unknown, so that the answer takes as long.
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # -- administration -----------------------------------------------------------------

    def create_agency(self, actor: Actor, *, country: str, name: str,
                      contact: str = "") -> AgencyView:
        """A new agency (administrators only); the name must be unused."""
        with self._transaction(actor, "agency.create") as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            if not _COUNTRY.match(country):
                raise InputError(f"country {country!r}: an ISO 3166 alpha-2 code is needed "
                                 "(two capital letters)")
            if not name.strip():
                raise InputError("an agency needs a name")
            if s.scalar(select(Agency.id).where(Agency.name == name)) is not None:
                raise ConflictError(f"an agency named {name!r} exists already")
            agency = Agency(country=country, name=name.strip(), contact=contact)
            s.add(agency)
            s.flush()
            self._audit(s, actor, "agency.create", "agency", agency.id,
                        {"country": country, "name": agency.name})
            return AgencyView(agency.id, agency.country, agency.name, agency.contact)

    def list_agencies(self, actor: Actor) -> tuple[AgencyView, ...]:
        """Every agency (administrators; agencies are not personal data)."""
        with self._transaction(actor, "agency.list") as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            rows = s.scalars(select(Agency).order_by(Agency.country, Agency.name)).all()
            return tuple(AgencyView(a.id, a.country, a.name, a.contact) for a in rows)

    def find_agency(self, actor: Actor, name: str) -> AgencyView:
        """The agency named ``name`` (administrators)."""
        with self._transaction(actor, "agency.read", "agency", name) as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            a = s.scalar(select(Agency).where(Agency.name == name))
            if a is None:
                raise NotFoundError(f"no agency named {name!r}")
            return AgencyView(a.id, a.country, a.name, a.contact)

    def create_user(self, actor: Actor, *, username: str, password: str, role: Role,
                    agency_id: int | None = None) -> UserView:
        """A new active user (administrators only). National officers and forensic
        examiners need an agency; the password at least :data:`MIN_PASSWORD` characters."""
        with self._transaction(actor, "user.create") as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            if not _USERNAME.match(username):
                raise InputError(f"username {username!r}: 2-64 characters, lower-case "
                                 "letters, digits, '.', '_' or '-'")
            if len(password) < MIN_PASSWORD:
                raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
            if role in AGENCY_ROLES and agency_id is None:
                raise InputError(f"a {role.value} acts for an agency: give one")
            if agency_id is not None and s.get(Agency, agency_id) is None:
                raise NotFoundError(f"agency {agency_id} does not exist")
            if s.scalar(select(User.id).where(User.username == username)) is not None:
                raise ConflictError(f"the username {username!r} is taken")
            user = User(username=username, password_hash=self.hasher.hash(password),
                        role=role.value, agency_id=agency_id, active=True, failed_logins=0)
            s.add(user)
            s.flush()
            self._audit(s, actor, "user.create", "user", user.id,
                        {"username": username, "role": role.value, "agency_id": agency_id})
            return _user_view(user)

    def list_users(self, actor: Actor) -> tuple[UserView, ...]:
        """Every user, without secrets (administrators)."""
        with self._transaction(actor, "user.list") as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            return tuple(_user_view(u) for u in s.scalars(select(User).order_by(User.username)))

    def set_active(self, actor: Actor, user_id: int, active: bool) -> UserView:
        """Enable or disable a user (administrators); a disabled user cannot log in."""
        with self._transaction(actor, "user.update", "user", user_id) as s:
            require(actor, Permission.MANAGE_ACCOUNTS)
            user = s.get(User, user_id)
            if user is None:
                raise NotFoundError(f"user {user_id} does not exist")
            user.active = active
            self._audit(s, actor, "user.update", "user", user_id, {"active": active})
            return _user_view(user)

    # -- authentication -----------------------------------------------------------------

    def authenticate(self, username: str, password: str,
                     remote_addr: str | None = None) -> Actor:
        """The actor for a correct password. Raises :class:`AuthenticationError` with one
        message for an unknown user, a wrong password, a disabled or a locked account; an
        unknown user costs one Argon2 verification like a known one. An address that failed
        too often (:class:`LoginPolicy`) gets :class:`LoginThrottledError`, with the same
        message, before any password is checked."""
        now = self.clock()
        address = throttle_key(remote_addr)
        with self.db.transaction() as s:
            blocked_until = self._blocked_until(s, address, now)
            if blocked_until is not None:
                # Refused before the user is looked up or the password checked.
                self._audit(s, Actor(None, username[:64], Role.AUDITOR, None, remote_addr),
                            "login.throttled", details={
                                "reason": "address blocked: too many failed logins",
                                "address": address,
                                "blocked_until": blocked_until.isoformat()})
                ok_actor = None
            else:
                ok_actor = self._login(s, username, password, remote_addr, address, now)
        # Raised after the commit: the failure counts and their audit events must be kept.
        if blocked_until is not None:
            raise LoginThrottledError(
                _BAD_LOGIN, retry_after=max(1, math.ceil((blocked_until - now).total_seconds())))
        if ok_actor is None:
            raise AuthenticationError(_BAD_LOGIN)
        return ok_actor

    def _login(self, s: Session, username: str, password: str, remote_addr: str | None,
               address: str | None, now: datetime) -> Actor | None:
        user = s.scalar(select(User).where(User.username == username))
        ok = self._check_password(user, password)
        who = Actor(None, username[:64], Role.AUDITOR, None, remote_addr)
        if user is None:
            # Not a user: the audit event records the name tried (the role is unused).
            self._audit(s, who, "login.failed", details={"reason": "unknown user"})
        elif user.locked_until is not None and user.locked_until > now:
            who = _actor(user, remote_addr)
            self._audit(s, who, "login.failed", "user", user.id, {"reason": "locked"})
        elif not ok or not user.active:
            reason = "inactive" if ok else "wrong password"
            if not ok:
                user.failed_logins += 1
                if user.failed_logins >= self.policy.max_failures:
                    user.locked_until, user.failed_logins = now + self.policy.lockout, 0
                    reason += ", account locked"
            who = _actor(user, remote_addr)
            self._audit(s, who, "login.failed", "user", user.id, {"reason": reason})
        else:
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            actor = _actor(user, remote_addr)
            self._audit(s, actor, "login", "user", user.id)
            return actor
        if address is not None:
            blocked_until = self._count_failure(s, address, now)
            if blocked_until is not None:
                self._audit(s, who, "login.throttled", details={
                    "reason": "address blocked from now: too many failed logins",
                    "address": address, "blocked_until": blocked_until.isoformat()})
        return None

    @staticmethod
    def _blocked_until(s: Session, address: str | None, now: datetime) -> datetime | None:
        if address is None:
            return None
        until = s.scalar(select(LoginThrottle.blocked_until)
                         .where(LoginThrottle.address == address))
        return until if until is not None and until > now else None

    def _count_failure(self, s: Session, address: str, now: datetime) -> datetime | None:
        """Count a failed login of ``address`` (a locked row: concurrent web workers count
        every failure); returns the end of the block it starts, if it starts one."""
        dialect = s.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        s.execute(insert(LoginThrottle).values(address=address, window_started_at=now,
                                               failures=0)
                  .on_conflict_do_nothing(index_elements=["address"]))
        row = s.scalars(select(LoginThrottle).where(LoginThrottle.address == address)
                        .with_for_update()).one()
        if row.window_started_at + self.policy.address_window <= now:
            row.window_started_at, row.failures = now, 0
        row.failures += 1
        if row.failures < self.policy.address_max_failures:
            return None
        row.blocked_until = now + self.policy.address_block
        row.window_started_at, row.failures = now, 0
        return row.blocked_until

    def _check_password(self, user: User | None, password: str) -> bool:
        try:
            return self.hasher.verify(user.password_hash if user else self._dummy_hash,
                                      password) and user is not None
        except (VerificationError, InvalidHashError):
            return False

    # -- API tokens ---------------------------------------------------------------------

    def create_token(self, actor: Actor, name: str,
                     expires_in: timedelta | None = None) -> tuple[TokenView, str]:
        """A new token of the actor's own; the secret is returned once, only its hash kept."""
        if actor.user_id is None:
            raise InputError("the console has no user to hold a token")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._transaction(actor, "token.create") as s:
            token = ApiToken(user_id=actor.user_id, name=name, token_hash=_token_hash(secret),
                             expires_at=self.clock() + expires_in if expires_in else None)
            s.add(token)
            s.flush()
            self._audit(s, actor, "token.create", "token", token.id, {"name": name})
            return _token_view(token), secret

    def list_tokens(self, actor: Actor) -> tuple[TokenView, ...]:
        """The actor's own API tokens, without their secrets."""
        with self._transaction(actor, "token.list") as s:
            rows = s.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id)
                             .order_by(ApiToken.id)).all()
            return tuple(_token_view(t) for t in rows)

    def revoke_token(self, actor: Actor, token_id: int) -> TokenView:
        """Revoke a token: one's own, or anyone's for an administrator. Another user's token
        is "not found" for everyone else."""
        with self._transaction(actor, "token.revoke", "token", token_id) as s:
            token = s.get(ApiToken, token_id)
            if token is None or (token.user_id != actor.user_id
                                 and actor.role is not Role.ADMINISTRATOR):
                raise NotFoundError(f"token {token_id} does not exist")
            if token.revoked_at is None:
                token.revoked_at = self.clock()
            self._audit(s, actor, "token.revoke", "token", token_id)
            return _token_view(token)

    def authenticate_token(self, secret: str, remote_addr: str | None = None) -> Actor:
        """The actor of a valid token (not revoked, not expired, user active); else
        :class:`AuthenticationError`. Lookup is by the SHA-256 of the secret, an index
        search that reveals nothing about other tokens."""
        now = self.clock()
        with self.db.transaction() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
            user = token.user if token is not None else None
            if (token is None or user is None or token.revoked_at is not None
                    or (token.expires_at is not None and token.expires_at <= now)
                    or not user.active):
                actor = None
            else:
                token.last_used_at = now
                actor = _actor(user, remote_addr)
        if actor is None:
            raise AuthenticationError("invalid, expired or revoked API token")
        return actor
