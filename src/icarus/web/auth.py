"""Who is calling: a bearer token (scripts) or a session cookie (browsers), and the CSRF
token bound to that session.

The CSRF token is an HMAC of the session secret, so it is bound to the session, changes at
each login, needs no storage, and cannot be computed by anyone who cannot read the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from icarus.core.settings import Settings

__all__ = ["LOGIN_COOKIE", "csrf_matches", "csrf_token", "session_cookie_name"]

LOGIN_COOKIE = "icarus_login"
"""The login form's own CSRF cookie (double submit), set by GET /login."""
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie_name(settings: Settings) -> str:
    """``__Host-`` prefixed when the cookie is Secure (the browser then refuses it from
    plain http, from another path, or with a Domain)."""
    return "__Host-icarus_session" if settings.session_cookie_secure else "icarus_session"


def csrf_token(session_secret: str) -> str:
    """The session's CSRF token."""
    return hmac.new(session_secret.encode(), b"icarus-csrf-v1", hashlib.sha256).hexdigest()


def csrf_matches(session_secret: str, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (constant-time comparison)."""
    return bool(sent) and hmac.compare_digest(csrf_token(session_secret), str(sent))


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure unless turned off for
    plain-http development; it lives until the session's absolute end."""
    response.set_cookie(session_cookie_name(settings), secret,
                        max_age=settings.session_absolute_hours * 3600, path="/",
                        secure=settings.session_cookie_secure, httponly=True,
                        samesite="strict")


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(session_cookie_name(settings), path="/",
                           secure=settings.session_cookie_secure, httponly=True,
                           samesite="strict")


def new_login_nonce() -> str:
    """A fresh login-form CSRF value (for the form and :func:`set_login_cookie`)."""
    return secrets.token_urlsafe(24)


def set_login_cookie(response: Response, settings: Settings, nonce: str) -> None:
    """The login form's CSRF cookie (15 minutes, sent to /login only)."""
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=900, path="/login",
                        secure=settings.session_cookie_secure, httponly=True,
                        samesite="strict")


def login_nonce_matches(request: Request, sent: str | None) -> bool:
    """The login form's double-submit check."""
    cookie = request.cookies.get(LOGIN_COOKIE)
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))
