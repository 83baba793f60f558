"""Typed dependencies of the routes: the services, and the actor behind a request.

Authentication happens here; authorisation never does (the use cases decide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from icarus.coord import Accounts, AuditLog, Operations, Outcomes, Referrals
from icarus.coord.actor import Actor
from icarus.coord.dashboard import Dashboard
from icarus.coord.sessions import WebSessions
from icarus.core.errors import AuthenticationError, PermissionDeniedError
from icarus.core.settings import Settings
from icarus.store.engine import Database
from icarus.web.auth import UNSAFE_METHODS, csrf_matches, csrf_token, session_cookie_name
from icarus.web.errors import LoginRequired

__all__ = ["ApiActor", "FormUser", "PageUser", "Services", "ServicesDep", "WebUser"]

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Services:
    """Everything the routes call: the settings and the use cases over one database."""

    settings: Settings
    db: Database
    accounts: Accounts
    sessions: WebSessions
    operations: Operations
    referrals: Referrals
    outcomes: Outcomes
    audit: AuditLog
    dashboard: Dashboard


@dataclass(frozen=True)
class WebUser:
    """A logged-in browser: the actor, its session secret and CSRF token."""

    actor: Actor
    session: str
    csrf: str


def get_services(request: Request) -> Services:
    """The app's services (set by :func:`icarus.web.app.create_app`)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def remote_addr(request: Request) -> str | None:
    """The client's address, as the audit log records it."""
    return request.client.host if request.client else None


def api_actor(request: Request, services: ServicesDep) -> Actor:
    """The API caller: a bearer token, else the session cookie, whose state-changing calls
    must carry the session's CSRF token in ``X-CSRF-Token``."""
    addr = remote_addr(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AuthenticationError("Authorization: expected 'Bearer <token>'")
        actor = services.accounts.authenticate_token(credential.strip(), addr)
    else:
        secret = request.cookies.get(session_cookie_name(services.settings))
        if not secret:
            raise AuthenticationError("not logged in: log in (POST /api/v1/auth/login) or "
                                      "send 'Authorization: Bearer <token>'")
        actor = services.sessions.resolve(secret, addr)
        if (request.method in UNSAFE_METHODS
                and not csrf_matches(secret, request.headers.get(CSRF_HEADER))):
            raise PermissionDeniedError(f"CSRF check failed: send the session's token in "
                                        f"the {CSRF_HEADER} header (GET /api/v1/me)")
        request.state.csrf = csrf_token(secret)
    request.state.actor = actor
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]


def _page_user(request: Request, services: Services) -> WebUser:
    secret = request.cookies.get(session_cookie_name(services.settings))
    if not secret:
        raise LoginRequired
    try:
        actor = services.sessions.resolve(secret, remote_addr(request))
    except AuthenticationError:
        raise LoginRequired(expired=True) from None
    request.state.actor, request.state.csrf = actor, csrf_token(secret)
    return WebUser(actor, secret, request.state.csrf)


def page_user(request: Request, services: ServicesDep) -> WebUser:
    """The logged-in user of a page (else a redirect to the login form)."""
    return _page_user(request, services)


async def form_user(request: Request, services: ServicesDep) -> WebUser:
    """The logged-in user of a posted form, whose ``csrf_token`` field must match."""
    user = await run_in_threadpool(_page_user, request, services)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not csrf_matches(user.session, sent):
        raise PermissionDeniedError("CSRF check failed: reload the page and submit again")
    return user


PageUser = Annotated[WebUser, Depends(page_user)]
FormUser = Annotated[WebUser, Depends(form_user)]
