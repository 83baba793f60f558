"""Server-side sessions of the web tier: open at login, resolve on each request, close at
logout. The browser holds a random secret; the database only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from icarus.coord.actor import Actor, Role
from icarus.coord.base import UseCases
from icarus.core.errors import AuthenticationError, InputError
from icarus.store.base import utcnow
from icarus.store.engine import Database, Session
from icarus.store.models import LoginThrottle, User, WebSession

__all__ = ["Purged", "WebSessions"]

_TOUCH_EVERY = timedelta(seconds=60)  # write last_seen_at at most once a minute


def session_hash(secret: str) -> str:
    """The stored form of a session secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Purged:
    """What a purge removed."""

    sessions: int
    throttles: int


class WebSessions(UseCases):
    """Sessions with an idle and an absolute lifetime, revoked at logout. Rows that can
    never be used again (and spent login-throttle rows) are purged at each login and by
    ``icarus db purge-sessions``."""

    def __init__(self, db: Database, *, idle: timedelta, absolute: timedelta,
                 throttle_window: timedelta = timedelta(minutes=15),
                 clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(db)
        self.idle, self.absolute, self.clock = idle, absolute, clock
        self.throttle_window = throttle_window

    def open(self, actor: Actor) -> str:
        """A new session for an authenticated ``actor``; returns its secret (shown once)."""
        if actor.user_id is None:
            raise InputError("the console cannot hold a web session")
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.transaction() as s:
            self._purge(s, now)
            s.add(WebSession(token_hash=session_hash(secret), user_id=actor.user_id,
                             created_at=now, last_seen_at=now, expires_at=now + self.absolute,
                             remote_addr=(actor.remote_addr or "")[:64] or None))
        return secret

    def purge(self, actor: Actor) -> Purged:
        """Delete the sessions that can never be used again (revoked, past their absolute
        end, or idle longer than ``idle``) and the login-throttle rows whose window and block
        are over. Audited as ``sessions.purge`` with the counts."""
        with self.db.transaction() as s:
            purged = self._purge(s, self.clock())
            self._audit(s, actor, "sessions.purge", details={
                "sessions": purged.sessions, "throttles": purged.throttles})
        return purged

    def _purge(self, s: Session, now: datetime) -> Purged:
        sessions = s.execute(delete(WebSession).where(or_(
            WebSession.revoked_at.is_not(None), WebSession.expires_at <= now,
            WebSession.last_seen_at <= now - self.idle)))
        throttles = s.execute(delete(LoginThrottle).where(
            LoginThrottle.window_started_at <= now - self.throttle_window,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now)))
        return Purged(int(getattr(sessions, "rowcount", 0) or 0),
                      int(getattr(throttles, "rowcount", 0) or 0))

    def resolve(self, secret: str, remote_addr: str | None = None) -> Actor:
        """The actor of a live session; :class:`AuthenticationError` when it is unknown,
        revoked, idle longer than ``idle``, past its absolute end, or its user disabled."""
        now = self.clock()
        with self.db.transaction() as s:
            row = s.scalar(select(WebSession).where(
                WebSession.token_hash == session_hash(secret)))
            user = s.get(User, row.user_id) if row is not None else None
            if (row is None or user is None or not user.active or row.revoked_at is not None
                    or row.expires_at <= now or row.last_seen_at + self.idle <= now):
                actor = None
            else:
                if now - row.last_seen_at >= _TOUCH_EVERY:
                    row.last_seen_at = now
                actor = Actor(user.id, user.username, Role(user.role), user.agency_id,
                              remote_addr)
        if actor is None:
            raise AuthenticationError("the session has expired or was closed: log in again")
        return actor

    def close(self, secret: str, actor: Actor) -> None:
        """Revoke the session (logout); audited as ``logout``."""
        with self.db.transaction() as s:
            row = s.scalar(select(WebSession).where(
                WebSession.token_hash == session_hash(secret)))
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.clock()
                self._audit(s, actor, "logout", "user", actor.user_id)
