"""Server-side sessions of the web tier: only a hash of the session token is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from icarus.store.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """A logged-in browser. The cookie holds the secret; the row its SHA-256, the last time
    it was used (idle expiry), its absolute end and, after logout, when it was revoked."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins from one client address (an IPv6 client by its /64) in the current
    window, and until when that address is refused. Kept in the database: the web tier is
    stateless behind a load balancer."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
